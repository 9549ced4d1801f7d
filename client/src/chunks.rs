//! Reading concatenated Automerge changes without a replica.
//!
//! A kind-2 binary frame holds zero or more changes back to back (what
//! `Automerge.loadIncremental` takes). Each is a storage chunk:
//!
//! ```text
//! magic (4 bytes 85 6f 4a 83) | checksum (4) | chunk type (1) | length (uleb128) | data
//! ```
//!
//! Splitting on those headers lets a client that keeps no replica still read
//! each change's hash and message (the server writes
//! `{"user_id","user_name","op_id","kind"}` there), which is how the load
//! tester measures op-to-delivery latency on every member.

use anyhow::{Context as _, bail};
use automerge::{Change, ChangeHash};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Splits concatenated chunks; errors on a truncated or foreign byte string.
pub fn split_chunks(mut bytes: &[u8]) -> anyhow::Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 9 || bytes[..4] != MAGIC {
            bail!("not an Automerge chunk at this position");
        }
        let mut pos = 9;
        let mut len: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = bytes.get(pos) else {
                bail!("truncated chunk length");
            };
            pos += 1;
            if shift > 63 {
                bail!("chunk length overflows");
            }
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| pos.checked_add(len))
            .filter(|&end| end <= bytes.len())
            .context("truncated chunk")?;
        out.push(&bytes[..end]);
        bytes = &bytes[end..];
    }
    Ok(out)
}

/// Parses every change of a concatenation.
pub fn parse_changes(bytes: &[u8]) -> anyhow::Result<Vec<Change>> {
    split_chunks(bytes)?
        .into_iter()
        .map(|chunk| Change::try_from(chunk).context("parsing an Automerge change"))
        .collect()
}

/// What the server's change message says about who made a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeInfo {
    pub hash: ChangeHash,
    /// The client's `op_id`, when the change came from an op.
    pub op_id: Option<String>,
    /// The op kind (`add_line`, ...).
    pub kind: Option<String>,
    pub user_id: Option<String>,
}

impl ChangeInfo {
    /// Reads hash and message of one change.
    pub fn of(change: &Change) -> ChangeInfo {
        let msg: Option<serde_json::Value> =
            change.message().and_then(|m| serde_json::from_str(m).ok());
        let field = |name: &str| {
            msg.as_ref()
                .and_then(|m| m.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        ChangeInfo {
            hash: change.hash(),
            op_id: field("op_id"),
            kind: field("kind"),
            user_id: field("user_id"),
        }
    }
}

/// Hash and message of every change in a concatenation.
pub fn change_infos(bytes: &[u8]) -> anyhow::Result<Vec<ChangeInfo>> {
    Ok(parse_changes(bytes)?.iter().map(ChangeInfo::of).collect())
}

#[cfg(test)]
mod tests {
    use automerge::transaction::{CommitOptions, Transactable as _};
    use automerge::{AutoCommit, ROOT};

    use super::*;

    #[test]
    fn splits_concatenated_changes_and_reads_messages() {
        let mut doc = AutoCommit::new();
        for i in 0..3 {
            doc.put(ROOT, "n", i).unwrap();
            let msg = format!(r#"{{"user_id":"u","user_name":"U","op_id":"op-{i}","kind":"k"}}"#);
            doc.commit_with(CommitOptions::default().with_message(msg));
        }
        let all = doc.save_incremental();
        let infos = change_infos(&all).unwrap();
        assert_eq!(infos.len(), 3);
        let ids: Vec<_> = infos.iter().map(|i| i.op_id.clone().unwrap()).collect();
        assert_eq!(ids, ["op-0", "op-1", "op-2"]);
        assert_eq!(infos[2].hash, doc.get_heads()[0]);
        assert!(split_chunks(&[]).unwrap().is_empty());
    }

    #[test]
    fn truncated_or_foreign_bytes_are_errors() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "n", 1).unwrap();
        doc.commit();
        let bytes = doc.save_incremental();
        assert!(split_chunks(&bytes[..bytes.len() - 1]).is_err());
        assert!(split_chunks(b"hello world").is_err());
    }
}
