//! The subscription streams end to end (`docs/protocol.md` section 3,
//! "Streams"): the real server, real sockets. `compact` carries what
//! `changes` does in one kind-3 frame per change; `view` keeps a JSON view
//! current with patches; change frames queued together leave as one; a
//! `stream` the server does not know is refused.

use cartroom_client::chunks::split_chunks;
use cartroom_client::{Connection, Event};
use cartroom_e2e::{TestServer, admin_and_member};
use cartroom_protocol::frame::Record;
use cartroom_protocol::{
    ActivityEvent, BinaryFrame, CartId, ClientMsg, ErrorCode, FrameKind, LineId, MemberRole, Op,
    OpId, ServerMsg, StreamKind, SyncPayload,
};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

/// A few ops of different kinds, each making one change.
fn some_ops() -> Vec<Op> {
    let mug = || LineId("MUG-BLUE".into());
    vec![
        add("MUG-BLUE", 2),
        add("TEA-GREEN", 1),
        Op::ChangeQuantity {
            line_id: mug(),
            delta: 3,
        },
        Op::SetLineNote {
            line_id: mug(),
            note: "the big ones".into(),
        },
        Op::Suggest {
            sku: "COFFEE-BEANS".into(),
            quantity: 1,
            note: None,
        },
        Op::RemoveLine {
            line_id: LineId("TEA-GREEN".into()),
        },
        Op::Rename {
            name: "Picnic".into(),
        },
        Op::SetCartNote {
            note: "by Friday".into(),
        },
    ]
}

/// What one receiver was sent of the cart's changes: each change's bytes
/// and each change's activity event, in order.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    changes: Vec<Vec<u8>>,
    activity: Vec<ActivityEvent>,
    /// Binary frames of each kind.
    frames: Vec<FrameKind>,
}

/// Reads until `count` changes and their activity have arrived.
async fn collect(conn: &mut Connection, cart: CartId, count: usize) -> anyhow::Result<Seen> {
    let mut seen = Seen::default();
    while seen.changes.len() < count || seen.activity.len() < count {
        match conn.next_event().await? {
            Event::Changes { cart: c } if c == cart => {
                let (kind, _, payload) = conn.last_frame().expect("a frame was read");
                seen.frames.push(kind);
                seen.changes
                    .extend(split_chunks(payload)?.into_iter().map(<[u8]>::to_vec));
            }
            Event::Msg(ServerMsg::Activity { cart_id, event }) if cart_id == cart => {
                seen.activity.push(event);
            }
            Event::Closed { code, reason } => anyhow::bail!("closed: {code:?} {reason}"),
            _ => {}
        }
    }
    Ok(seen)
}

#[tokio::test]
async fn compact_frames_carry_the_changes_and_activity_of_the_changes_stream() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut a = ana.connect().await?;
    let mut v1 = ben.connect().await?;
    let mut compact = ben.connect().await?;
    a.subscribe(cart).await?;
    v1.subscribe(cart).await?;
    let joined = compact.subscribe_to(cart, StreamKind::Compact).await?;
    assert_eq!(joined.payload, SyncPayload::Document);

    let ops = some_ops();
    for op in ops.clone() {
        a.op(cart, op).await?.acked()?;
    }
    let by_v1 = collect(&mut v1, cart, ops.len()).await?;
    let by_compact = collect(&mut compact, cart, ops.len()).await?;
    assert_eq!(by_compact.changes, by_v1.changes);
    assert_eq!(by_compact.activity, by_v1.activity);
    assert!(by_v1.frames.iter().all(|k| *k == FrameKind::Changes));
    assert!(by_compact.frames.iter().all(|k| *k == FrameKind::Change));
    // Both replicas are the server's document.
    let heads = ana.cart(cart).await?.view.heads.sorted();
    assert_eq!(v1.heads_hex(cart).sorted(), heads);
    assert_eq!(compact.heads_hex(cart).sorted(), heads);

    // A compact subscriber's own op: its change, then the ack.
    let op_id = compact.fresh_op_id();
    compact
        .send(&ClientMsg::Op {
            cart_id: cart,
            op_id: op_id.clone(),
            op: add("MUG-RED", 1),
        })
        .await?;
    match compact.next_event().await? {
        Event::Changes { cart: c } => assert_eq!(c, cart),
        other => panic!("expected the change first, got {other:?}"),
    }
    assert!(matches!(
        compact.next_event().await?,
        Event::Msg(ServerMsg::Activity { event, .. }) if event.kind == "add_line"
    ));
    assert!(matches!(
        compact.next_event().await?,
        Event::Msg(ServerMsg::Ack { op_id: acked, .. }) if acked == op_id
    ));
    Ok(())
}

