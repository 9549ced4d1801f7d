//! A disk that fills and empties again loses no acknowledged edit: the data
//! dir is a small tmpfs that the test fills with a file and frees, episode
//! after episode, while two editors keep sending ops (retrying refused ones
//! with the same op id, as `docs/protocol.md` says). Afterwards, and after a
//! kill -9, every acked change is in the document and every acked op id is
//! answered as a duplicate. Needs root for the tmpfs mount (CI runs as
//! root); elsewhere it says that it skips.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cartroom_client::{Account, OpOutcome};
use cartroom_e2e::{ServerProcess, sign_in_again, sign_up};
use cartroom_protocol::{CartId, ErrorCode, Heads, MemberRole, Op, OpId};
use sqlx::{ConnectOptions, Connection};

const EPISODES: usize = 8;
/// Acks to wait for between two episodes.
const ACKS_BETWEEN: usize = 20;
/// The longest a condition may take to come true before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);
/// Time between two messages of one editor, within the documented 50 a second.
const PACE: Duration = Duration::from_millis(25);

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Self> {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .ok()?;
        status.success().then(|| Self(dir.to_owned()))
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> std::io::Result<()> {
        use std::io::Write;
        let mut file = std::fs::File::create(self.0.join("filler"))?;
        let chunk = vec![0u8; 256 * 1024];
        loop {
            if let Err(e) = file.write_all(&chunk).and_then(|_| file.sync_data()) {
                return match e.kind() {
                    std::io::ErrorKind::StorageFull => Ok(()),
                    _ => Err(e),
                };
            }
        }
    }

    fn free(&self) -> std::io::Result<()> {
        std::fs::remove_file(self.0.join("filler"))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// An op the server acknowledged, and the heads right after it.
struct Acked {
    op_id: OpId,
    heads: Heads,
}

/// How the editors are doing, shared with the test.
#[derive(Default)]
struct Progress {
    acked: AtomicUsize,
    refused: AtomicUsize,
    stop: AtomicBool,
}

/// Sends cart notes one after another; a refused op is retried with the
/// same id after resubscribing, until it is acked.
async fn edit(account: Account, cart: CartId, who: usize, progress: Arc<Progress>) -> Vec<Acked> {
    let mut acked = Vec::new();
    let Ok(mut conn) = account.connect().await else {
        return acked;
    };
    let mut subscribed = conn.subscribe(cart).await.is_ok();
    let mut pace = tokio::time::interval(PACE);
    'ops: for n in 0.. {
        let op_id = OpId(format!("c{who}-{n}"));
        let op = Op::SetCartNote {
            note: format!("note {who}-{n}"),
        };
        loop {
            if progress.stop.load(Ordering::SeqCst) {
                break 'ops;
            }
            pace.tick().await;
            if !subscribed {
                subscribed = conn.subscribe(cart).await.is_ok();
                continue;
            }
            match conn.op_with_id(cart, op_id.clone(), op.clone()).await {
                Ok(OpOutcome::Acked { heads, .. }) => {
                    acked.push(Acked {
                        op_id: op_id.clone(),
                        heads,
                    });
                    progress.acked.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Ok(OpOutcome::Refused { code, message }) => {
                    assert!(
                        matches!(code, ErrorCode::Unavailable | ErrorCode::NotSubscribed),
                        "{op_id} refused: {code} {message}"
                    );
                    progress.refused.fetch_add(1, Ordering::SeqCst);
                    subscribed = false;
                }
                Err(e) => panic!("the connection failed: {e:#}"),
            }
        }
    }
    conn.close().await;
    acked
}

/// Waits until `check` holds, failing the test after [`PATIENCE`].
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn health(base_url: &str) -> u16 {
    match reqwest::get(format!("{base_url}/healthz")).await {
        Ok(resp) => resp.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_fills_and_frees_loses_no_acknowledged_edit() -> anyhow::Result<()> {
    if cartroom_e2e::backend::on_postgres() {
        eprintln!("SKIPPED on Postgres: this test fills the disk under SQLite's file");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let Some(disk) = Tmpfs::mount(dir.path(), "24m") else {
        eprintln!("SKIPPED: mounting a tmpfs needs root; this test runs on CI, which is root");
        return Ok(());
    };
    let server = ServerProcess::start(dir.path()).await?;
    let ana = sign_up(&server.base_url, "Ana").await?;
    let ben = sign_up(&server.base_url, "Ben").await?;
    let cart = ana.create_cart("Disk").await?;
    ana.add_member(cart, ben.email.as_deref().unwrap(), MemberRole::Editor)
        .await?;

    let progress = Arc::new(Progress::default());
    let editors: Vec<_> = [ana.clone(), ben.clone()]
        .into_iter()
        .enumerate()
        .map(|(who, account)| tokio::spawn(edit(account, cart, who, progress.clone())))
        .collect();

    for episode in 0..EPISODES {
        let acked_before = progress.acked.load(Ordering::SeqCst);
        eventually("acks before filling the disk", async || {
            progress.acked.load(Ordering::SeqCst) >= acked_before + ACKS_BETWEEN
        })
        .await;
        let refused_before = progress.refused.load(Ordering::SeqCst);
        disk.fill()?;
        eventually("an op refused while the disk is full", async || {
            progress.refused.load(Ordering::SeqCst) > refused_before
        })
        .await;
        eventually("/healthz reporting failing writes", async || {
            health(&server.base_url).await == 503
        })
        .await;
        disk.free()?;
        let acked_at_free = progress.acked.load(Ordering::SeqCst);
        eventually("writes resuming after space came back", async || {
            progress.acked.load(Ordering::SeqCst) > acked_at_free
        })
        .await;
        eventually("/healthz green again", async || {
            health(&server.base_url).await == 200
        })
        .await;
        eprintln!("episode {episode}: ok");
    }
    progress.stop.store(true, Ordering::SeqCst);
    let mut acked = Vec::new();
    for editor in editors {
        acked.extend(editor.await?);
    }

    // Nobody holds the write lock once writes work again.
    let mut probe =
        cartroom::store::sqlite::connect_options(&cartroom::Config::for_data_dir(dir.path()))
            .busy_timeout(Duration::from_secs(1))
            .connect()
            .await?;
    sqlx::query("BEGIN IMMEDIATE").execute(&mut probe).await?;
    sqlx::query("ROLLBACK").execute(&mut probe).await?;
    probe.close().await?;

    server.kill_9().await?;
    let server = ServerProcess::start(dir.path()).await?;
    let ana = sign_in_again(&server.base_url, &ana).await?;
    let ben = sign_in_again(&server.base_url, &ben).await?;
    let doc = automerge::Automerge::load(&ana.document(cart).await?)?;
    for ack in &acked {
        for head in &ack.heads {
            let hash: automerge::ChangeHash = head.parse()?;
            assert!(
                automerge::ReadDoc::get_change_by_hash(&doc, &hash).is_some(),
                "the change of acked op {} is gone",
                ack.op_id
            );
        }
    }
    for ack in &acked {
        let account = if ack.op_id.0.starts_with("c0-") {
            &ana
        } else {
            &ben
        };
        let op = Op::SetCartNote {
            note: "a retry must not apply".into(),
        };
        let answer = account.http_op(cart, &ack.op_id, &op).await?;
        assert!(answer.duplicate, "acked op {} was applied again", ack.op_id);
    }
    eprintln!(
        "{} ops acked, {} refusals over {EPISODES} episodes",
        acked.len(),
        progress.refused.load(Ordering::SeqCst)
    );
    server.terminate().await?;
    drop(disk);
    Ok(())
}
