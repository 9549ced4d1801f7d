//! `cartroom-loadtest`: a real WebSocket load generator for Cartroom.
//!
//! Every simulated participant is a real client ([`cartroom_client`]) on
//! its own socket: it subscribes, sends real ops at its rate and times what
//! it receives. The run ends with a convergence check against the server's
//! own view of every cart, and exits non-zero on any error or divergence.
//!
//! ```text
//! cartroom-loadtest --spawn --scenario family --carts 50 --duration 10
//! cartroom-loadtest --url http://127.0.0.1:8080 --scenario hot --members 1000 --rate 0.05
//! cartroom-loadtest --url http://127.0.0.1:18091 --url http://127.0.0.1:18092 --scenario team
//! ```
//!
//! # Several nodes
//! With `--url` repeated, setup (accounts, carts) goes through the first
//! URL and participant `i` connects to URL `i mod n`, so the members of a
//! cart sit on different nodes and their ops are forwarded to the cart's
//! owner. The convergence check reads every cart from every URL and
//! requires the same view everywhere. Server CPU and RSS are not sampled
//! then: one node's figures are not the cluster's (`loadtest/cluster.sh`
//! compares 1, 2 and 3 nodes).
//!
//! # Layout
//! - [`server`]: spawning the server on a fresh data dir; RSS and CPU from
//!   `/proc` (or `/metrics`).
//! - [`setup`]: accounts and carts over the HTTP API.
//! - [`participant`]: one simulated client's loop.
//! - [`stats`]: histograms, counters, the pending-op table.
//! - this file: flags, scenarios, the run's phases, convergence, the report.
//!
//! # Measuring delivery without a replica everywhere
//! Op ids carry the sender's index, sequence number and send time
//! (`lt{p}.{seq}.{µs}`); the server writes the op id into each change's
//! message, so every receiver reads it from the change bytes (a ~5 µs parse,
//! [`cartroom_client::chunks`]) and times the delivery. Applying a change to
//! a replica costs far more (it grows with the history; see
//! `examples/automerge_cost.rs`), so only `--replicas` participants keep one;
//! the others keep a fingerprint (count and XOR of the hashes of every change
//! they received), checked against the server's document at the end.

mod participant;
mod server;
mod setup;
mod stats;

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use automerge::Automerge;
use cartroom_client::{Account, ConnectOptions, cart_view};
use cartroom_protocol::CartId;
use clap::{ArgAction, Parser, ValueEnum};
use serde::Serialize;
use tokio::sync::{Semaphore, watch};

use participant::{FRAMES_READ, IN_FLIGHT, Outcome, Phase, Spec};
use server::{FileWriteTrace, FileWrites, ProcSample, Spawned};
use stats::{LatencySummary, Stats};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
enum Scenario {
    /// R carts x 4 members, 1 op/s each.
    Family,
    /// R carts x 20 members.
    Team,
    /// 1 cart x N members (a flash group-buy).
    Hot,
    /// Carts with members, plus support agents each watching many carts.
    Watchers,
    /// Many connections that only ping: how many sockets one node holds.
    Idle,
}

