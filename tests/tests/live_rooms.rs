//! Live rooms end to end: real server, real sockets, clients with replicas.

use std::time::Duration;

use cartroom_client::{Event, OpOutcome, cart_view};
use cartroom_e2e::{TestServer, admin_and_member};
use cartroom_protocol::{
    ErrorCode, Heads, LineId, MemberRole, Op, OpId, ServerMsg, SuggestionId, SyncPayload,
};

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

/// Reads events until `pred` matches one; fails after a few seconds.
async fn expect_event(
    conn: &mut cartroom_client::Connection,
    what: &str,
    mut pred: impl FnMut(&Event) -> bool,
) -> anyhow::Result<Event> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match conn.next_event_timeout(left).await? {
            Some(ev) if pred(&ev) => return Ok(ev),
            Some(_) => continue,
            None => anyhow::bail!("timed out waiting for {what}"),
        }
    }
}

/// The cart's activity feed as sentences, oldest first.
async fn activity_texts(
    account: &cartroom_client::Account,
    cart: cartroom_protocol::CartId,
) -> anyhow::Result<Vec<String>> {
    let history = account.activity(cart).await?;
    Ok(history.into_iter().map(|e| e.text).collect())
}

/// Reads events until the connection's replica has `heads`.
async fn sync_to(
    conn: &mut cartroom_client::Connection,
    cart: cartroom_protocol::CartId,
    heads: &Heads,
) -> anyhow::Result<()> {
    let want = heads.sorted();
    while conn.heads_hex(cart) != want {
        conn.next_event().await?;
    }
    Ok(())
}

#[tokio::test]
async fn two_editors_converge_and_the_server_agrees() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut a = ana.connect().await?;
    let mut b = ben.connect().await?;
    assert_eq!(a.subscribe(cart).await?.role, MemberRole::Admin);
    assert_eq!(b.subscribe(cart).await?.role, MemberRole::Editor);

    // Both add the same product at the same time: both count.
    let (ra, rb) = tokio::join!(
        a.op(cart, add("MUG-BLUE", 2)),
        b.op(cart, add("MUG-BLUE", 3))
    );
    ra?.acked()?;
    rb?.acked()?;
    a.op(
        cart,
        Op::SetLineNote {
            line_id: LineId("MUG-BLUE".into()),
            note: "the big ones".into(),
        },
    )
    .await?
    .acked()?;
    // Concurrent increments of one line add up.
    let mug = || LineId("MUG-BLUE".into());
    let (ra, rb) = tokio::join!(
        a.op(
            cart,
            Op::ChangeQuantity {
                line_id: mug(),
                delta: 2
            }
        ),
        b.op(
            cart,
            Op::ChangeQuantity {
                line_id: mug(),
                delta: 1
            }
        )
    );
    ra?.acked()?;
    rb?.acked()?;
    let heads = b.op(cart, add("TEA-GREEN", 1)).await?.acked()?;
    sync_to(&mut a, cart, &heads).await?;

    let server_view = ana.cart(cart).await?.view;
    let view_a = cart_view(a.replica(cart).unwrap());
    let view_b = cart_view(b.replica(cart).unwrap());
    assert_eq!(view_a, view_b);
    assert_eq!(view_a.lines, server_view.lines);
    let mug = &server_view.lines[0];
    assert_eq!(mug.quantity, 8);
    assert_eq!(mug.note, "the big ones");
    assert_eq!(server_view.subtotal, 8 * 1200 + 650);

    // Remove versus increment: remove wins; the late increment is refused.
    let (removed, bumped) = tokio::join!(
        a.op(
            cart,
            Op::RemoveLine {
                line_id: LineId("TEA-GREEN".into())
            }
        ),
        b.op(
            cart,
            Op::ChangeQuantity {
                line_id: LineId("TEA-GREEN".into()),
                delta: 1
            }
        )
    );
    removed?.acked()?;
    let bumped = bumped?;
    let view = ana.cart(cart).await?.view;
    assert!(view.lines.iter().all(|l| l.sku != "TEA-GREEN"), "{view:?}");
    // Either the increment came first (and the removal still won), or it was refused.
    if let OpOutcome::Refused { code, .. } = bumped {
        assert_eq!(code, ErrorCode::LineNotFound);
    }
    Ok(())
}

