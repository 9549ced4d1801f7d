//! Malformed, oversized, unauthenticated and hostile input is answered as
//! `docs/protocol.md` says, and the server keeps serving everyone else.

use std::time::Duration;

use cartroom_client::{ConnectOptions, Event, api_error};
use cartroom_e2e::TestServer;
use cartroom_protocol::{CartId, ClientMsg, ErrorCode, Op, ServerMsg};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, http};

async fn next_error(conn: &mut cartroom_client::Connection) -> anyhow::Result<(ErrorCode, String)> {
    loop {
        if let Event::Msg(ServerMsg::Error { code, message, .. }) = conn.next_event().await? {
            return Ok((code, message));
        }
    }
}

async fn next_close(conn: &mut cartroom_client::Connection) -> anyhow::Result<Option<u16>> {
    loop {
        if let Event::Closed { code, .. } = conn.next_event().await? {
            return Ok(code);
        }
    }
}

#[tokio::test]
async fn malformed_messages_get_an_error_and_the_connection_stays_usable() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Robust").await?;
    let mut conn = ana.connect().await?;
    let cases = [
        "not json at all",
        "{\"type\":\"explode\"}",
        "{\"type\":\"subscribe\"}",
        "{\"type\":\"op\",\"cart_id\":\"not-a-uuid\",\"op_id\":\"x\",\"op\":{\"kind\":\"add_line\"}}",
        "[1,2,3]",
        "{\"type\":\"ping\",\"nonce\":1,\"extra\":1}",
    ];
    for text in cases {
        conn.send_text(text.into()).await?;
        let (code, message) = next_error(&mut conn).await?;
        assert_eq!(code, ErrorCode::BadMessage, "{text}: {message}");
    }
    conn.ping().await?;
    conn.subscribe(cart).await?;

    // Field bounds and unknown things are refused with their own codes.
    let refusals = [
        (
            Op::AddLine {
                sku: "NO-SUCH".into(),
                quantity: 1,
            },
            ErrorCode::UnknownSku,
        ),
        (
            Op::AddLine {
                sku: "KETTLE".into(),
                quantity: 0,
            },
            ErrorCode::QuantityOutOfRange,
        ),
        (
            Op::AddLine {
                sku: "KETTLE".into(),
                quantity: 1000,
            },
            ErrorCode::QuantityOutOfRange,
        ),
        (
            Op::SetCartNote {
                note: "n".repeat(501),
            },
            ErrorCode::InvalidField,
        ),
        (
            Op::RemoveLine {
                line_id: cartroom_protocol::LineId("KETTLE".into()),
            },
            ErrorCode::LineNotFound,
        ),
    ];
    for (op, code) in refusals {
        let outcome = conn.op(cart, op.clone()).await?;
        assert!(
            matches!(&outcome, cartroom_client::OpOutcome::Refused { code: c, .. } if *c == code),
            "{op:?} gave {outcome:?}"
        );
    }
    let long_id = cartroom_protocol::OpId("x".repeat(65));
    let outcome = conn
        .op_with_id(
            cart,
            long_id,
            Op::SetCartNote {
                note: String::new(),
            },
        )
        .await?;
    assert!(matches!(
        outcome,
        cartroom_client::OpOutcome::Refused {
            code: ErrorCode::InvalidField,
            ..
        }
    ));

    // A cart this socket has not subscribed to, and one that does not exist.
    let other = CartId::new_random();
    let op_id = conn.fresh_op_id();
    conn.send(&ClientMsg::Op {
        cart_id: other,
        op_id,
        op: Op::SetCartNote {
            note: String::new(),
        },
    })
    .await?;
    assert_eq!(next_error(&mut conn).await?.0, ErrorCode::NotSubscribed);
    let err = conn.subscribe(other).await.unwrap_err();
    assert!(err.to_string().contains("cart_not_found"), "{err:#}");
    assert_eq!(ana.cart(cart).await?.view.lines.len(), 0);
    Ok(())
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009_and_others_are_unaffected() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Big").await?;
    let mut bystander = ana.connect().await?;
    bystander.subscribe(cart).await?;

    let mut conn = ana.connect().await?;
    let huge = format!(
        "{{\"type\":\"chat\",\"cart_id\":\"{cart}\",\"text\":\"{}\"}}",
        "x".repeat(70 * 1024)
    );
    conn.send_text(huge).await?;
    assert_eq!(next_close(&mut conn).await?, Some(1009));

    let mut binary = ana.connect().await?;
    binary.send_binary(vec![1, 2, 3]).await?;
    assert_eq!(next_close(&mut binary).await?, Some(1002));

    bystander.ping().await?;
    bystander
        .op(
            cart,
            Op::AddLine {
                sku: "KETTLE".into(),
                quantity: 1,
            },
        )
        .await?
        .acked()?;
    Ok(())
}

