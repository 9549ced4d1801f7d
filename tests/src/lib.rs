//! Harness for the end-to-end tests: the real server on `127.0.0.1:0` with a
//! fresh data dir, either in-process through the library ([`TestServer`]) or
//! as the `cartroom` binary when a process must die ([`ServerProcess`]).
//! [`smtp`] is a real SMTP server for the tests of e-mail; [`receiver`] a
//! real HTTP server for the tests of webhooks. [`backend`] runs the whole
//! suite on Postgres instead of SQLite when `CARTROOM_TEST_DATABASE_URL` is set.

pub mod backend;
pub mod cluster;
pub mod receiver;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, bail};
use cartroom_client::{Account, Connection, Event};
use cartroom_protocol::{CartId, MemberRole, ServerMsg};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery";

/// The demo store's owner, as the README names them (seeded on a fresh
/// data dir unless `--no-seed`).
pub const DEMO_OWNER_EMAIL: &str = "owner@corner.example";
pub const DEMO_OWNER_PASSWORD: &str = "corner shop owner";
/// The demo agents (the owner's password): Wade works for `demo` and may
/// update customers' carts; Tessa works for `tea` and may not.
pub const DEMO_AGENT_EMAIL: &str = "agent@corner.example";
pub const TEA_AGENT_EMAIL: &str = "agent@tea.example";

/// The server running inside the test process.
pub struct TestServer {
    pub base_url: String,
    pub data_dir: PathBuf,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), cartroom::StartError>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh data dir.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().to_owned();
        Self::start_in(&path, Some(dir)).await
    }

    /// Starts a server on a fresh data dir with a changed configuration.
    pub async fn start_with(configure: impl FnOnce(&mut cartroom::Config)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().to_owned();
        Self::start_configured(&path, Some(dir), configure).await
    }

    /// Starts a server on a fresh data dir with time from `clock` (expiry
    /// at its boundary) and a changed configuration.
    pub async fn start_with_clock(
        clock: std::sync::Arc<dyn cartroom::clock::Clock>,
        configure: impl FnOnce(&mut cartroom::Config),
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let mut config = cartroom::Config::for_data_dir(dir.path());
        backend::configure(&mut config).await?;
        configure(&mut config);
        let shutdown = CancellationToken::new();
        let server = cartroom::Server::start_with_clock(config, shutdown.clone(), clock).await?;
        let task = tokio::spawn(async move {
            server.serve(listener).await;
            Ok(())
        });
        Ok(Self {
            base_url,
            data_dir: dir.path().to_owned(),
            shutdown,
            task,
            _dir: Some(dir),
        })
    }

    /// Starts a server on an existing data dir (to check what was persisted).
    pub async fn start_in(
        data_dir: &Path,
        owned: Option<tempfile::TempDir>,
    ) -> anyhow::Result<Self> {
        Self::start_configured(data_dir, owned, |_| {}).await
    }

    async fn start_configured(
        data_dir: &Path,
        owned: Option<tempfile::TempDir>,
        configure: impl FnOnce(&mut cartroom::Config),
    ) -> anyhow::Result<Self> {
        // CARTROOM_TEST_LOG=debug shows the server's logs in a failing test.
        if let Ok(filter) = std::env::var("CARTROOM_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let mut config = cartroom::Config::for_data_dir(data_dir);
        backend::configure(&mut config).await?;
        configure(&mut config);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(cartroom::run(listener, config, shutdown.clone()));
        Ok(Self {
            base_url,
            data_dir: data_dir.to_owned(),
            shutdown,
            task,
            _dir: owned,
        })
    }

    /// Graceful shutdown; returns the data dir (kept alive) for a restart.
    pub async fn stop(self) -> anyhow::Result<Option<tempfile::TempDir>> {
        self.shutdown.cancel();
        self.task.await??;
        Ok(self._dir)
    }

    /// Signs up a fresh account with a unique e-mail.
    pub async fn account(&self, name: &str) -> anyhow::Result<Account> {
        sign_up(&self.base_url, name).await
    }

    /// The demo store's owner, signed in with the README's credentials.
    pub async fn owner(&self) -> anyhow::Result<Account> {
        Account::sign_in(&self.base_url, DEMO_OWNER_EMAIL, DEMO_OWNER_PASSWORD).await
    }

    /// Puts `account` on the store's staff, as its owner does.
    pub async fn make_staff(&self, account: &Account) -> anyhow::Result<()> {
        let email = account.email.as_deref().context("staff need an e-mail")?;
        self.owner().await?.add_staff(email, None).await?;
        Ok(())
    }
}

/// Signs up `name` with a unique e-mail on the server at `base_url`.
pub async fn sign_up(base_url: &str, name: &str) -> anyhow::Result<Account> {
    let email = format!(
        "{}-{}@example.com",
        name.to_lowercase(),
        uuid::Uuid::new_v4().simple()
    );
    Account::sign_up(base_url, &email, PASSWORD, name).await
}

