//! The `cartroom` binary: parse the configuration, set up logging, bind,
//! and run until Ctrl-C or SIGTERM.

use clap::Parser;
use mimalloc::MiMalloc;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// mimalloc returns freed memory to the system (glibc's arenas kept the
/// 19 MiB of every argon2 hash for good) and is faster for many small
/// allocations.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = cartroom::Config::parse();
    let filter = EnvFilter::try_from_env("CARTROOM_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr: stdout carries only the "listening on" line, and a
    // reader that stops draining stdout must not block the server.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    let listen = config.listen;
    let data_dir = config.data_dir.clone();
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    // Everything that can refuse to start does so before the listening line.
    let server = cartroom::Server::start(config, shutdown).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    // Tests and the load tester read this line to find the port.
    println!("listening on http://{addr}");
    tracing::info!(%addr, data_dir = %data_dir.display(), "cartroom started");
    server.serve(listener).await;
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    shutdown.cancel();
}
