//! The server under test: spawned on a fresh data dir (`--spawn`), or found
//! at `--url`; and what it costs (RSS and CPU from `/proc` when spawned,
//! else from `/metrics`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use cartroom_client::http::Method;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// A server started by the load tester; killed when dropped.
pub struct Spawned {
    /// Kept so that `kill_on_drop` ends the server with the run.
    _child: Child,
    pub pid: u32,
    pub base_url: String,
    /// Holds the data dir until the run ends.
    _data_dir: tempfile::TempDir,
}

/// The server's limits per client address and per user are for many people
/// on many machines; a load test is one address and a few accounts making
/// thousands of requests and sockets. A spawned server gets them lifted
/// through its environment, so that a `--server-arg` still sets any of them.
const LIFTED_LIMITS: &[&str] = &[
    "CARTROOM_MAX_CONNECTIONS_PER_IP",
    "CARTROOM_MAX_CONNECTIONS_PER_USER",
    "CARTROOM_SIGNINS_PER_MINUTE_PER_IP",
    "CARTROOM_ACCOUNTS_PER_HOUR_PER_IP",
    "CARTROOM_MEMBER_ADDITIONS_PER_HOUR",
    "CARTROOM_HTTP_OPS_PER_SECOND",
];

/// Where the default binary lives: `target/release/cartroom` next to this
/// executable's own target dir, else relative to the working directory.
pub fn default_server_bin() -> PathBuf {
    if let Ok(me) = std::env::current_exe()
        && let Some(dir) = me.parent()
    {
        let candidate = dir.join("cartroom");
        if candidate.exists() {
            return candidate;
        }
    }
    PathBuf::from("target/release/cartroom")
}

/// Starts `bin --listen 127.0.0.1:0 --data-dir <tempdir> extra...`, with
/// the [`LIFTED_LIMITS`], and waits for its `listening on http://...` line.
pub async fn spawn(bin: &Path, extra_args: &[String], log_level: &str) -> anyhow::Result<Spawned> {
    let data_dir = tempfile::Builder::new()
        .prefix("cartroom-loadtest-")
        .tempdir()?;
    let log_path = data_dir.path().join("server.log");
    let mut child = Command::new(bin)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir.path().join("data"))
        .args(extra_args)
        .envs(LIFTED_LIMITS.iter().map(|var| (var, "1000000")))
        .env("CARTROOM_LOG", log_level)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (build it with `cargo build --release -p cartroom`)",
                bin.display()
            )
        })?;
    let pid = child.id().context("the server exited at once")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let stderr = child.stderr.take().context("no stderr")?;
    // Both pipes are drained for the whole run (a full pipe would block the
    // server); everything but the first line goes to server.log.
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let log = tokio::fs::File::create(&log_path).await?;
    let log = std::sync::Arc::new(tokio::sync::Mutex::new(log));
    let log2 = log.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(rest.trim().to_owned());
                continue;
            }
            append(&log, &line).await;
        }
    });
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            append(&log2, &line).await;
        }
    });
    let base_url = match tokio::time::timeout(Duration::from_secs(30), rx).await {
        Ok(Ok(url)) => url,
        _ => {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!("the server did not print `listening on` within 30 s; its log:\n{log}");
        }
    };
    Ok(Spawned {
        _child: child,
        pid,
        base_url,
        _data_dir: data_dir,
    })
}

async fn append(log: &tokio::sync::Mutex<tokio::fs::File>, line: &str) {
    use tokio::io::AsyncWriteExt as _;
    let mut f = log.lock().await;
    let _ = f.write_all(line.as_bytes()).await;
    let _ = f.write_all(b"\n").await;
}

/// Resource use of a process at one moment.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProcSample {
    /// Resident set, bytes.
    pub rss_bytes: u64,
    /// Peak resident set (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// User + system CPU time so far, seconds.
    pub cpu_seconds: f64,
    /// The system (kernel) part of it, where known: on loopback, a socket
    /// write runs the receiver's TCP path too, in the sender's time.
    pub kernel_cpu_seconds: Option<f64>,
    pub threads: u64,
    /// Context switches so far, summed over the process's live threads
    /// (voluntary and not).
    pub context_switches: u64,
    /// The same by thread name, as the kernel gives it (15 bytes at most:
    /// `tokio-rt-worker`, `sqlx-sqlite-wor`).
    pub context_switches_by_thread: BTreeMap<String, u64>,
    /// Bytes the process caused to be written to storage (`write_bytes` of
    /// `/proc/<pid>/io`); 0 where that file cannot be read.
    pub disk_write_bytes: u64,
}