#[tokio::test]
async fn a_view_subscriber_patches_its_view_into_the_servers() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    a_line(&ana, cart).await?;
    let mut a = ana.connect().await?;
    let mut b = ben.connect().await?;
    a.subscribe(cart).await?;
    let joined = b.subscribe_to(cart, StreamKind::View).await?;
    assert_eq!(joined.payload, SyncPayload::View);
    let first = b.view(cart).expect("the view after subscribed").clone();
    assert_eq!(first, serde_json::to_value(ana.cart(cart).await?.view)?);

    let ops = some_ops();
    let mut heads = None;
    for op in ops.clone() {
        heads = Some(a.op(cart, op).await?.acked()?);
    }
    let heads = heads.expect("ops were sent");
    let mut patches = 0;
    while patches < ops.len() {
        match b.next_event().await? {
            Event::Msg(ServerMsg::ViewPatch {
                cart_id, activity, ..
            }) => {
                assert_eq!(cart_id, cart);
                assert_eq!(activity.user_id, ana.user_id);
                patches += 1;
            }
            Event::Changes { .. } => panic!("a view subscriber was sent Automerge bytes"),
            Event::Msg(ServerMsg::Activity { .. }) => {
                panic!("a change's activity came apart from its patch")
            }
            _ => {}
        }
    }
    let view = b.view(cart).expect("the patched view");
    assert_eq!(view["heads"], serde_json::to_value(&heads)?);
    assert_eq!(view, &serde_json::to_value(ana.cart(cart).await?.view)?);
    assert_ne!(view, &first);

    // A view subscriber edits too: its patch, then its ack.
    let op_id = b.fresh_op_id();
    b.send(&ClientMsg::Op {
        cart_id: cart,
        op_id: op_id.clone(),
        op: add("MUG-RED", 2),
    })
    .await?;
    assert!(matches!(
        b.next_event().await?,
        Event::Msg(ServerMsg::ViewPatch { activity, .. }) if activity.user_id == ben.user_id
    ));
    assert!(matches!(
        b.next_event().await?,
        Event::Msg(ServerMsg::Ack { op_id: acked, .. }) if acked == op_id
    ));
    let view = b.view(cart).expect("the patched view");
    assert_eq!(view, &serde_json::to_value(ana.cart(cart).await?.view)?);
    Ok(())
}

/// A line added over HTTP, so that a cart is not empty when watched.
async fn a_line(account: &cartroom_client::Account, cart: CartId) -> anyhow::Result<()> {
    let mut conn = account.connect().await?;
    conn.subscribe(cart).await?;
    conn.op(cart, add("COFFEE-BEANS", 1)).await?.acked()?;
    conn.close().await;
    Ok(())
}