#[tokio::test]
async fn a_viewer_is_refused_edits_but_its_suggestion_reaches_everyone() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (mum, kid, cart) = admin_and_member(&server, "Kid", MemberRole::Viewer).await?;
    let mut m = mum.connect().await?;
    let mut k = kid.connect().await?;
    m.subscribe(cart).await?;
    assert_eq!(k.subscribe(cart).await?.role, MemberRole::Viewer);
    let heads_before = m.heads_hex(cart);

    let refused = k.op(cart, add("CHIPS", 3)).await?;
    let OpOutcome::Refused { code, .. } = refused else {
        panic!("a viewer's edit was accepted: {refused:?}");
    };
    assert_eq!(code, ErrorCode::Forbidden);

    let heads = k
        .op(
            cart,
            Op::Suggest {
                sku: "CHIPS".into(),
                quantity: 3,
                note: Some("for the film".into()),
            },
        )
        .await?
        .acked()?;
    // The first change Mum sees is the suggestion: the refused edit was never broadcast.
    expect_event(&mut m, "the suggestion's change", |ev| {
        matches!(ev, Event::Changes { .. })
    })
    .await?;
    assert_eq!(m.heads_hex(cart), heads.sorted());
    assert_ne!(m.heads_hex(cart), heads_before);
    let view = cart_view(m.replica(cart).unwrap());
    assert!(view.lines.is_empty());
    let suggestion = &view.suggestions[0];
    assert_eq!(suggestion.by_name, "Kid");

    // Mum accepts it; it becomes a line.
    let id = SuggestionId(suggestion.suggestion_id.clone());
    let heads = m
        .op(cart, Op::AcceptSuggestion { suggestion_id: id })
        .await?
        .acked()?;
    sync_to(&mut k, cart, &heads).await?;
    let view = cart_view(k.replica(cart).unwrap());
    assert_eq!(view.lines[0].sku, "CHIPS");
    assert!(view.suggestions.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_demoted_editor_is_refused_at_once_and_a_removed_member_is_unsubscribed()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    // Ana watches the feed: an event is broadcast once it is saved.
    let mut a = ana.connect().await?;
    a.subscribe(cart).await?;
    let mut b = ben.connect().await?;
    b.subscribe(cart).await?;
    b.op(cart, add("KETTLE", 1)).await?.acked()?;

    ana.set_role(cart, ben.user_id, MemberRole::Viewer).await?;
    expect_event(&mut b, "role_changed", |ev| {
        matches!(
            ev,
            Event::Msg(ServerMsg::RoleChanged {
                role: MemberRole::Viewer,
                ..
            })
        )
    })
    .await?;
    let outcome = b.op(cart, add("KETTLE", 1)).await?;
    assert!(
        matches!(
            outcome,
            OpOutcome::Refused {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "{outcome:?}"
    );

    ana.remove_member(cart, ben.user_id).await?;
    expect_event(&mut b, "unsubscribed", |ev| {
        matches!(ev, Event::Msg(ServerMsg::Unsubscribed { reason, .. }) if reason == "removed")
    })
    .await?;
    let outcome = b
        .op(
            cart,
            Op::Suggest {
                sku: "KETTLE".into(),
                quantity: 1,
                note: None,
            },
        )
        .await?;
    assert!(
        matches!(
            outcome,
            OpOutcome::Refused {
                code: ErrorCode::NotSubscribed,
                ..
            }
        ),
        "{outcome:?}"
    );
    let err = b.subscribe(cart).await.unwrap_err();
    assert!(err.to_string().contains("cart_not_found"), "{err:#}");
    // Each membership change is in the cart's activity, in words. Ben's
    // socket heard of his removal before the feed's entry was saved; once
    // Ana's socket has it, the store has it too.
    expect_event(&mut a, "the removal in the feed", |ev| {
        matches!(ev, Event::Msg(ServerMsg::Activity { event, .. }) if event.text == "Ana removed Ben")
    })
    .await?;
    let texts = activity_texts(&ana, cart).await?;
    assert!(
        texts.iter().any(|t| t == "Ana added Ben as an editor"),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "Ana made Ben a viewer"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t == "Ana removed Ben"), "{texts:?}");
    // The last admin cannot leave the cart without one.
    let err = ana
        .set_role(cart, ana.user_id, MemberRole::Editor)
        .await
        .unwrap_err();
    assert_eq!(cartroom_client::api_error(&err).unwrap().code, "last_admin");
    Ok(())
}

#[tokio::test]
async fn reconnecting_with_heads_receives_only_the_missing_changes() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut a = ana.connect().await?;
    a.subscribe(cart).await?;
    for sku in ["MUG-BLUE", "MUG-RED", "KETTLE"] {
        a.op(cart, add(sku, 1)).await?.acked()?;
    }
    let mut b = ben.connect().await?;
    b.subscribe(cart).await?;
    let replica = b.take_replica(cart).unwrap();
    b.close().await;

    // While Ben is away, two more changes.
    a.op(cart, add("CANDLES", 2)).await?.acked()?;
    let heads = a
        .op(
            cart,
            Op::SetCartNote {
                note: "party on Saturday".into(),
            },
        )
        .await?
        .acked()?;

    let mut b = ben.connect().await?;
    b.insert_replica(cart, replica);
    let subscribed = b.subscribe(cart).await?;
    assert_eq!(subscribed.payload, SyncPayload::Changes);
    let (_, _, payload) = b.last_frame().unwrap();
    let missing = cartroom_client::chunks::change_infos(payload)?;
    assert_eq!(missing.len(), 2, "only the two missing changes travel");
    sync_to(&mut b, cart, &heads).await?;
    assert_eq!(
        cart_view(b.replica(cart).unwrap()),
        cart_view(a.replica(cart).unwrap())
    );

    // Unknown heads fall back to the whole document.
    let mut c = ben.connect().await?;
    c.insert_replica(cart, automerge::Automerge::new());
    c.send(&cartroom_protocol::ClientMsg::Subscribe {
        cart_id: cart,
        heads: Some(Heads(vec!["ab".repeat(32)])),
        stream: None,
    })
    .await?;
    let ev = expect_event(&mut c, "subscribed", |ev| {
        matches!(ev, Event::Msg(ServerMsg::Subscribed { .. }))
    })
    .await?;
    assert!(matches!(
        ev,
        Event::Msg(ServerMsg::Subscribed {
            payload: SyncPayload::Document,
            ..
        })
    ));
    Ok(())
}

