//! The one configuration of a Cartroom node: every flag is also a
//! `CARTROOM_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::serve::ServeLimits;

/// Command-line and environment configuration.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "cartroom",
    version,
    about = "Real-time collaborative shopping carts"
)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CARTROOM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Folder holding the SQLite database; created if missing.
    #[arg(long, env = "CARTROOM_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Folder of the built web client, served at `/` when it exists.
    #[arg(long, env = "CARTROOM_WEB_DIR", default_value = "web-client/dist")]
    pub web_dir: PathBuf,

    /// Extra origins allowed to open the WebSocket (comma-separated, e.g.
    /// `https://shop.example`). The server's own origin is always allowed.
    #[arg(long, env = "CARTROOM_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// How long a session lasts, in days.
    #[arg(long, env = "CARTROOM_SESSION_TTL_DAYS", default_value_t = 30)]
    pub session_ttl_days: u32,

    /// Seconds a room stays loaded with nobody connected.
    #[arg(long, env = "CARTROOM_ROOM_IDLE_SECS", default_value_t = 30)]
    pub room_idle_secs: u64,

    /// Changes after which a cart's document restarts from its current
    /// state as a new epoch, its history archived (`cart::epoch`).
    #[arg(
        long,
        env = "CARTROOM_EPOCH_EVERY",
        default_value_t = 500,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub epoch_every: u64,

    /// A Postgres database to keep everything in
    /// (`postgres://user@host:5432/db`), for running several nodes on one
    /// database. Without it, the node keeps everything in SQLite under
    /// `--data-dir`.
    #[arg(long, env = "CARTROOM_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// This node's name among the nodes of one database, in cart leases
    /// and logs (letters, digits, `-`, `_`, `.`; at most 64). Default: a
    /// random name per start. A node restarted under its old name takes
    /// back its carts at once instead of waiting for their leases to lapse.
    #[arg(long, env = "CARTROOM_NODE_NAME", value_parser = parse_node_name)]
    pub node_name: Option<String>,

    /// With a Postgres `--database-url`: the NATS server the nodes of one
    /// database talk through (`nats://127.0.0.1:4222`). A client may then
    /// use any node: what it asks of a cart whose room runs on another node
    /// is forwarded there, and that room's frames come back. Without it,
    /// the other nodes are hot standbys (`docs/operations.md`).
    #[arg(long, env = "CARTROOM_NATS_URL", requires = "database_url")]
    pub nats_url: Option<String>,

    /// With `--database-url`: how long a node's lease on a cart lasts
    /// unrenewed, in ms (renewed every third of it). A node that dies
    /// leaves its carts to the others after at most this long.
    #[arg(long, env = "CARTROOM_LEASE_TTL_MS", default_value_t = 6000,
          value_parser = clap::value_parser!(u64).range(300..=600_000))]
    pub lease_ttl_ms: u64,

    /// Most changes the group-commit writer puts in one transaction.
    #[arg(long, env = "CARTROOM_COMMIT_BATCH", default_value_t = 512)]
    pub commit_batch: usize,

    /// SQLite `synchronous` setting: `full` survives power loss, `normal`
    /// survives a killed process (WAL) and is faster.
    #[arg(long, env = "CARTROOM_SQLITE_SYNC", value_enum, default_value_t = SqliteSync::Full)]
    pub sqlite_sync: SqliteSync,

    /// Most WebSocket connections held at once; past it the handshake gets 503.
    #[arg(long, env = "CARTROOM_MAX_CONNECTIONS", default_value_t = 100_000)]
    pub max_connections: usize,

    /// Most sockets (HTTP and WebSocket) open at once from one client
    /// address; past it new connections are closed at once.
    #[arg(long, env = "CARTROOM_MAX_CONNECTIONS_PER_IP", default_value_t = 512)]
    pub max_connections_per_ip: usize,

    /// Seconds a connection may take to send a request's header, or stay
    /// idle between requests, before it is closed.
    #[arg(long, env = "CARTROOM_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// Most WebSocket connections one user holds at once; past it the
    /// handshake answers 429 `rate_limited`.
    #[arg(long, env = "CARTROOM_MAX_CONNECTIONS_PER_USER", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_user: u32,

    /// Sign-in attempts one client address may make a minute, whatever the
    /// e-mail (a burst of this many, then one every 60/N s).
    #[arg(long, env = "CARTROOM_SIGNINS_PER_MINUTE_PER_IP", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub signins_per_minute_per_ip: u32,

    /// Accounts (sign-ups and guests) one client address may create an hour.
    #[arg(long, env = "CARTROOM_ACCOUNTS_PER_HOUR_PER_IP", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub accounts_per_hour_per_ip: u32,

    /// Members one user may add (`POST /api/carts/{id}/members`) an hour.
    #[arg(long, env = "CARTROOM_MEMBER_ADDITIONS_PER_HOUR", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub member_additions_per_hour: u32,

    /// Ops one user may send over HTTP a second (bursts of twice as many),
    /// as a WebSocket connection may.
    #[arg(long, env = "CARTROOM_HTTP_OPS_PER_SECOND", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub http_ops_per_second: u32,

    /// Mark the session cookie `Secure` (serve over TLS, or behind a TLS proxy).
    #[arg(long, env = "CARTROOM_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Token that `/metrics` requires as `Authorization: Bearer`, from any
    /// address. Without it `/metrics` answers loopback clients only.
    #[arg(long, env = "CARTROOM_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// SMTP server for e-mails (invitations, password resets), as a lettre
    /// connection URL: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`. Without it e-mails go to the dev
    /// mailbox under the data dir, listed at `/dev/mailbox`.
    #[arg(long, env = "CARTROOM_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of e-mails.
    #[arg(
        long,
        env = "CARTROOM_MAIL_FROM",
        default_value = "Cartroom <cartroom@localhost>"
    )]
    pub mail_from: String,

    /// The address people reach this server at, for links in e-mails
    /// (`https://carts.example.com`). Default: `http://` and the address it
    /// listens on.
    #[arg(long, env = "CARTROOM_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Invitation and share-link tokens (looked up, accepted, declined) and
    /// password-reset links one client address may try a minute.
    #[arg(long, env = "CARTROOM_INVITE_ATTEMPTS_PER_MINUTE_PER_IP", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub invite_attempts_per_minute_per_ip: u32,

    /// The password of the demo stores' owner (`owner@corner.example`) and
    /// agents (`agent@corner.example`, `agent@tea.example`), set when a demo
    /// store is seeded with its staff. Change it for anything but a demo
    /// (or reset it by e-mail).
    #[arg(
        long,
        env = "CARTROOM_DEMO_OWNER_PASSWORD",
        default_value = "corner shop owner",
        hide_env_values = true
    )]
    pub demo_owner_password: String,

    /// Moves this node's clock by this many milliseconds (tests of
    /// deadlines that pass while the node is down).
    #[arg(
        long,
        env = "CARTROOM_CLOCK_OFFSET_MS",
        default_value_t = 0,
        hide = true,
        allow_negative_numbers = true
    )]
    pub clock_offset_ms: i64,

    /// Webhooks: the wait before the first retry of a failed delivery, in
    /// ms; each later retry waits up to twice as long (with full jitter),
    /// at most an hour.
    #[arg(long, env = "CARTROOM_WEBHOOK_RETRY_BASE_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_base_ms: u64,

    /// Webhooks: seconds after an event that its deliveries are tried; an
    /// endpoint still failing then is disabled and the store's owners told.
    #[arg(long, env = "CARTROOM_WEBHOOK_GIVE_UP_SECS", default_value_t = 86_400,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_give_up_secs: u64,

    /// Webhooks: ms during which a cart's item events merge into one.
    #[arg(long, env = "CARTROOM_WEBHOOK_DEBOUNCE_MS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub webhook_debounce_ms: u64,

    /// Webhooks: allow endpoints on loopback, private and link-local
    /// addresses (tests, a shop's own network); by default only public
    /// addresses are reached.
    #[arg(long, env = "CARTROOM_WEBHOOK_PRIVATE_TARGETS")]
    pub webhook_private_targets: bool,

    /// Do not seed the demo stores a database does not have.
    #[arg(long, env = "CARTROOM_NO_SEED")]
    pub no_seed: bool,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "CARTROOM_LOG_JSON")]
    pub log_json: bool,
}

/// How hard SQLite works to keep a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SqliteSync {
    /// fsync at every commit: survives power loss.
    Full,
    /// fsync at checkpoints: survives a killed process, not power loss.
    Normal,
}

/// A node name: 1 to 64 of letters, digits, `-`, `_` and `.`.
fn parse_node_name(s: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(s.to_owned())
    } else {
        Err("1 to 64 letters, digits, '-', '_' or '.'".to_owned())
    }
}

impl Config {
    /// A configuration for tests and embedding: defaults, with the given data dir.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Self::parse_from(["cartroom"]);
        config.data_dir = data_dir.into();
        config
    }

    pub(crate) fn room_idle(&self) -> Duration {
        Duration::from_secs(self.room_idle_secs)
    }

    pub(crate) fn serve_limits(&self) -> ServeLimits {
        ServeLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            max_per_ip: self.max_connections_per_ip,
        }
    }

    pub(crate) fn session_ttl_ms(&self) -> i64 {
        i64::from(self.session_ttl_days) * 86_400_000
    }
}