/// A raw socket of `account` to the test server, past `hello`.
async fn raw_socket(
    server: &TestServer,
    account: &cartroom_client::Account,
) -> anyhow::Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let url = server.base_url.replace("http://", "ws://") + "/ws";
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", account.token).parse()?,
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let hello = ws.next().await.expect("hello")?;
    assert!(hello.to_text()?.contains(r#""type":"hello""#));
    Ok(ws)
}

#[tokio::test]
async fn changes_sent_back_to_back_arrive_in_order_however_merged() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut b = ben.connect().await?;
    b.subscribe_to(cart, StreamKind::Compact).await?;
    let mut a = raw_socket(&server, &ana).await?;
    let subscribe = ClientMsg::Subscribe {
        cart_id: cart,
        heads: None,
        stream: Some(StreamKind::Compact),
    };
    a.send(Message::text(serde_json::to_string(&subscribe)?))
        .await?;

    // Ops sent back to back, without waiting: their commits complete
    // together, and their frames to Ben may be merged (how many is up to
    // scheduling; the writer's unit tests pin the merging itself).
    let count = 40;
    let ids: Vec<String> = (0..count).map(|i| format!("burst-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let op = ClientMsg::Op {
            cart_id: cart,
            op_id: OpId(id.clone()),
            op: Op::SetCartNote {
                note: format!("note {i}"),
            },
        };
        a.feed(Message::text(serde_json::to_string(&op)?)).await?;
    }
    a.flush().await?;

    let mut op_ids = Vec::new();
    let mut notes = Vec::new();
    while op_ids.len() < count || notes.len() < count {
        match b.next_event().await? {
            Event::Changes { cart: c } => {
                assert_eq!(c, cart);
                let (kind, _, payload) = b.last_frame().expect("a frame");
                assert_eq!(kind, FrameKind::Change);
                let infos = cartroom_client::chunks::change_infos(payload)?;
                op_ids.extend(infos.into_iter().filter_map(|info| info.op_id));
            }
            Event::Msg(ServerMsg::Activity { event, .. }) => notes.push(event),
            _ => {}
        }
    }
    // Every change, in the order the ops were sent (one sender: commit
    // order), each with its activity event.
    assert_eq!(op_ids, ids);
    assert!(notes.iter().all(|e| e.kind == "set_cart_note"));
    assert!(notes.windows(2).all(|w| w[0].seq < w[1].seq));
    Ok(())
}

#[tokio::test]
async fn on_the_wire_a_compact_receiver_gets_one_record_per_change_and_no_activity_message()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut a = ana.connect().await?;
    a.subscribe(cart).await?;
    let mut b = raw_socket(&server, &ben).await?;
    let subscribe = ClientMsg::Subscribe {
        cart_id: cart,
        heads: None,
        stream: Some(StreamKind::Compact),
    };
    b.send(Message::text(serde_json::to_string(&subscribe)?))
        .await?;
    // subscribed, the document, Ben's presence.
    for _ in 0..3 {
        b.next().await.expect("the welcome")?;
    }
    a.op(cart, add("MUG-BLUE", 1)).await?.acked()?;
    a.op(cart, add("TEA-GREEN", 1)).await?.acked()?;
    // Nothing but kind-3 frames until both changes are in: no `activity`
    // message between or after them (two frames, or one if merged).
    let mut events = Vec::new();
    while events.len() < 2 {
        let frame = b.next().await.expect("the changes")?;
        let Message::Binary(bytes) = frame else {
            panic!("expected a binary frame, got {frame:?}");
        };
        let frame = BinaryFrame::decode(&bytes)?;
        assert_eq!(frame.kind, FrameKind::Change);
        assert_eq!(frame.cart_id, cart);
        for record in Record::decode_all(frame.payload)? {
            assert_eq!(split_chunks(record.change)?.len(), 1);
            events.push(record.activity_event()?);
        }
    }
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["add_line", "add_line"]);
    assert!(events.iter().all(|e| e.user_id == ana.user_id));
    assert!(events[1].text.contains("Green"), "{:?}", events[1].text);
    Ok(())
}

#[tokio::test]
async fn an_unknown_stream_is_a_bad_message_and_a_view_takes_no_heads() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, _ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut a = ana.connect().await?;
    for stream in [r#""firehose""#, "3", r#""View""#, r#"["view"]"#] {
        let text = format!(r#"{{"type":"subscribe","cart_id":"{cart}","stream":{stream}}}"#);
        a.send_text(text).await?;
        match a.next_event().await? {
            Event::Msg(ServerMsg::Error {
                code,
                cart_id,
                message,
                ..
            }) => {
                assert_eq!(code, ErrorCode::BadMessage, "stream {stream}: {message}");
                assert_eq!(cart_id, Some(cart));
            }
            other => panic!("stream {stream}: expected an error, got {other:?}"),
        }
    }
    let heads = a.heads_hex(cart);
    a.send(&ClientMsg::Subscribe {
        cart_id: cart,
        heads: Some(heads),
        stream: Some(StreamKind::View),
    })
    .await?;
    match a.next_event().await? {
        Event::Msg(ServerMsg::Error { code, cart_id, .. }) => {
            assert_eq!(code, ErrorCode::InvalidField);
            assert_eq!(cart_id, Some(cart));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    Ok(())
}