/// Flags; unset ones take the scenario's default.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "cartroom-loadtest",
    version,
    about = "Real WebSocket load generator for Cartroom"
)]
struct Args {
    #[arg(long, value_enum, default_value = "family")]
    scenario: Scenario,
    /// Start the server on 127.0.0.1:0 with a fresh data dir.
    #[arg(long, conflicts_with = "url")]
    spawn: bool,
    /// The server binary for --spawn.
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Extra argument for the spawned server (repeat it).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// `CARTROOM_LOG` of the spawned server.
    #[arg(long, default_value = "warn")]
    server_log: String,
    /// A running server, e.g. http://127.0.0.1:8080; repeat it for the nodes
    /// of a cluster (setup uses the first; participants take them in turn).
    #[arg(long, action = ArgAction::Append)]
    url: Vec<String>,
    /// Carts (scenario default: family 50, team 20, hot 1, watchers 200).
    #[arg(long)]
    carts: Option<usize>,
    /// Participants (connections) per cart (family 4, team 20, hot 200, watchers 4).
    #[arg(long)]
    members: Option<usize>,
    /// Distinct member accounts per cart (default: members, at most 99).
    #[arg(long)]
    users_per_cart: Option<usize>,
    /// Ops per second per participant (family 1, team 0.5, hot 50/members, watchers 0.5).
    #[arg(long)]
    rate: Option<f64>,
    /// Support agents (watchers scenario; default 10).
    #[arg(long)]
    watchers: Option<usize>,
    /// Carts each agent subscribes to (default 64, the protocol's maximum).
    #[arg(long)]
    carts_per_watcher: Option<usize>,
    /// Connections of the idle scenario.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Idle connections ping every this many seconds (0: never).
    #[arg(long, default_value_t = 15.0)]
    ping_every: f64,
    /// Seconds measured after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds over which connections are opened.
    #[arg(long, default_value_t = 0.0)]
    ramp: f64,
    /// Participants keeping a full Automerge replica (spread over carts);
    /// the others are checked by fingerprint.
    #[arg(long, default_value_t = 16)]
    replicas: usize,
    /// Every participant keeps a replica (costly: see the module docs).
    #[arg(long)]
    all_replicas: bool,
    /// Lines seeded per cart (ops pick among them).
    #[arg(long, default_value_t = 4)]
    lines: usize,
    /// Seeded quantity of each line.
    #[arg(long, default_value_t = 100)]
    quantity: i64,
    /// Spread client sockets over 127.0.0.1 .. 127.0.0.N (past ~28k sockets
    /// one source address runs out of ports).
    #[arg(long, default_value_t = 1)]
    source_ips: u8,
    /// Connections opening at once.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// Seconds to wait for the last acks and deliveries.
    #[arg(long, default_value_t = 30.0)]
    drain_timeout: f64,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bar even on a terminal.
    #[arg(long)]
    no_progress: bool,
    /// Count the spawned server's file writes and syncs during the window
    /// with `strace` (slows the server: for low-rate write-path runs).
    #[arg(long, requires = "spawn")]
    trace_file_writes: bool,
}

/// The shape of a run, after defaults.
#[derive(Clone, Debug, Serialize)]
struct Plan {
    scenario: Scenario,
    carts: usize,
    members_per_cart: usize,
    users_per_cart: usize,
    rate_per_member: f64,
    watchers: usize,
    carts_per_watcher: usize,
    idle_connections: usize,
    duration_s: f64,
    warmup_s: f64,
    ramp_s: f64,
}

impl Plan {
    fn from_args(a: &Args) -> anyhow::Result<Self> {
        use Scenario::*;
        let (carts, members, rate) = match a.scenario {
            Family => (50, 4, 1.0),
            Team => (20, 20, 0.5),
            Hot => (1, 200, f64::NAN),
            Watchers => (200, 4, 0.5),
            Idle => (0, 0, 0.0),
        };
        let carts = a.carts.unwrap_or(carts);
        let members = a.members.unwrap_or(members);
        let rate = a.rate.unwrap_or(if rate.is_nan() {
            50.0 / members.max(1) as f64
        } else {
            rate
        });
        let watchers = if a.scenario == Watchers {
            a.watchers.unwrap_or(10)
        } else {
            a.watchers.unwrap_or(0)
        };
        let carts_per_watcher = a.carts_per_watcher.unwrap_or(64).min(carts).min(64);
        let watchers_per_cart = if carts == 0 {
            0
        } else {
            (watchers * carts_per_watcher).div_ceil(carts)
        };
        // Protocol limit: 100 members per cart, the admin being one.
        let max_users = 99usize.saturating_sub(watchers_per_cart);
        anyhow::ensure!(
            a.scenario == Idle || max_users > 0,
            "too many watchers per cart"
        );
        let users = a
            .users_per_cart
            .unwrap_or(members)
            .min(members)
            .min(max_users)
            .max(1);
        Ok(Plan {
            scenario: a.scenario,
            carts,
            members_per_cart: members,
            users_per_cart: users,
            rate_per_member: rate,
            watchers,
            carts_per_watcher,
            idle_connections: if a.scenario == Idle { a.connections } else { 0 },
            duration_s: a.duration,
            warmup_s: if a.scenario == Idle { 0.0 } else { a.warmup },
            ramp_s: a.ramp,
        })
    }

    fn connections(&self) -> usize {
        self.carts * self.members_per_cart + self.watchers + self.idle_connections
    }

    /// The carts agent `w` watches.
    fn watched_by(&self, w: usize) -> Vec<usize> {
        (0..self.carts_per_watcher)
            .map(|k| (w * self.carts_per_watcher + k) % self.carts)
            .collect()
    }
}

/// How often the measured window samples the server's RSS.
const RSS_SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// The server under test.
enum Target {
    Spawned(Spawned),
    Remote(Account),
    /// Several `--url`s: not sampled, as one node's figures are not the
    /// cluster's.
    Nodes,
}