#[tokio::test]
async fn a_message_many_times_the_read_buffer_but_within_the_bound_is_read_whole()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Padded").await?;
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    let op = serde_json::to_string(&ClientMsg::Op {
        cart_id: cart,
        op_id: cartroom_protocol::OpId("padded-1".into()),
        op: Op::AddLine {
            sku: "KETTLE".into(),
            quantity: 1,
        },
    })?;
    // JSON whitespace: 60 KiB of it, where the server reads 2 KiB at a time.
    let padded = format!("{{{}{}", " ".repeat(60 * 1024), &op[1..]);
    conn.send_text(padded).await?;
    loop {
        match conn.next_event().await? {
            Event::Msg(ServerMsg::Ack { op_id, .. }) => {
                assert_eq!(op_id.0, "padded-1");
                break;
            }
            Event::Msg(ServerMsg::Error { code, message, .. }) => {
                anyhow::bail!("refused: {code:?} {message}")
            }
            _ => {}
        }
    }
    assert_eq!(ana.cart(cart).await?.view.lines.len(), 1);
    Ok(())
}

#[tokio::test]
async fn flooding_is_rate_limited_then_closed_with_4029() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let mut conn = ana
        .connect_with(&ConnectOptions {
            max_buffered_events: 100_000,
            ..Default::default()
        })
        .await?;
    for i in 0..400u64 {
        conn.send(&ClientMsg::Ping {
            nonce: Some(i.into()),
        })
        .await?;
    }
    let (mut limited, mut pongs) = (0, 0);
    let close = loop {
        match conn.next_event().await? {
            Event::Msg(ServerMsg::Error {
                code: ErrorCode::RateLimited,
                ..
            }) => limited += 1,
            Event::Msg(ServerMsg::Pong { .. }) => pongs += 1,
            Event::Closed { code, reason } => break (code, reason),
            _ => {}
        }
    };
    assert!(
        pongs >= 100,
        "the burst is served ({pongs} pongs, {limited} limited, close {close:?})"
    );
    assert!(limited >= 1, "then messages are refused with rate_limited");
    assert_eq!(close.0, Some(4029), "{close:?}");
    // The account can still connect and work.
    ana.connect().await?.ping().await?;
    Ok(())
}

fn ws_request(
    server: &TestServer,
    token: Option<&str>,
    origin: Option<&str>,
) -> anyhow::Result<http::Request<()>> {
    let url = format!("{}/ws", server.base_url.replacen("http", "ws", 1));
    let mut req = url.into_client_request()?;
    if let Some(token) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
    }
    if let Some(origin) = origin {
        req.headers_mut().insert("origin", origin.parse()?);
    }
    Ok(req)
}

async fn handshake_status(req: http::Request<()>) -> Option<u16> {
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => None,
        Err(tungstenite::Error::Http(resp)) => Some(resp.status().as_u16()),
        Err(e) => panic!("unexpected handshake error {e}"),
    }
}

#[tokio::test]
async fn the_handshake_needs_a_session_and_an_allowed_origin() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    assert_eq!(
        handshake_status(ws_request(&server, None, None)?).await,
        Some(401)
    );
    assert_eq!(
        handshake_status(ws_request(&server, Some("forged"), None)?).await,
        Some(401)
    );
    let evil = ws_request(&server, Some(&ana.token), Some("https://evil.example"))?;
    assert_eq!(handshake_status(evil).await, Some(403));
    let own_origin = server.base_url.clone();
    assert_eq!(
        handshake_status(ws_request(&server, Some(&ana.token), Some(&own_origin))?).await,
        None
    );

    // A cookie session from a page without Origin is refused too.
    let url = format!("{}/ws", server.base_url.replacen("http", "ws", 1));
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("cookie", format!("cartroom_session={}", ana.token).parse()?);
    assert_eq!(handshake_status(req).await, Some(403));

    // Signing out ends live sockets of that session with 4001.
    let mut conn = ana.connect().await?;
    ana.sign_out().await?;
    assert_eq!(next_close(&mut conn).await?, Some(4001));
    let err = ana.me().await.unwrap_err();
    assert_eq!(api_error(&err).unwrap().status, 401);
    Ok(())
}