impl ProcSample {
    /// Context switches by thread name from this sample to `later`.
    pub fn switches_until(&self, later: &ProcSample) -> BTreeMap<String, u64> {
        (later.context_switches_by_thread.iter())
            .map(|(name, n)| {
                let before = self.context_switches_by_thread.get(name).copied();
                (name.clone(), n.saturating_sub(before.unwrap_or(0)))
            })
            .collect()
    }
}

/// Linux reports CPU times in clock ticks; 100 per second on every
/// mainstream configuration (`getconf CLK_TCK`).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status` (`pid` may be "self").
pub fn proc_sample(pid: &str) -> anyhow::Result<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may
    // contain spaces.
    let after = &stat[stat.rfind(')').context("bad /proc stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    let user_ticks: u64 = fields.get(11).context("utime")?.parse()?;
    let kernel_ticks: u64 = fields.get(12).context("stime")?.parse()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| field(&status, key);
    let by_thread = context_switches(pid);
    Ok(ProcSample {
        rss_bytes: kb("VmRSS:") * 1024,
        peak_rss_bytes: kb("VmHWM:") * 1024,
        cpu_seconds: (user_ticks + kernel_ticks) as f64 / CLOCK_TICKS_PER_SECOND,
        kernel_cpu_seconds: Some(kernel_ticks as f64 / CLOCK_TICKS_PER_SECOND),
        threads: kb("Threads:"),
        context_switches: by_thread.values().sum(),
        context_switches_by_thread: by_thread,
        disk_write_bytes: field(
            &std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default(),
            "write_bytes:",
        ),
    })
}

/// The first number after `key` on the line that starts with it.
fn field(text: &str, key: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Every live thread's switches, summed by thread name: `/proc/<pid>/status`
/// counts only the main thread's.
fn context_switches(pid: &str) -> BTreeMap<String, u64> {
    let mut by_thread = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_thread;
    };
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let name = status
            .lines()
            .find_map(|l| l.strip_prefix("Name:"))
            .unwrap_or("")
            .trim()
            .to_owned();
        *by_thread.entry(name).or_default() += field(&status, "voluntary_ctxt_switches:")
            + field(&status, "nonvoluntary_ctxt_switches:");
    }
    by_thread
}

/// The same figures from a remote server's Prometheus `/metrics`
/// (`process_resident_memory_bytes`, `process_cpu_seconds_total`), when it
/// exports them.
pub async fn metrics_sample(account: &cartroom_client::Account) -> Option<ProcSample> {
    let resp = account.request(Method::GET, "/metrics", None).await.ok()?;
    let text = resp.text().await.ok()?;
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
    };
    let rss = value("process_resident_memory_bytes")?;
    Some(ProcSample {
        rss_bytes: rss as u64,
        peak_rss_bytes: 0,
        cpu_seconds: value("process_cpu_seconds_total").unwrap_or(0.0),
        kernel_cpu_seconds: None,
        threads: value("process_threads").unwrap_or(0.0) as u64,
        context_switches: 0,
        context_switches_by_thread: BTreeMap::new(),
        disk_write_bytes: 0,
    })
}

/// `strace -c` attached to the server for the measured window, counting the
/// calls that write files (SQLite writes with `pwrite64` and syncs with
/// `fdatasync`/`fsync`; sockets use other calls). Tracing slows the server:
/// use it on low-rate runs that measure the write path, not for latency.
pub struct FileWriteTrace {
    child: Child,
    out: tempfile::NamedTempFile,
}

/// Calls counted by [`FileWriteTrace`].
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct FileWrites {
    pub writes: u64,
    pub syncs: u64,
}

impl FileWriteTrace {
    pub fn start(pid: u32) -> anyhow::Result<Self> {
        let out = tempfile::NamedTempFile::new()?;
        let child = Command::new("strace")
            .args([
                "-f",
                "-c",
                "-e",
                "trace=pwrite64,pwritev,write,fsync,fdatasync",
            ])
            .arg("-o")
            .arg(out.path())
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting strace (apt-get install strace)")?;
        Ok(Self { child, out })
    }

    /// Detaches and reads the summary.
    pub async fn finish(mut self) -> anyhow::Result<FileWrites> {
        let pid = self.child.id().context("strace exited early")?;
        // SIGINT makes strace detach and write its table.
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()?;
        self.child.wait().await?;
        let table = std::fs::read_to_string(self.out.path())?;
        let calls = |name: &str| -> u64 {
            table
                .lines()
                .filter_map(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    (cols.last() == Some(&name)).then(|| cols.get(3)?.parse::<u64>().ok())?
                })
                .sum()
        };
        Ok(FileWrites {
            writes: calls("pwrite64") + calls("pwritev"),
            syncs: calls("fsync") + calls("fdatasync"),
        })
    }
}
