//! Several `cartroom` processes on one Postgres schema and one NATS server,
//! as in production with many nodes, for the tests of forwarding between
//! nodes (`tests/tests/cluster.rs`): clients on any node, and nodes that
//! are killed, frozen and thawed under them.
//!
//! A cluster needs Postgres (`CARTROOM_TEST_POSTGRES`) and NATS
//! (`CARTROOM_TEST_NATS`); without either, [`Cluster::start`] says why and
//! gives `None`, and the test passes as skipped (CI has both). It runs in
//! the suite's SQLite pass only: in the Postgres pass
//! (`CARTROOM_TEST_DATABASE_URL`), [`ServerProcess`] gives every process a
//! schema and a node name of its own, which would split the cluster.

use std::time::Duration;

use anyhow::{Context, bail};
use cartroom_client::Account;

use crate::ServerProcess;
use crate::backend::{DATABASE_VAR, on_postgres};

/// The Postgres server the cluster's schema is made on.
const POSTGRES_VAR: &str = "CARTROOM_TEST_POSTGRES";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The NATS server the nodes speak through.
const NATS_VAR: &str = "CARTROOM_TEST_NATS";
const DEFAULT_NATS: &str = "nats://127.0.0.1:4222";

/// Short leases, so that a failover takes about three seconds (heartbeats
/// every 500 ms; a node silent for 1.5 s is gone), yet long enough that a
/// node starved by the rest of the suite on two cores is not taken for gone.
const LEASE_TTL_MS: u64 = 3000;

/// How long a service that is down may take to answer that it is.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// One node: its address, and its process until it is killed.
struct Node {
    url: String,
    process: Option<ServerProcess>,
}

/// Nodes `0..n` (named `a`, `b`, `c`... in logs) on one fresh schema.
/// Dropping it kills every process that is left (a frozen one too).
pub struct Cluster {
    nodes: Vec<Node>,
    /// The nodes' data dirs; declared after `nodes`, so removed after the
    /// processes are killed.
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    /// Starts `n` nodes one after another (the first one migrates the
    /// schema), or prints why this run cannot and gives `None`.
    pub async fn start(n: usize) -> anyhow::Result<Option<Self>> {
        if on_postgres() {
            eprintln!(
                "SKIPPED with {DATABASE_VAR}: the cluster tests run in the SQLite pass, \
                 with a schema shared by all their nodes"
            );
            return Ok(None);
        }
        let postgres = std::env::var(POSTGRES_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES.into());
        let nats = std::env::var(NATS_VAR).unwrap_or_else(|_| DEFAULT_NATS.into());
        if let Err(e) = nats_answers(&nats).await {
            eprintln!("SKIPPED: no NATS answers at {nats} ({e:#}); CI has one");
            return Ok(None);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        // The suite's script drops schemas named like this before a run.
        let schema = format!("t_{id}");
        if let Err(e) = create_schema(&postgres, &schema).await {
            eprintln!("SKIPPED: no Postgres answers at {postgres} ({e:#}); CI has one");
            return Ok(None);
        }
        let sep = if postgres.contains('?') { '&' } else { '?' };
        let database_url = format!("{postgres}{sep}options=-c%20search_path%3D{schema}");
        let ttl = LEASE_TTL_MS.to_string();
        let (mut nodes, mut dirs) = (Vec::new(), Vec::new());
        for letter in ('a'..='z').take(n) {
            let dir = tempfile::tempdir()?;
            let name = format!("n{}-{letter}", &id[..8]);
            let args = [
                "--database-url",
                &database_url,
                "--node-name",
                &name,
                "--nats-url",
                &nats,
                "--lease-ttl-ms",
                &ttl,
            ];
            let process = ServerProcess::start_with_args(dir.path(), &args)
                .await
                .with_context(|| format!("starting node {name}"))?;
            eprintln!(
                "node {name}: pid {:?} at {} on schema {schema}",
                process.pid(),
                process.base_url
            );
            nodes.push(Node {
                url: process.base_url.clone(),
                process: Some(process),
            });
            dirs.push(dir);
        }
        Ok(Some(Self { nodes, _dirs: dirs }))
    }

    /// Node `i`'s base URL (`http://127.0.0.1:PORT`), killed or not.
    pub fn url(&self, i: usize) -> &str {
        &self.nodes[i].url
    }

    /// The same session, speaking to node `i`: sessions live in the shared
    /// database, so one token is good on every node.
    pub fn on(&self, i: usize, account: &Account) -> Account {
        let mut moved = account.clone();
        moved.base_url = self.url(i).to_owned();
        moved
    }

    /// SIGKILL to node `i`: it stops renewing its leases and heartbeats
    /// mid-work, with no chance to hand anything over.
    pub async fn kill_9(&mut self, i: usize) -> anyhow::Result<()> {
        let process = self.nodes[i].process.take().context("already killed")?;
        process.kill_9().await
    }

    /// SIGSTOP to node `i`: a partition as the node sees it. Its sockets
    /// stay open and it does not know time passed until [`Cluster::thaw`].
    pub fn freeze(&self, i: usize) -> anyhow::Result<()> {
        self.signal(i, "-STOP")
    }

    /// SIGCONT to a node [`Cluster::freeze`] stopped.
    pub fn thaw(&self, i: usize) -> anyhow::Result<()> {
        self.signal(i, "-CONT")
    }

    fn signal(&self, i: usize, signal: &str) -> anyhow::Result<()> {
        let pid = self.nodes[i]
            .process
            .as_ref()
            .and_then(ServerProcess::pid)
            .context("the node is not running")?;
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()?;
        if !status.success() {
            bail!("kill {signal} {pid} failed");
        }
        Ok(())
    }
}

/// Whether something accepts TCP connections at the NATS URL's address.
async fn nats_answers(url: &str) -> anyhow::Result<()> {
    let rest = url.strip_prefix("nats://").unwrap_or(url);
    let authority = rest.split('/').next().unwrap_or(rest);
    let addr = authority.rsplit('@').next().unwrap_or(authority);
    tokio::time::timeout(ANSWER_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .context("timed out")??;
    Ok(())
}

/// Creates `schema` on the Postgres server at `url`.
async fn create_schema(url: &str, schema: &str) -> anyhow::Result<()> {
    let admin = tokio::time::timeout(ANSWER_TIMEOUT, sqlx::PgPool::connect(url))
        .await
        .context("timed out")??;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(())
}