#[tokio::test]
async fn http_errors_carry_stable_codes() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cart = ana.create_cart("Codes").await?;
    let code = |e: anyhow::Error| api_error(&e).map(|a| (a.status, a.code.clone())).unwrap();

    let taken = cartroom_client::Account::sign_up(
        &server.base_url,
        ana.email.as_deref().unwrap(),
        "whatever123",
        "Ana2",
    )
    .await;
    assert_eq!(code(taken.unwrap_err()), (409, "email_taken".into()));
    let short =
        cartroom_client::Account::sign_up(&server.base_url, "x@example.com", "short", "X").await;
    assert_eq!(code(short.unwrap_err()), (400, "invalid_field".into()));
    assert_eq!(
        code(ben.cart(cart).await.unwrap_err()),
        (404, "cart_not_found".into())
    );
    assert_eq!(
        code(
            ana.add_member(
                cart,
                "nobody@example.com",
                cartroom_protocol::MemberRole::Viewer
            )
            .await
            .unwrap_err()
        ),
        (404, "user_not_found".into())
    );
    ana.add_member(
        cart,
        ben.email.as_deref().unwrap(),
        cartroom_protocol::MemberRole::Viewer,
    )
    .await?;
    let rename = ben
        .request(
            reqwest::Method::PATCH,
            &format!("/api/carts/{cart}"),
            Some(&serde_json::json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(code(rename.unwrap_err()), (403, "forbidden".into()));
    let big = serde_json::json!({"name": "x".repeat(100 * 1024)});
    let too_big = ana
        .request(reqwest::Method::POST, "/api/carts", Some(&big))
        .await;
    assert_eq!(api_error(&too_big.unwrap_err()).unwrap().status, 413);
    // Password guessing is slowed down per e-mail.
    let email = ben.email.as_deref().unwrap();
    let mut codes = Vec::new();
    for _ in 0..12 {
        let attempt =
            cartroom_client::Account::sign_in(&server.base_url, email, "not the password").await;
        codes.push(api_error(&attempt.unwrap_err()).unwrap().code.clone());
    }
    assert_eq!(
        codes.iter().filter(|c| *c == "bad_credentials").count(),
        10,
        "{codes:?}"
    );
    assert_eq!(codes.last().unwrap(), "rate_limited");
    let resp = reqwest::get(format!("{}/healthz", server.base_url)).await?;
    assert_eq!(resp.status(), 200);
    let metrics = reqwest::get(format!("{}/metrics", server.base_url))
        .await?
        .text()
        .await?;
    assert!(metrics.contains("cartroom_"), "{metrics}");
    tokio::time::timeout(Duration::from_secs(5), ana.me()).await??;
    Ok(())
}

#[tokio::test]
async fn a_full_server_refuses_new_sockets_with_503() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.max_connections = 1).await?;
    let ana = server.account("Ana").await?;
    let first = ana.connect().await?;
    assert_eq!(
        handshake_status(ws_request(&server, Some(&ana.token), None)?).await,
        Some(503)
    );
    first.close().await;
    Ok(())
}

/// Sends `frames` on a raw socket from a task of its own (the server may
/// stop reading them) and returns the close code the server sent.
async fn close_code_after(
    server: &TestServer,
    token: &str,
    frames: Vec<tungstenite::Message>,
) -> anyhow::Result<Option<u16>> {
    use futures_util::{SinkExt, StreamExt};
    let (ws, _) = tokio_tungstenite::connect_async(ws_request(server, Some(token), None)?).await?;
    let (mut sink, mut stream) = ws.split();
    let mut sender = tokio::spawn(async move {
        for frame in frames {
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    // Read only once the client is done sending, as a client with a
    // blocking send loop would: the close must still be there to read.
    let _ = tokio::time::timeout(Duration::from_secs(1), &mut sender).await;
    let code = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(msg) = stream.next().await {
            match msg {
                Ok(tungstenite::Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await?;
    sender.abort();
    Ok(code)
}

#[tokio::test]
async fn a_client_still_sending_reads_the_close_code_of_its_fault() -> anyhow::Result<()> {
    use tungstenite::Message;
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let text = |is_final| OpCode::Data(if is_final { Data::Text } else { Data::Continue });
    // 320 KB in 32 KB fragments: the limit is crossed while more is coming.
    let mut fragments = vec![Message::Frame(Frame::message(
        vec![b'x'; 32 * 1024],
        OpCode::Data(Data::Text),
        false,
    ))];
    for i in 1..10 {
        fragments.push(Message::Frame(Frame::message(
            vec![b'x'; 32 * 1024],
            text(false),
            i == 9,
        )));
    }
    let cases = [
        ("a fragmented 320 KB message", fragments, 1009),
        (
            "a 4 MB frame",
            vec![Message::Text("x".repeat(4 << 20).into())],
            1009,
        ),
        (
            "text that is not UTF-8",
            vec![Message::Frame(Frame::message(
                vec![0xff, 0xfe, 0xfd],
                OpCode::Data(Data::Text),
                true,
            ))],
            1007,
        ),
        (
            "a continuation with nothing to continue",
            vec![Message::Frame(Frame::message(
                b"x".to_vec(),
                OpCode::Data(Data::Continue),
                true,
            ))],
            1002,
        ),
    ];
    for (what, frames, code) in cases {
        assert_eq!(
            close_code_after(&server, &ana.token, frames).await?,
            Some(code),
            "{what}"
        );
    }
    Ok(())
}