#[tokio::test]
async fn a_retried_op_id_is_answered_not_applied_twice() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Retry").await?;
    let mut a = ana.connect().await?;
    a.subscribe(cart).await?;
    let id = OpId("retry-1".into());
    let first = a.op_with_id(cart, id.clone(), add("LEMONADE", 4)).await?;
    assert!(matches!(
        first,
        OpOutcome::Acked {
            duplicate: false,
            ..
        }
    ));
    let again = a.op_with_id(cart, id.clone(), add("LEMONADE", 4)).await?;
    assert!(
        matches!(
            again,
            OpOutcome::Acked {
                duplicate: true,
                ..
            }
        ),
        "{again:?}"
    );
    // The same id over HTTP is the same op.
    let http = ana.http_op(cart, &id, &add("LEMONADE", 4)).await?;
    assert!(http.duplicate);
    assert_eq!(ana.cart(cart).await?.view.lines[0].quantity, 4);

    // Remembered across a restart.
    a.close().await;
    let dir = server.stop().await?;
    let server = TestServer::start_in(dir.as_ref().unwrap().path(), None).await?;
    let ana = cartroom_e2e::sign_in_again(&server.base_url, &ana).await?;
    let http = ana.http_op(cart, &id, &add("LEMONADE", 4)).await?;
    assert!(http.duplicate);
    assert_eq!(ana.cart(cart).await?.view.lines[0].quantity, 4);
    server.stop().await?;
    drop(dir);
    Ok(())
}

#[tokio::test]
async fn presence_activity_and_chat_reach_the_room() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut a = ana.connect().await?;
    a.subscribe(cart).await?;
    let mut b = ben.connect().await?;
    let subscribed = b.subscribe(cart).await?;
    assert_eq!(subscribed.presence.len(), 2, "{:?}", subscribed.presence);
    expect_event(&mut a, "presence with Ben", |ev| {
        matches!(ev, Event::Msg(ServerMsg::Presence { members, .. }) if members.iter().any(|m| m.name == "Ben"))
    })
    .await?;

    b.op(cart, add("MUG-BLUE", 2)).await?.acked()?;
    let ev = expect_event(&mut a, "activity", |ev| {
        matches!(ev, Event::Msg(ServerMsg::Activity { .. }))
    })
    .await?;
    let Event::Msg(ServerMsg::Activity { event, .. }) = ev else {
        unreachable!()
    };
    assert_eq!(event.text, "Ben added Blue Mug*2. Subtotal $24.00");
    assert_eq!(event.subtotal, 2400);

    b.send(&cartroom_protocol::ClientMsg::Chat {
        cart_id: cart,
        text: "mugs are in".into(),
    })
    .await?;
    expect_event(&mut a, "chat", |ev| {
        matches!(ev, Event::Msg(ServerMsg::Chat { text, user_name, .. }) if text == "mugs are in" && user_name == "Ben")
    })
    .await?;

    b.close().await;
    expect_event(&mut a, "Ben leaving", |ev| {
        matches!(ev, Event::Msg(ServerMsg::Presence { members, .. })
            if members.iter().any(|m| m.name == "Ben" && m.connections == 0))
    })
    .await?;
    let texts = activity_texts(&ana, cart).await?;
    assert_eq!(
        texts,
        [
            "Ana added Ben as an editor",
            "Ben added Blue Mug*2. Subtotal $24.00",
            "Ben: mugs are in"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn one_socket_watches_several_carts_and_a_deleted_cart_unsubscribes() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let carts = [ana.create_cart("One").await?, ana.create_cart("Two").await?];
    let mut watcher = ana.connect().await?;
    for cart in carts {
        watcher.subscribe(cart).await?;
    }
    let mut editor = ana.connect().await?;
    for (i, cart) in carts.iter().enumerate() {
        editor.subscribe(*cart).await?;
        let heads = editor
            .op(*cart, add("FRISBEE", i as i64 + 1))
            .await?
            .acked()?;
        sync_to(&mut watcher, *cart, &heads).await?;
    }
    assert_eq!(
        cart_view(watcher.replica(carts[1]).unwrap()).lines[0].quantity,
        2
    );
    let listed = ana.carts().await?;
    assert_eq!(listed.len(), 2);

    ana.request(
        reqwest::Method::DELETE,
        &format!("/api/carts/{}", carts[0]),
        None,
    )
    .await?;
    expect_event(&mut watcher, "unsubscribed", |ev| {
        matches!(ev, Event::Msg(ServerMsg::Unsubscribed { reason, .. }) if reason == "deleted")
    })
    .await?;
    let err = ana.cart(carts[0]).await.unwrap_err();
    assert_eq!(cartroom_client::api_error(&err).unwrap().status, 404);
    Ok(())
}

#[tokio::test]
async fn a_guest_who_signs_up_keeps_its_carts() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let guest = cartroom_client::Account::guest(&server.base_url, "Visitor").await?;
    let cart = guest.create_cart("Before sign-up").await?;
    let email = format!("visitor-{}@example.com", uuid::Uuid::new_v4().simple());
    let account = guest
        .upgrade_guest(&email, cartroom_e2e::PASSWORD, "Vera")
        .await?;
    assert_eq!(account.user_id, guest.user_id);
    assert_eq!(account.cart(cart).await?.view.name, "Before sign-up");
    let again =
        cartroom_client::Account::sign_in(&server.base_url, &email, cartroom_e2e::PASSWORD).await?;
    assert_eq!(again.user_id, guest.user_id);
    let err = cartroom_client::Account::sign_in(&server.base_url, &email, "wrong password")
        .await
        .unwrap_err();
    assert_eq!(
        cartroom_client::api_error(&err).unwrap().code,
        "bad_credentials"
    );
    Ok(())
}

