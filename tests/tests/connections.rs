//! Every connection is bounded: a socket that sends nothing, half a
//! request header, or one request and then idles is closed; one address
//! holds a bounded number of sockets; shutdown does not wait for a
//! half-sent request; a client that stops reading loses its socket.

use std::time::Duration;

use cartroom_e2e::{ServerProcess, TestServer, sign_up};
use cartroom_protocol::{ClientMsg, MemberRole, Op};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest the test waits for the server to close a socket.
const PATIENCE: Duration = Duration::from_secs(15);

fn addr(base_url: &str) -> &str {
    base_url.trim_start_matches("http://")
}

/// Reads until the server closes the socket (EOF or reset); false if it is
/// still open after [`PATIENCE`].
async fn closed_by_server(socket: &mut TcpStream) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    let read_all = async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_all).await.is_ok()
}

#[tokio::test]
async fn silent_half_sent_and_idle_connections_are_closed() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.header_read_timeout_secs = 1).await?;
    let addr = addr(&server.base_url);
    let mut silent = TcpStream::connect(addr).await?;
    let mut half = TcpStream::connect(addr).await?;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: cartroom\r\n")
        .await?;
    let mut idle = TcpStream::connect(addr).await?;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: cartroom\r\n\r\n")
        .await?;
    assert!(
        closed_by_server(&mut silent).await,
        "a silent socket stays open"
    );
    assert!(
        closed_by_server(&mut half).await,
        "half a header keeps a socket open"
    );
    assert!(
        closed_by_server(&mut idle).await,
        "an idle kept-alive socket stays open"
    );
    Ok(())
}

#[tokio::test]
async fn one_address_holds_a_bounded_number_of_sockets() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.max_connections_per_ip = 3).await?;
    let addr = addr(&server.base_url);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await?);
    }
    let mut over = TcpStream::connect(addr).await?;
    assert!(
        closed_by_server(&mut over).await,
        "a fourth socket from one address is served"
    );
    drop(held.pop());
    // The freed place is taken again once the server has seen the close.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Ok(resp) = reqwest::get(format!("{}/healthz", server.base_url)).await {
            assert_eq!(resp.status(), 200);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_half_sent_request() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server =
        ServerProcess::start_with_args(dir.path(), &["--header-read-timeout-secs", "600"]).await?;
    let mut half = TcpStream::connect(addr(&server.base_url)).await?;
    half.write_all(b"POST /api/carts HTTP/1.1\r\nHost: cartroom\r\n")
        .await?;
    let status = server.terminate().await?;
    assert!(status.success(), "exit status {status}");
    assert!(closed_by_server(&mut half).await);
    Ok(())
}

/// The inode of the server's side of the TCP connection from local port
/// `client_port` to `server_port`, from `/proc/<pid>/net/tcp`.
fn server_socket_inode(
    pid: u32,
    server_port: u16,
    client_port: u16,
) -> anyhow::Result<Option<u64>> {
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp"))?;
    for row in table.lines().skip(1) {
        let fields: Vec<&str> = row.split_whitespace().collect();
        let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next().unwrap_or(""), 16).ok();
        if port(fields[1]) == Some(server_port) && port(fields[2]) == Some(client_port) {
            return Ok(Some(fields[9].parse()?));
        }
    }
    Ok(None)
}

/// Whether the process holds a file descriptor on socket `inode`.
fn holds_socket(pid: u32, inode: u64) -> anyhow::Result<bool> {
    let wanted = format!("socket:[{inode}]");
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        match std::fs::read_link(entry?.path()) {
            Ok(target) if target.to_string_lossy() == wanted => return Ok(true),
            Ok(_) => {}
            // Closed since the listing (the very socket, at the end).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(false)
}

#[tokio::test]
async fn a_client_that_stops_reading_loses_its_socket() -> anyhow::Result<()> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path()).await?;
    let pid = server.pid().expect("running");
    let ana = sign_up(&server.base_url, "Ana").await?;
    let cart = ana.create_cart("Busy").await?;
    let mut editors = Vec::new();
    for name in ["Ben", "Cleo", "Dan", "Eve"] {
        let editor = sign_up(&server.base_url, name).await?;
        ana.add_member(cart, editor.email.as_deref().unwrap(), MemberRole::Editor)
            .await?;
        let mut conn = editor.connect().await?;
        conn.subscribe(cart).await?;
        editors.push(conn);
    }

    // A watcher with a small receive buffer that subscribes and never reads.
    let server_addr: std::net::SocketAddr = addr(&server.base_url).parse()?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let tcp = socket.connect(server_addr).await?;
    let client_port = tcp.local_addr()?.port();
    let mut request = format!("ws://{server_addr}/ws").into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {}", ana.token).parse()?);
    let (mut watcher, _) = tokio_tungstenite::client_async(request, tcp).await?;
    let subscribe = serde_json::to_string(&ClientMsg::Subscribe {
        cart_id: cart,
        heads: None,
        stream: None,
    })?;
    futures_util::SinkExt::send(&mut watcher, subscribe.into()).await?;
    let inode = server_socket_inode(pid, server_addr.port(), client_port)?
        .expect("the server's side of the watcher's socket");
    assert!(holds_socket(pid, inode)?);

    // Big notes, within each editor's rate limit, until the watcher's
    // queue overflows and the server lets go of its socket.
    let note = "n".repeat(480);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut pace = tokio::time::interval(Duration::from_millis(25));
    let mut round = 0;
    while holds_socket(pid, inode)? {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still holds the socket of a client that stopped reading"
        );
        pace.tick().await;
        round += 1;
        for (i, conn) in editors.iter_mut().enumerate() {
            let op = Op::SetCartNote {
                note: format!("{round}-{i}-{note}"),
            };
            conn.op(cart, op).await?.acked()?;
        }
    }
    drop(watcher);
    server.terminate().await?;
    Ok(())
}
