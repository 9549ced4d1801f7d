//! Protocol v1 as `docs/protocol.md` writes it, from a client's side: what
//! an outside client author relies on, one test per promise.

use std::collections::HashSet;
use std::time::Duration;

use cartroom_client::{Event, OpOutcome};
use cartroom_e2e::{TestServer, admin_and_member};
use cartroom_protocol::{
    CartId, ClientMsg, ErrorCode, MemberRole, Op, OpId, ServerMsg, SuggestionId,
};
use serde_json::{Value, json};

fn add(sku: &str) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity: 1,
    }
}

/// The answers to ops `op_ids` on one connection, in the order they came.
async fn answers(
    conn: &mut cartroom_client::Connection,
    op_ids: &HashSet<OpId>,
) -> anyhow::Result<Vec<(OpId, Result<(), ErrorCode>)>> {
    let mut answers = Vec::new();
    while answers.len() < op_ids.len() {
        match conn.next_event().await? {
            Event::Msg(ServerMsg::Ack { op_id, .. }) if op_ids.contains(&op_id) => {
                answers.push((op_id, Ok(())));
            }
            Event::Msg(ServerMsg::Error {
                code,
                op_id: Some(op_id),
                ..
            }) if op_ids.contains(&op_id) => answers.push((op_id, Err(code))),
            _ => {}
        }
    }
    Ok(answers)
}

/// Sends `subscribe` and `op` for every cart back to back, without waiting
/// for `subscribed`; every op must be acked.
async fn pipeline(
    conn: &mut cartroom_client::Connection,
    carts: &[CartId],
    round: &str,
) -> anyhow::Result<()> {
    let mut op_ids = HashSet::new();
    for (i, cart) in carts.iter().enumerate() {
        let op_id = OpId(format!("{round}-{i}"));
        conn.send(&ClientMsg::Subscribe {
            cart_id: *cart,
            heads: None,
            stream: None,
        })
        .await?;
        conn.send(&ClientMsg::Op {
            cart_id: *cart,
            op_id: op_id.clone(),
            op: add("CHIPS"),
        })
        .await?;
        op_ids.insert(op_id);
    }
    for (op_id, answer) in answers(conn, &op_ids).await? {
        assert_eq!(answer, Ok(()), "{op_id} was not acked");
    }
    Ok(())
}

#[tokio::test]
async fn an_op_sent_right_behind_its_subscribe_is_acked() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    // 32 pairs are 64 messages, within the connection's burst; two
    // connections of 32 subscriptions each are the user's 64 (a shopper's
    // subscriptions are counted across their connections).
    let mut carts = Vec::new();
    for i in 0..32 {
        carts.push(ana.create_cart(&format!("Cart {i}")).await?);
    }
    // Cold rooms: each loads while its subscribe and op wait.
    let mut cold = ana.connect().await?;
    pipeline(&mut cold, &carts, "cold").await?;
    // Loaded rooms, busy with the first connection's subscriptions.
    let mut loaded = ana.connect().await?;
    pipeline(&mut loaded, &carts, "loaded").await?;
    Ok(())
}