impl Target {
    async fn sample(&self) -> Option<ProcSample> {
        match self {
            Target::Spawned(s) => server::proc_sample(&s.pid.to_string()).ok(),
            Target::Remote(a) => server::metrics_sample(a).await,
            Target::Nodes => None,
        }
    }

    /// [`ServerFigures::source`].
    fn source(&self) -> &'static str {
        match self {
            Target::Spawned(_) => "proc",
            Target::Remote(_) => "metrics",
            Target::Nodes => "none",
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct ServerFigures {
    /// "proc" (spawned), "metrics" (one `--url`) or "none" (several).
    source: &'static str,
    before_connections: Option<ProcSample>,
    connected: Option<ProcSample>,
    end: Option<ProcSample>,
    rss_per_connection_bytes: Option<f64>,
    /// Server CPU during the measured window, in cores (1.0 = one core busy).
    cpu_cores: Option<f64>,
    cpu_us_per_delivery: Option<f64>,
    cpu_us_per_op: Option<f64>,
    /// The share of that CPU spent in the kernel (spawned server only).
    cpu_kernel_share: Option<f64>,
    /// (seconds into the window, RSS bytes), every [`RSS_SAMPLE_EVERY`].
    rss_timeline: Vec<(u64, u64)>,
    /// Thread context switches per acked op (spawned server only).
    context_switches_per_op: Option<f64>,
    /// The same by thread name; a thread that ended during the window is
    /// not counted.
    context_switches_per_op_by_thread: BTreeMap<String, f64>,
    /// Bytes written to storage per acked op (spawned server only).
    disk_bytes_per_op: Option<f64>,
    /// File write and sync calls in the window (`--trace-file-writes`).
    file_writes: Option<FileWrites>,
    file_writes_per_op: Option<f64>,
    file_syncs_per_op: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    plan: Plan,
    /// Setup went through the first; participants take them in turn.
    server_urls: Vec<String>,
    connections: usize,
    connections_healthy: usize,
    participants_with_replica: usize,
    setup_seconds: f64,
    sign_ups: usize,
    sign_up_seconds: f64,
    window_seconds: f64,
    ops_sent: u64,
    ops_acked: u64,
    ops_per_second: f64,
    deliveries_per_second: f64,
    ack: LatencySummary,
    delivery: LatencySummary,
    all_members: LatencySummary,
    connect: LatencySummary,
    subscribe: LatencySummary,
    errors: BTreeMap<String, u64>,
    undelivered_ops: usize,
    unanswered_ops: u64,
    replicas_checked: usize,
    fingerprints_checked: usize,
    divergences: usize,
    server: ServerFigures,
    loadtest_cpu_cores: Option<f64>,
    ok: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let plan = Plan::from_args(&args)?;
    let report = run(&args, plan).await?;
    print_report(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !report.ok {
        eprintln!("FAILED: errors, undelivered ops or divergence (see above)");
        std::process::exit(1);
    }
    Ok(())
}

async fn run(args: &Args, plan: Plan) -> anyhow::Result<Report> {
    let target_spawned = if args.spawn || args.url.is_empty() {
        let bin = args
            .server_bin
            .clone()
            .unwrap_or_else(server::default_server_bin);
        Some(server::spawn(&bin, &args.server_args, &args.server_log).await?)
    } else {
        None
    };
    let urls: Vec<String> = match &target_spawned {
        Some(s) => vec![s.base_url.clone()],
        None => args
            .url
            .iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect(),
    };
    let base_url = urls[0].clone();
    eprintln!(
        "server: {} ({} connections planned)",
        urls.join(", "),
        plan.connections()
    );
    let run_tag = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );

    // Setup over HTTP.
    let setup_t = Instant::now();
    let probe = Account::guest(&base_url, "loadtest")
        .await
        .context("creating a guest")?;
    let target = match target_spawned {
        Some(s) => Target::Spawned(s),
        None if urls.len() == 1 => Target::Remote(probe.clone()),
        None => Target::Nodes,
    };
    let signup_t = Instant::now();
    let members = if plan.carts > 0 {
        let pools = plan.carts.div_ceil(setup::CARTS_PER_POOL);
        setup::sign_up_pool(&base_url, &run_tag, "m", plan.users_per_cart * pools).await?
    } else {
        Vec::new()
    };
    let watchers = setup::sign_up_pool(&base_url, &run_tag, "agent", plan.watchers).await?;
    let sign_ups = members.len() + watchers.len();
    let sign_up_seconds = signup_t.elapsed().as_secs_f64();
    let skus = if plan.carts > 0 {
        setup::pick_skus(&probe, args.quantity, args.lines).await?
    } else {
        Vec::new()
    };
    let mut watchers_of: Vec<Vec<Account>> = vec![Vec::new(); plan.carts];
    for (w, agent) in watchers.iter().enumerate() {
        for c in plan.watched_by(w) {
            watchers_of[c].push(agent.clone());
        }
    }
    let carts = if plan.carts > 0 {
        setup::carts(
            &base_url,
            plan.carts,
            &members,
            plan.users_per_cart,
            |i| watchers_of[i].clone(),
            &skus,
            args.quantity,
        )
        .await?
    } else {
        setup::Carts {
            ids: Vec::new(),
            admins: Vec::new(),
        }
    };
    let idle_accounts = if plan.idle_connections > 0 {
        // Connections share guest accounts, 100 each: the idle scenario is
        // about sockets, not users.
        setup::guests(&base_url, "idle", plan.idle_connections.div_ceil(100)).await?
    } else {
        Vec::new()
    };
    let setup_seconds = setup_t.elapsed().as_secs_f64();
    eprintln!(
        "setup: {sign_ups} sign-ups in {sign_up_seconds:.1} s, {} carts, total {setup_seconds:.1} s",
        plan.carts
    );

    // Participants.
    let mut specs = build_specs(
        args,
        &plan,
        &members,
        &watchers,
        &carts,
        &idle_accounts,
        &skus,
    );
    // Round robin: consecutive participants, so the members of a cart, sit
    // on different nodes (a session is valid on every node).
    for spec in &mut specs {
        spec.account.base_url = urls[spec.idx as usize % urls.len()].clone();
    }
    let n = specs.len();
    let with_replica = specs.iter().filter(|s| s.keep_replica).count();
    let stats = Arc::new(Stats::new());
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let (phase_tx, phase_rx) = watch::channel(Phase::Setup);
    let before_connections = target.sample().await;
    let mut tasks = tokio::task::JoinSet::new();
    for spec in specs {
        tasks.spawn(participant::run(
            spec,
            stats.clone(),
            gate.clone(),
            phase_rx.clone(),
        ));
    }
    let progress = Progress::new(!args.no_progress && std::io::stderr().is_terminal());

    // Wait until everyone is connected and subscribed (or failed).
    let connect_deadline =
        Instant::now() + Duration::from_secs_f64(plan.ramp_s + 60.0 + n as f64 / 100.0);
    loop {
        let subscribed = stats.subscribed.load(Relaxed) as usize;
        progress.show(&format!("connecting: {subscribed}/{n} subscribed"), &stats);
        if all_done_connecting(&stats, n) || Instant::now() > connect_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let connected = target.sample().await;
    eprintln!(
        "connected: {}/{n} subscribed, connect p99 {:.1} ms",
        stats.subscribed.load(Relaxed),
        stats.connect.summary().p99_ms
    );

    // Run: warm-up, then the measured window.
    let _ = phase_tx.send(Phase::Run);
    let run_start = Instant::now();
    stats
        .measure_from_us
        .store(stats.now_us() + (plan.warmup_s * 1e6) as u64, Relaxed);
    while run_start.elapsed().as_secs_f64() < plan.warmup_s {
        progress.show("warm-up", &stats);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let window_start = Instant::now();
    let server_start = target.sample().await;
    let trace = match &target {
        Target::Spawned(s) if args.trace_file_writes => Some(FileWriteTrace::start(s.pid)?),
        _ => None,
    };
    let self_cpu_window = server::proc_sample("self").ok();
    let mut rss_timeline = Vec::new();
    let mut next_rss_sample = Duration::ZERO;
    while window_start.elapsed().as_secs_f64() < plan.duration_s {
        progress.show("measuring", &stats);
        if window_start.elapsed() >= next_rss_sample {
            if let Some(sample) = target.sample().await {
                rss_timeline.push((window_start.elapsed().as_secs(), sample.rss_bytes));
            }
            next_rss_sample += RSS_SAMPLE_EVERY;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stats.measure_until_us.store(stats.now_us(), Relaxed);
    let window_seconds = window_start.elapsed().as_secs_f64();
    let server_end = target.sample().await;
    let self_cpu_end = server::proc_sample("self").ok();
    let file_writes = match trace {
        Some(trace) => Some(trace.finish().await?),
        None => None,
    };

    // Drain.
    let _ = phase_tx.send(Phase::Drain);
    let drain_deadline = Instant::now() + Duration::from_secs_f64(args.drain_timeout);
    while (IN_FLIGHT.load(Relaxed) > 0 || stats.pending_ops() > 0)
        && Instant::now() < drain_deadline
    {
        progress.show("draining", &stats);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then until change frames stop arriving: an op answered to its sender
    // may still be on its way to the cart's other members.
    loop {
        let before = FRAMES_READ.load(Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        if FRAMES_READ.load(Relaxed) == before || Instant::now() >= drain_deadline {
            break;
        }
    }
    let unanswered_ops = IN_FLIGHT.load(Relaxed);
    let undelivered_ops = stats.pending_ops();
    let _ = phase_tx.send(Phase::Done);
    progress.finish();
    let mut outcomes = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        outcomes.push(r.context("a participant panicked")?);
    }
    let healthy = outcomes.iter().filter(|o| o.healthy).count();

    let check = converge(&carts, &outcomes, &urls).await?;
    let errors = stats.errors();
    let deliveries = stats.deliveries_measured.load(Relaxed);
    let acked = stats.ops_acked_measured.load(Relaxed);
    let cpu = match (&server_start, &server_end) {
        (Some(a), Some(b)) => Some(b.cpu_seconds - a.cpu_seconds),
        _ => None,
    };
    let per = |count: u64| cpu.filter(|_| count > 0).map(|c| c * 1e6 / count as f64);
    let cpu_kernel_share = match (&server_start, &server_end) {
        (Some(a), Some(b)) => (b.kernel_cpu_seconds.zip(a.kernel_cpu_seconds))
            .map(|(b, a)| b - a)
            .zip(cpu.filter(|c| *c > 0.0))
            .map(|(kernel, all)| kernel / all),
        _ => None,
    };
    let spawned = matches!(target, Target::Spawned(_));
    let per_op = |delta: Option<f64>| {
        delta
            .filter(|_| spawned && acked > 0)
            .map(|d| d / acked as f64)
    };
    let delta = |f: fn(&ProcSample) -> u64| match (&server_start, &server_end) {
        (Some(a), Some(b)) => Some(f(b).saturating_sub(f(a)) as f64),
        _ => None,
    };
    let server = ServerFigures {
        rss_timeline,
        context_switches_per_op: per_op(delta(|s| s.context_switches)),
        context_switches_per_op_by_thread: match (&server_start, &server_end) {
            (Some(a), Some(b)) => (a.switches_until(b).into_iter())
                .filter_map(|(name, n)| Some((name, per_op(Some(n as f64))?)))
                .collect(),
            _ => BTreeMap::new(),
        },
        disk_bytes_per_op: per_op(delta(|s| s.disk_write_bytes)),
        file_writes_per_op: per_op(file_writes.map(|f| f.writes as f64)),
        file_syncs_per_op: per_op(file_writes.map(|f| f.syncs as f64)),
        file_writes,
        source: target.source(),
        rss_per_connection_bytes: match (&before_connections, &connected) {
            (Some(a), Some(b)) if n > 0 => {
                Some((b.rss_bytes as f64 - a.rss_bytes as f64) / n as f64)
            }
            _ => None,
        },
        before_connections,
        connected,
        end: server_end,
        cpu_cores: cpu.map(|c| c / window_seconds),
        cpu_us_per_delivery: per(deliveries),
        cpu_us_per_op: per(acked),
        cpu_kernel_share,
    };
    let loadtest_cpu_cores = match (self_cpu_window, self_cpu_end) {
        (Some(a), Some(b)) => Some((b.cpu_seconds - a.cpu_seconds) / window_seconds),
        _ => None,
    };
    let ok = errors.is_empty()
        && undelivered_ops == 0
        && unanswered_ops == 0
        && check.divergences == 0
        && healthy == n;
    Ok(Report {
        plan,
        server_urls: urls,
        connections: n,
        connections_healthy: healthy,
        participants_with_replica: with_replica,
        setup_seconds,
        sign_ups,
        sign_up_seconds,
        window_seconds,
        ops_sent: stats.ops_sent.load(Relaxed),
        ops_acked: stats.ops_acked.load(Relaxed),
        ops_per_second: acked as f64 / window_seconds,
        deliveries_per_second: deliveries as f64 / window_seconds,
        ack: stats.ack.summary(),
        delivery: stats.delivery.summary(),
        all_members: stats.all_members.summary(),
        connect: stats.connect.summary(),
        subscribe: stats.subscribe.summary(),
        errors,
        undelivered_ops,
        unanswered_ops,
        replicas_checked: check.replicas,
        fingerprints_checked: check.fingerprints,
        divergences: check.divergences,
        server,
        loadtest_cpu_cores,
        ok,
    })
}

/// Every participant has either subscribed or recorded an error.
fn all_done_connecting(stats: &Stats, n: usize) -> bool {
    let errs: u64 = stats.errors().values().sum();
    stats.subscribed.load(Relaxed) as usize + errs as usize >= n
}

fn build_specs(
    args: &Args,
    plan: &Plan,
    members: &[Account],
    watchers: &[Account],
    carts: &setup::Carts,
    idle_accounts: &[Account],
    skus: &[String],
) -> Vec<Spec> {
    let lines = Arc::new(skus.to_vec());
    let n = plan.connections();
    let watchers_per_cart = {
        let mut counts = vec![0u32; plan.carts];
        for w in 0..plan.watchers {
            for c in plan.watched_by(w) {
                counts[c] += 1;
            }
        }
        counts
    };
    // Replicas go to the first member of evenly spaced carts; when there
    // are fewer carts than replicas, to evenly spaced members.
    let member_total = plan.carts * plan.members_per_cart;
    let replicas = if args.all_replicas {
        member_total
    } else {
        args.replicas.min(member_total)
    };
    let with_replica: std::collections::HashSet<usize> = (0..replicas)
        .map(|k| {
            if plan.carts >= replicas {
                (k * plan.carts / replicas) * plan.members_per_cart
            } else {
                k * member_total / replicas
            }
        })
        .collect();
    let mut specs = Vec::with_capacity(n);
    let base = ConnectOptions {
        timeout: Duration::from_secs(30),
        ..ConnectOptions::default()
    };
    let source = |idx: usize| -> Option<IpAddr> {
        (args.source_ips > 1).then(|| {
            IpAddr::V4(Ipv4Addr::new(
                127,
                0,
                0,
                1 + (idx % args.source_ips as usize) as u8,
            ))
        })
    };
    let delay = |idx: usize| Duration::from_secs_f64(plan.ramp_s * idx as f64 / n.max(1) as f64);
    for (c, &cart_watchers) in watchers_per_cart.iter().enumerate() {
        for m in 0..plan.members_per_cart {
            let idx = specs.len();
            let keep = with_replica.contains(&idx);
            specs.push(Spec {
                idx: idx as u32,
                account: setup::pool_of(members, plan.users_per_cart, c)[m % plan.users_per_cart]
                    .clone(),
                carts: vec![carts.ids[c]],
                sends: true,
                others: (plan.members_per_cart as u32 - 1) + cart_watchers,
                keep_replica: keep,
                lines: lines.clone(),
                rate: plan.rate_per_member,
                ping_every: 0.0,
                start_delay: delay(idx),
                options: ConnectOptions {
                    keep_replicas: keep,
                    local_addr: source(idx),
                    ..base.clone()
                },
            });
        }
    }
    for (w, agent) in watchers.iter().enumerate() {
        let idx = specs.len();
        specs.push(Spec {
            idx: idx as u32,
            account: agent.clone(),
            carts: plan
                .watched_by(w)
                .into_iter()
                .map(|c| carts.ids[c])
                .collect(),
            sends: false,
            others: 0,
            keep_replica: false,
            lines: lines.clone(),
            rate: 0.0,
            ping_every: 0.0,
            start_delay: delay(idx),
            options: ConnectOptions {
                keep_replicas: false,
                local_addr: source(idx),
                ..base.clone()
            },
        });
    }
    for i in 0..plan.idle_connections {
        let idx = specs.len();
        specs.push(Spec {
            idx: idx as u32,
            account: idle_accounts[i / 100].clone(),
            carts: Vec::new(),
            sends: false,
            others: 0,
            keep_replica: false,
            lines: lines.clone(),
            rate: 0.0,
            ping_every: args.ping_every,
            start_delay: delay(idx),
            options: ConnectOptions {
                keep_replicas: false,
                local_addr: source(idx),
                // Idle sockets receive nothing big: keep them lean.
                read_buffer_size: 4096,
                ..base.clone()
            },
        });
    }
    specs
}

struct Convergence {
    replicas: usize,
    fingerprints: usize,
    divergences: usize,
}

/// Compares every participant's view of each cart with the server's (read
/// from the first URL), and every other URL's view with the first's.
async fn converge(
    carts: &setup::Carts,
    outcomes: &[Outcome],
    urls: &[String],
) -> anyhow::Result<Convergence> {
    let mut by_cart: HashMap<CartId, Vec<&participant::CartRecord>> = HashMap::new();
    for o in outcomes.iter().filter(|o| o.healthy) {
        for rec in &o.carts {
            by_cart.entry(rec.cart).or_default().push(rec);
        }
    }
    let admins = Arc::new(carts.admins.clone());
    let ids = Arc::new(carts.ids.clone());
    let others = Arc::new(urls[1..].to_vec());
    let server_docs = setup::for_each(ids.len(), |i| {
        let admin = admins[i].clone();
        let cart = ids[i];
        let others = others.clone();
        async move {
            let view = admin.cart(cart).await?.view;
            let bytes = admin.document(cart).await?;
            let doc = Automerge::load(&bytes).context("loading the server's document")?;
            let mut other_views = Vec::with_capacity(others.len());
            for url in others.iter() {
                let mut node = admin.clone();
                node.base_url = url.clone();
                let read = node.cart(cart).await;
                other_views.push(read.with_context(|| format!("reading {url}"))?.view);
            }
            Ok((view, doc, other_views))
        }
    })
    .await?;
    let mut out = Convergence {
        replicas: 0,
        fingerprints: 0,
        divergences: 0,
    };
    let mut report = |what: String| {
        out.divergences += 1;
        if out.divergences <= 10 {
            eprintln!("DIVERGED: {what}");
        }
    };
    for (i, (view, doc, other_views)) in server_docs.iter().enumerate() {
        let cart = carts.ids[i];
        let server_heads = view.heads.sorted();
        let doc_heads = cart_view(doc).heads.sorted();
        if server_heads != doc_heads {
            report(format!(
                "cart {cart}: GET heads {server_heads:?} but its document has {doc_heads:?}"
            ));
        }
        for (url, other) in urls[1..].iter().zip(other_views) {
            if other != view {
                report(format!(
                    "cart {cart}: {url} shows heads {:?}, {} shows {server_heads:?} (or their views differ)",
                    other.heads.sorted(),
                    urls[0]
                ));
            }
        }
        let server_view = cart_view(doc);
        let mut fingerprints: HashMap<Vec<automerge::ChangeHash>, ([u8; 32], u64)> = HashMap::new();
        for rec in by_cart.get(&cart).map(Vec::as_slice).unwrap_or_default() {
            if let Some(replica) = &rec.replica {
                out.replicas += 1;
                let heads = cart_view(replica).heads.sorted();
                if heads != server_heads {
                    report(format!(
                        "cart {cart}: replica heads {heads:?}, server {server_heads:?}"
                    ));
                } else if cart_view(replica) != server_view {
                    report(format!("cart {cart}: same heads but different views"));
                }
            }
            out.fingerprints += 1;
            let expected = fingerprints
                .entry(rec.subscribed_heads.clone())
                .or_insert_with(|| {
                    let mut xor = [0u8; 32];
                    let changes = doc.get_changes(&rec.subscribed_heads);
                    for c in &changes {
                        for (x, h) in xor.iter_mut().zip(c.hash().0.iter()) {
                            *x ^= h;
                        }
                    }
                    (xor, changes.len() as u64)
                });
            if *expected != (rec.xor, rec.changes) {
                report(format!(
                    "cart {cart}: a member received {} changes after subscribing, the server has {} (or their hashes differ)",
                    rec.changes, expected.1
                ));
            }
        }
    }
    Ok(out)
}

/// A progress bar on a terminal; a line every 10 s otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    fn new(tty: bool) -> Self {
        let bar = tty.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            last_line: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn show(&self, phase: &str, stats: &Stats) {
        let msg = format!(
            "{phase} | conns {} | ops acked {} | deliveries {} | in flight {} | errors {}",
            stats.connected.load(Relaxed),
            stats.ops_acked.load(Relaxed),
            stats.deliveries.load(Relaxed),
            IN_FLIGHT.load(Relaxed),
            stats.errors().values().sum::<u64>(),
        );
        match &self.bar {
            Some(bar) => bar.set_message(msg),
            None => {
                let mut last = self.last_line.lock().expect("poisoned");
                if last.elapsed() >= Duration::from_secs(10) {
                    *last = Instant::now();
                    eprintln!("{msg}");
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_report(r: &Report) {
    let lat = |name: &str, l: &LatencySummary| {
        println!(
            "  {name:<22} n={:<8} p50 {:>8.2} ms  p90 {:>8.2}  p99 {:>8.2}  p99.9 {:>8.2}  max {:>8.2}",
            l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms
        );
    };
    let p = &r.plan;
    match r.server_urls.as_slice() {
        [url] => println!("server {url}"),
        urls => println!(
            "servers {} (setup through the first; participants round robin)",
            urls.join(", ")
        ),
    }
    println!(
        "scenario {:?}: {} carts x {} members ({} users/cart), {} watchers x {} carts, {} idle; rate {:.3} op/s/member",
        p.scenario,
        p.carts,
        p.members_per_cart,
        p.users_per_cart,
        p.watchers,
        p.carts_per_watcher,
        p.idle_connections,
        p.rate_per_member
    );
    println!(
        "connections {} ({} healthy), replicas kept by {} participants; setup {:.1} s ({} sign-ups in {:.1} s)",
        r.connections,
        r.connections_healthy,
        r.participants_with_replica,
        r.setup_seconds,
        r.sign_ups,
        r.sign_up_seconds
    );
    println!(
        "window {:.1} s: {:.0} ops/s acked, {:.0} deliveries/s (ops sent {}, acked {})",
        r.window_seconds, r.ops_per_second, r.deliveries_per_second, r.ops_sent, r.ops_acked
    );
    lat("op -> ack", &r.ack);
    lat("op -> one member", &r.delivery);
    lat("op -> all members", &r.all_members);
    lat("connect (tcp+ws+hello)", &r.connect);
    lat("subscribe", &r.subscribe);
    let s = &r.server;
    let mb = |b: u64| b as f64 / 1048576.0;
    // No deliveries (an idle run) has no per-delivery cost: say so, not NaN.
    let figure = |v: Option<f64>, unit: &str| {
        v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1} {unit}"))
    };
    if r.server_urls.len() > 1 {
        println!(
            "server CPU and RSS: not sampled over several URLs; load generator {}",
            figure(r.loadtest_cpu_cores, "cores")
        );
    }
    if let (Some(a), Some(b)) = (&s.before_connections, &s.connected) {
        println!(
            "server ({}): RSS {:.1} MiB before connections, {:.1} MiB connected ({:.1} kB/connection), peak {:.1} MiB, {} threads",
            s.source,
            mb(a.rss_bytes),
            mb(b.rss_bytes),
            s.rss_per_connection_bytes.unwrap_or(0.0) / 1000.0,
            mb(s.end
                .as_ref()
                .map_or(b.peak_rss_bytes, |e| e.peak_rss_bytes)),
            b.threads
        );
    }
    if let Some(c) = s.cpu_cores {
        println!(
            "server CPU {:.2} cores{}; {} per delivery, {} per op; load generator {}",
            c,
            s.cpu_kernel_share
                .map(|k| format!(" ({:.0}% in the kernel)", k * 100.0))
                .unwrap_or_default(),
            figure(s.cpu_us_per_delivery, "µs"),
            figure(s.cpu_us_per_op, "µs"),
            figure(r.loadtest_cpu_cores, "cores")
        );
        if let (Some(first), Some(last)) = (s.rss_timeline.first(), s.rss_timeline.last())
            && r.connections > 0
        {
            println!(
                "RSS during the window: {:.1} MiB at {} s -> {:.1} MiB at {} s ({:+.1} kB/connection)",
                mb(first.1),
                first.0,
                mb(last.1),
                last.0,
                (last.1 as f64 - first.1 as f64) / r.connections as f64 / 1000.0
            );
        }
        if let (Some(switches), Some(bytes)) = (s.context_switches_per_op, s.disk_bytes_per_op) {
            // Idle threads (a pool's spare connections) would only add noise.
            let by_thread: Vec<String> = (s.context_switches_per_op_by_thread.iter())
                .filter(|(_, n)| **n >= 0.05)
                .map(|(name, n)| format!("{name} {n:.1}"))
                .collect();
            println!(
                "server per op: {switches:.1} context switches ({}), {:.1} kB written to storage; file writes {}, syncs {}",
                by_thread.join(", "),
                bytes / 1000.0,
                figure(s.file_writes_per_op, ""),
                figure(s.file_syncs_per_op, "")
            );
        }
    }
    println!(
        "convergence: {} replicas and {} fingerprints checked, {} divergences; undelivered {}, unanswered {}",
        r.replicas_checked,
        r.fingerprints_checked,
        r.divergences,
        r.undelivered_ops,
        r.unanswered_ops
    );
    if r.errors.is_empty() {
        println!("errors: none");
    } else {
        println!("errors: {:?}", r.errors);
    }
    println!("{}", if r.ok { "OK" } else { "FAILED" });
}