/// An admin's cart with the given accounts added under the given roles.
pub async fn shared_cart(
    admin: &Account,
    members: &[(&Account, MemberRole)],
) -> anyhow::Result<CartId> {
    let cart = admin.create_cart("Family groceries").await?;
    for (account, role) in members {
        let email = account.email.as_deref().context("members need an e-mail")?;
        admin.add_member(cart, email, *role).await?;
    }
    Ok(cart)
}

/// Signs `account` in again on the server at `base_url` (after a restart).
pub async fn sign_in_again(base_url: &str, account: &Account) -> anyhow::Result<Account> {
    let email = account
        .email
        .as_deref()
        .context("only registered accounts sign in")?;
    Account::sign_in(base_url, email, PASSWORD).await
}

/// Ana, the admin of a fresh cart, and `name`, a member of it with `role`.
pub async fn admin_and_member(
    server: &TestServer,
    name: &str,
    role: MemberRole,
) -> anyhow::Result<(Account, Account, CartId)> {
    admin_and_member_at(&server.base_url, name, role).await
}

/// [`admin_and_member`], signed up on the server at `base_url` (one node
/// of several).
pub async fn admin_and_member_at(
    base_url: &str,
    name: &str,
    role: MemberRole,
) -> anyhow::Result<(Account, Account, CartId)> {
    let admin = sign_up(base_url, "Ana").await?;
    let member = sign_up(base_url, name).await?;
    let cart = shared_cart(&admin, &[(&member, role)]).await?;
    Ok((admin, member, cart))
}

/// The `cartroom` binary: `CARTROOM_BIN` when set (the test command builds
/// it first), else built once per test process with the same command the
/// test script uses, so that features unify the same way and nothing is
/// rebuilt twice.
pub fn cartroom_bin() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(bin) = std::env::var_os("CARTROOM_BIN") {
                return Ok(PathBuf::from(bin));
            }
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "--quiet", "--workspace", "--all-targets"])
                .status()
                .map_err(|e| format!("running cargo: {e}"))?;
            if !status.success() {
                return Err("cargo build --workspace failed".into());
            }
            // target/<profile>/deps/<test> -> target/<profile>/cartroom
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let bin = exe
                .parent()
                .and_then(Path::parent)
                .ok_or("unexpected test binary location")?
                .join("cartroom");
            if bin.exists() {
                Ok(bin)
            } else {
                Err(format!("{} not found after building", bin.display()))
            }
        })
        .clone()
        .map_err(anyhow::Error::msg)
}

/// Limits a test of something else can run into, lifted for [`ServerProcess`]
/// through the environment (a flag in `start_with_args` still sets one):
/// the disk-full test retries every acked op over HTTP, hundreds in a row.
const LIFTED_LIMITS: &[(&str, &str)] = &[("CARTROOM_HTTP_OPS_PER_SECOND", "100000")];

/// The `cartroom` binary running as a child process.
pub struct ServerProcess {
    pub base_url: String,
    child: Child,
}

impl ServerProcess {
    /// Starts the binary on `data_dir` and waits for its "listening on" line.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        Self::start_with_args(data_dir, &[]).await
    }

    /// [`ServerProcess::start`] with more flags.
    pub async fn start_with_args(data_dir: &Path, args: &[&str]) -> anyhow::Result<Self> {
        let database = backend::database(data_dir).await?;
        let database_args = database.iter().flat_map(|db| {
            [
                "--database-url",
                db.url.as_str(),
                "--node-name",
                db.node.as_str(),
            ]
        });
        let mut child = Command::new(cartroom_bin()?)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(database_args)
            .args(args)
            .envs(LIFTED_LIMITS.iter().copied())
            // CARTROOM_TEST_LOG=debug shows the server's logs in a failing test.
            .env(
                "CARTROOM_LOG",
                std::env::var("CARTROOM_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting cartroom")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("cartroom did not say where it listens")??
            .context("cartroom exited before listening")?;
        let Some(base_url) = line.strip_prefix("listening on ") else {
            bail!("unexpected first line {line:?}");
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            base_url: base_url.to_owned(),
            child,
        })
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no chance to flush anything.
    pub async fn kill_9(mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn terminate(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self.child.id().context("already exited")?;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        Ok(tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??)
    }
}

/// The cart of the next `carts_changed` on `conn`, skipping anything else.
pub async fn next_carts_changed(conn: &mut Connection) -> anyhow::Result<CartId> {
    loop {
        if let Event::Msg(ServerMsg::CartsChanged { cart_id }) = conn.next_event().await? {
            return Ok(cart_id);
        }
    }
}