#[tokio::test]
async fn a_malformed_op_is_answered_with_its_op_id_and_cart_id() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Typos").await?;
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    let ops = [
        json!({"kind": "add_lines", "sku": "CHIPS", "quantity": 1}),
        json!({"kind": "add_line", "sku": "CHIPS", "quantity": "2"}),
        json!({"kind": "add_line", "sku": "CHIPS"}),
        json!({"kind": "add_line", "sku": "CHIPS", "quantity": 1, "colour": "red"}),
    ];
    for (i, op) in ops.into_iter().enumerate() {
        let op_id = format!("bad-{i}");
        let msg = json!({"type": "op", "cart_id": cart, "op_id": op_id, "op": op});
        conn.send_text(msg.to_string()).await?;
        loop {
            if let Event::Msg(ServerMsg::Error {
                code,
                cart_id,
                op_id: answered,
                ..
            }) = conn.next_event().await?
            {
                assert_eq!(code, ErrorCode::BadMessage, "{msg}");
                assert_eq!(cart_id, Some(cart), "{msg}");
                assert_eq!(answered, Some(OpId(op_id)), "{msg}");
                break;
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn ping_echoes_any_scalar_nonce() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let mut conn = ana.connect().await?;
    for nonce in [json!("abc-1"), json!(7), json!(-1.5), json!(true)] {
        conn.send_text(json!({"type": "ping", "nonce": nonce}).to_string())
            .await?;
        loop {
            if let Event::Msg(ServerMsg::Pong { nonce: echoed }) = conn.next_event().await? {
                assert_eq!(echoed, Some(nonce.clone()));
                break;
            }
        }
    }
    for nonce in [json!({"a": 1}), json!([1]), Value::String("x".repeat(65))] {
        conn.send_text(json!({"type": "ping", "nonce": nonce}).to_string())
            .await?;
        loop {
            match conn.next_event().await? {
                Event::Msg(ServerMsg::Error { code, .. }) => {
                    assert_eq!(code, ErrorCode::InvalidField, "{nonce}");
                    break;
                }
                Event::Msg(ServerMsg::Pong { .. }) => panic!("{nonce} was echoed"),
                _ => {}
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn hello_states_the_version_and_the_features() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    // The client library reads `hello` itself; a raw socket shows it whole.
    let url = format!("{}/ws", server.base_url.replacen("http", "ws", 1));
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {}", ana.token).parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let first = futures_util::StreamExt::next(&mut ws)
        .await
        .expect("a first message")?;
    let hello: ServerMsg = serde_json::from_str(first.to_text()?)?;
    let ServerMsg::Hello {
        protocol,
        server: name,
        features,
        ..
    } = hello
    else {
        panic!("the first message is not hello: {hello:?}");
    };
    assert_eq!(protocol, 1);
    assert!(name.starts_with("cartroom/"), "{name}");
    for feature in cartroom_protocol::FEATURES {
        assert!(features.iter().any(|f| f == feature), "{feature} missing");
    }
    Ok(())
}

#[tokio::test]
async fn chat_arrives_with_the_seq_of_its_activity_entry() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Viewer).await?;
    let mut a = ana.connect().await?;
    a.subscribe(cart).await?;
    let mut b = ben.connect().await?;
    b.subscribe(cart).await?;
    b.send(&ClientMsg::Chat {
        cart_id: cart,
        text: "milk?".into(),
    })
    .await?;
    let seq = loop {
        if let Event::Msg(ServerMsg::Chat { seq, text, .. }) = a.next_event().await? {
            assert_eq!(text, "milk?");
            break seq;
        }
    };
    let feed = ana.activity(cart).await?;
    let entry = feed
        .iter()
        .find(|e| e.seq == seq)
        .expect("the chat's seq in the feed");
    assert_eq!(entry.kind, "chat");
    assert_eq!(entry.text, "Ben: milk?");
    Ok(())
}

#[tokio::test]
async fn the_ack_of_a_suggestion_names_the_suggestion() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, kid, cart) = admin_and_member(&server, "Kid", MemberRole::Viewer).await?;
    let mut k = kid.connect().await?;
    k.subscribe(cart).await?;
    let suggest = Op::Suggest {
        sku: "CHIPS".into(),
        quantity: 2,
        note: None,
    };
    let OpOutcome::Acked {
        created: Some(id), ..
    } = k.op(cart, suggest.clone()).await?
    else {
        panic!("the ack names no suggestion");
    };
    let view = ana.cart(cart).await?.view;
    assert_eq!(view.suggestions[0].suggestion_id, id);
    // The same over HTTP; and the id is what votes and accepts take.
    let answer = kid.http_op(cart, &OpId("http-1".into()), &suggest).await?;
    let second = answer.created.expect("an id over HTTP too");
    let mut a = ana.connect().await?;
    a.subscribe(cart).await?;
    a.op(
        cart,
        Op::AcceptSuggestion {
            suggestion_id: SuggestionId(second),
        },
    )
    .await?
    .acked()?;
    Ok(())
}

#[tokio::test]
async fn looking_up_a_missing_product_is_404() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    for path in ["/api/catalog/NOPE", "/images/NOPE.svg"] {
        let resp = reqwest::get(format!("{}{path}", server.base_url)).await?;
        assert_eq!(resp.status(), 404, "{path}");
        let body: cartroom_protocol::http::ErrorBody = resp.json().await?;
        assert_eq!(body.error.code, ErrorCode::UnknownSku, "{path}");
    }
    Ok(())
}

#[tokio::test]
async fn no_seed_on_an_empty_data_dir_refuses_before_listening() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let run = tokio::process::Command::new(cartroom_e2e::cartroom_bin()?)
        .args(["--listen", "127.0.0.1:0", "--no-seed", "--data-dir"])
        .arg(dir.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run).await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it started: {stdout}");
    assert!(
        !stdout.contains("listening"),
        "it said it listens: {stdout}"
    );
    assert!(
        stderr.contains("without --no-seed"),
        "the error does not say what to do: {stderr}"
    );
    Ok(())
}