#[tokio::test]
async fn places_of_subscriptions_the_server_ended_are_free_again() -> anyhow::Result<()> {
    use cartroom_protocol::limits::{MAX_SUBSCRIPTIONS_PER_SHOPPER, RATE_BURST, RATE_PER_SECOND};
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let mut conn = ana.connect().await?;
    let mut carts = Vec::new();
    for i in 0..MAX_SUBSCRIPTIONS_PER_SHOPPER {
        let cart = ana.create_cart(&format!("Cart {i}")).await?;
        conn.subscribe(cart).await?;
        carts.push(cart);
    }
    for cart in &carts {
        ana.request(reqwest::Method::DELETE, &format!("/api/carts/{cart}"), None)
            .await?;
        expect_event(&mut conn, "unsubscribed", |ev| {
            matches!(ev, Event::Msg(ServerMsg::Unsubscribed { cart_id, reason }) if cart_id == cart && reason == "deleted")
        })
        .await?;
    }
    // Two full sets of subscribes in a row can outrun the connection's
    // message budget on a fast machine; let the bucket refill first, so
    // that only the subscription cap can refuse what follows.
    let refill = u64::from(RATE_BURST).div_ceil(u64::from(RATE_PER_SECOND));
    tokio::time::sleep(std::time::Duration::from_secs(refill)).await;
    // Every place is free again: a full set of new subscriptions fits.
    for i in 0..MAX_SUBSCRIPTIONS_PER_SHOPPER {
        let cart = ana.create_cart(&format!("New cart {i}")).await?;
        conn.subscribe(cart).await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_member_demoted_while_subscribing_to_a_cold_cart_cannot_edit() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let mut b = ben.connect().await?;
    for round in 0..12 {
        // A fresh cart: its room loads only when the subscribe arrives.
        let cart = ana.create_cart(&format!("Cold {round}")).await?;
        ana.add_member(cart, ben.email.as_deref().unwrap(), MemberRole::Editor)
            .await?;
        let subscribe = cartroom_protocol::ClientMsg::Subscribe {
            cart_id: cart,
            heads: None,
            stream: None,
        };
        let (subscribed, demoted) = tokio::join!(
            b.send(&subscribe),
            ana.set_role(cart, ben.user_id, MemberRole::Viewer),
        );
        subscribed?;
        demoted?;
        // Whatever order they met in, Ben is a viewer now.
        let outcome = b.op(cart, add("CHIPS", 1)).await?;
        assert!(
            matches!(
                outcome,
                OpOutcome::Refused {
                    code: ErrorCode::Forbidden,
                    ..
                }
            ),
            "round {round}: a demoted editor's edit got {outcome:?}"
        );
    }
    Ok(())
}
