//! The dev mailbox: where e-mails go when no SMTP server is configured, so
//! that someone running `make run` can open `/dev/mailbox` and click the
//! links. Each e-mail is two files under `<data dir>/mailbox/`: the
//! message as a mail client would open it (`.eml`) and what the page shows
//! (`.json`). The folder holds live tokens, like an inbox does.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::transport::Outgoing;

/// Most e-mails the page lists (the newest).
pub const PAGE_SIZE: usize = 100;

/// One e-mail as the page shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredMail {
    /// The outbox id.
    pub id: i64,
    /// Unix ms when it was written.
    pub at: i64,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The folder of the dev mailbox.
#[derive(Clone, Debug)]
pub struct DevMailbox {
    dir: PathBuf,
}

impl DevMailbox {
    /// The mailbox under `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("mailbox"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(super) fn create(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }

    /// Writes one e-mail (each file whole, or not at all).
    pub(super) async fn store(
        &self,
        id: i64,
        mail: &Outgoing,
        formatted: &[u8],
    ) -> std::io::Result<()> {
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let stored = StoredMail {
            id,
            at,
            to: mail.to.clone(),
            subject: mail.subject.clone(),
            text: mail.text.clone(),
            html: mail.html.clone(),
        };
        let json = serde_json::to_vec_pretty(&stored).map_err(std::io::Error::other)?;
        let stem = format!("{id:010}");
        write_whole(&self.dir.join(format!("{stem}.eml")), formatted).await?;
        write_whole(&self.dir.join(format!("{stem}.json")), &json).await
    }

    /// The newest e-mails first, at most [`PAGE_SIZE`].
    pub async fn list(&self) -> std::io::Result<Vec<StoredMail>> {
        let mut names = Vec::new();
        let mut dir = match tokio::fs::read_dir(&self.dir).await {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                names.push(name);
            }
        }
        // Names are the zero-padded outbox id: newest is last.
        names.sort_unstable_by(|a, b| b.cmp(a));
        let mut mails = Vec::new();
        for name in names.into_iter().take(PAGE_SIZE) {
            let bytes = tokio::fs::read(self.dir.join(&name)).await?;
            if let Ok(mail) = serde_json::from_slice::<StoredMail>(&bytes) {
                mails.push(mail);
            }
        }
        Ok(mails)
    }
}

async fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, path).await
}
