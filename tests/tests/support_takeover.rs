//! Cart takeover by a support agent over real sockets (docs/protocol.md
//! section 13, "Takeover", "Watching carts", "History"): with the shopper's
//! consent, with consent waived, with a guest's help code (and an expired
//! one), the shopper ending it mid-edit, the agent's edits attributed to
//! "Wade (support)" in the cart's audit trail, and the cart as it was at
//! earlier heads. Every wait for a frame is bounded.

mod support_desk;

use std::sync::Arc;

use cartroom::clock::{Clock, ManualClock};
use cartroom_client::Account;
use cartroom_client::http::Method;
use cartroom_e2e::TestServer;
use cartroom_protocol::http::CartResponse;
use cartroom_protocol::takeover::{
    HelpCodeResponse, HistoryResponse, Takeover, TakeoverGrant, TakeoverStatus,
};
use cartroom_protocol::{Capability, CartId, ErrorCode, LineId, MemberRole, Op, ServerMsg};
use serde_json::json;
use support_desk::{
    WADE, activity_of, agent, call, cart_in, code_of, open_conversation, set_consent,
    takeover_frame, wait_for,
};

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

/// Ana (registered) with a conversation with `demo` and a cart there.
async fn shopper_with_cart(server: &TestServer) -> anyhow::Result<(Account, CartId)> {
    let ana = server.account("Ana").await?;
    open_conversation(&ana, "demo").await?;
    let cart = cart_in(&ana, "demo", "Ana's groceries").await?;
    Ok((ana, cart))
}

async fn start_takeover(agent: &Account, body: serde_json::Value) -> anyhow::Result<Takeover> {
    call(agent, Method::POST, "/api/support/takeovers", Some(body)).await
}

/// The next `role_changed` of `cart` on `conn`: the role, and the
/// capabilities it lists.
async fn role_changed(
    conn: &mut cartroom_client::Connection,
    cart: CartId,
) -> anyhow::Result<(MemberRole, Vec<Capability>)> {
    wait_for(conn, |msg| match msg {
        ServerMsg::RoleChanged {
            cart_id,
            role,
            capabilities,
        } if *cart_id == cart => Some((*role, capabilities.clone())),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn with_consent_the_agent_edits_as_support_then_hands_back() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, cart) = shopper_with_cart(&server).await?;
    let mut ana_conn = ana.connect().await?;
    ana_conn.subscribe(cart).await?;
    let wade = agent(&server, WADE).await?;
    let mut wade_conn = wade.connect().await?;
    // Staff watch a customer's cart as viewers, and may only look: no
    // suggestions, votes or chat, which a viewer member has.
    let watching = wade_conn.subscribe(cart).await?;
    assert_eq!(watching.role, MemberRole::Viewer);
    assert_eq!(watching.capabilities, [Capability::View]);

    let asked = start_takeover(&wade, json!({ "cart_id": cart })).await?;
    assert_eq!(asked.status, TakeoverStatus::Requested);
    assert_eq!(asked.grant, TakeoverGrant::Consent);
    assert_eq!(asked.agent_name, "Wade (support)");
    assert_eq!(asked.shopper_id, ana.user_id);
    let (kind, _) = takeover_frame(&mut ana_conn, asked.id).await?;
    assert_eq!(kind, "takeover_requested");
    // A second request for the same cart waits for the first.
    let again = code_of(
        wade.request_json(
            Method::POST,
            "/api/support/takeovers",
            Some(&json!({ "cart_id": cart })),
        )
        .await,
    )?;
    assert_eq!(again, "takeover_in_progress");
    // Before the answer, watching is all the agent may do.
    let early = wade_conn.op(cart, add("MUG-BLUE", 1)).await?;
    assert!(
        matches!(
            early,
            cartroom_client::OpOutcome::Refused {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "{early:?}"
    );
    // Only the shopper answers.
    let path = format!("/api/takeovers/{}/consent", asked.id);
    let by_agent = code_of(
        wade.request_json(Method::POST, &path, Some(&json!({ "accept": true })))
            .await,
    )?;
    assert_eq!(by_agent, "forbidden");

    let active: Takeover = call(&ana, Method::POST, &path, Some(json!({ "accept": true }))).await?;
    assert_eq!(active.status, TakeoverStatus::Active);
    assert!(active.started_at.is_some());
    assert_eq!(
        takeover_frame(&mut ana_conn, asked.id).await?.0,
        "takeover_started"
    );
    assert_eq!(
        activity_of(&mut ana_conn, cart, "takeover_started").await?,
        "Wade (support) took over the cart"
    );
    // An editor's edits, but the customer's chat stays the customer's.
    let (role, capabilities) = role_changed(&mut wade_conn, cart).await?;
    assert_eq!(role, MemberRole::Editor);
    assert!(capabilities.contains(&Capability::EditLines));
    assert!(!capabilities.contains(&Capability::Chat));
    // Answering twice is refused.
    let twice = code_of(
        ana.request_json(Method::POST, &path, Some(&json!({ "accept": true })))
            .await,
    )?;
    assert_eq!(twice, "takeover_state");

    // The agent's edits carry their support name, live for the shopper.
    wade_conn.op(cart, add("MUG-BLUE", 2)).await?.acked()?;
    let text = activity_of(&mut ana_conn, cart, "add_line").await?;
    assert!(
        text.starts_with("Wade (support) added Blue Mug*2"),
        "{text}"
    );
    // Presence shows the agent as an editor.
    let mut ana_second = ana.connect().await?;
    let joined = ana_second.subscribe(cart).await?;
    assert!(
        joined
            .presence
            .iter()
            .any(|m| m.user_id == wade.user_id && m.role == MemberRole::Editor),
        "{:?}",
        joined.presence
    );
    // An edit over HTTP is attributed the same way.
    let line: LineId = LineId("MUG-BLUE".into());
    wade.http_op(
        cart,
        &cartroom_protocol::OpId("wade-http-1".into()),
        &Op::ChangeQuantity {
            line_id: line,
            delta: 1,
        },
    )
    .await?;
    let text = activity_of(&mut ana_conn, cart, "change_quantity").await?;
    assert!(text.starts_with("Wade (support)"), "{text}");

    // The agent hands back: their edit rights end at once.
    let end = format!("/api/takeovers/{}/end", asked.id);
    let ended: Takeover = call(&wade, Method::POST, &end, None).await?;
    assert_eq!(ended.status, TakeoverStatus::Ended);
    assert_eq!(ended.ended_by, Some(wade.user_id));
    assert_eq!(
        takeover_frame(&mut ana_conn, asked.id).await?.0,
        "takeover_ended"
    );
    assert_eq!(
        activity_of(&mut ana_conn, cart, "takeover_ended").await?,
        "Wade (support) handed the cart back"
    );
    assert_eq!(
        role_changed(&mut wade_conn, cart).await?,
        (MemberRole::Viewer, vec![Capability::View])
    );
    let late = wade_conn.op(cart, add("MUG-RED", 1)).await?;
    assert!(
        matches!(late, cartroom_client::OpOutcome::Refused { .. }),
        "{late:?}"
    );
    // The shopper goes on on their own.
    ana_conn.op(cart, add("MUG-RED", 1)).await?.acked()?;

    // The audit trail: start, the agent's edits, end.
    let activity = ana.activity(cart).await?;
    let kinds: Vec<(&str, &str)> = activity
        .iter()
        .map(|e| (e.kind.as_str(), e.user_name.as_str()))
        .collect();
    for expected in [
        ("takeover_started", "Wade (support)"),
        ("add_line", "Wade (support)"),
        ("change_quantity", "Wade (support)"),
        ("takeover_ended", "Wade (support)"),
        ("add_line", "Ana"),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} not in {kinds:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_declined_request_gives_no_rights() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, cart) = shopper_with_cart(&server).await?;
    let wade = agent(&server, WADE).await?;
    let asked = start_takeover(&wade, json!({ "cart_id": cart })).await?;
    let path = format!("/api/takeovers/{}/consent", asked.id);
    let declined: Takeover =
        call(&ana, Method::POST, &path, Some(json!({ "accept": false }))).await?;
    assert_eq!(declined.status, TakeoverStatus::Declined);
    let refused = code_of(
        wade.request_json(
            Method::POST,
            &format!("/api/carts/{cart}/ops"),
            Some(&json!({ "op_id": "w1", "op": add("MUG-BLUE", 1) })),
        )
        .await,
    )?;
    assert_eq!(refused, "forbidden");
    // The cart is free for a new request.
    let next = start_takeover(&wade, json!({ "cart_id": cart })).await?;
    assert_eq!(next.status, TakeoverStatus::Requested);
    Ok(())
}

#[tokio::test]
async fn waived_consent_starts_at_once_for_a_registered_shopper() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    set_consent(&server, "waived_for_registered").await?;
    let (ana, cart) = shopper_with_cart(&server).await?;
    let mut ana_conn = ana.connect().await?;
    ana_conn.subscribe(cart).await?;
    let wade = agent(&server, WADE).await?;
    let mut wade_conn = wade.connect().await?;
    let started = start_takeover(&wade, json!({ "cart_id": cart })).await?;
    assert_eq!(started.status, TakeoverStatus::Active);
    assert_eq!(started.grant, TakeoverGrant::Waived);
    // Both sides hear of it on every connection.
    assert_eq!(
        takeover_frame(&mut ana_conn, started.id).await?.0,
        "takeover_started"
    );
    assert_eq!(
        takeover_frame(&mut wade_conn, started.id).await?.0,
        "takeover_started"
    );
    assert_eq!(wade_conn.subscribe(cart).await?.role, MemberRole::Editor);
    wade_conn.op(cart, add("TEA-GREEN", 3)).await?.acked()?;
    let text = activity_of(&mut ana_conn, cart, "add_line").await?;
    assert!(
        text.starts_with("Wade (support) added Green Tea, 50 bags*3"),
        "{text}"
    );
    Ok(())
}

#[tokio::test]
async fn a_guest_reads_out_a_help_code() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    set_consent(&server, "waived_for_registered").await?;
    let gus = Account::guest(&server.base_url, "Gus").await?;
    open_conversation(&gus, "demo").await?;
    let cart = cart_in(&gus, "demo", "Gus's picnic").await?;
    let mut gus_conn = gus.connect().await?;
    gus_conn.subscribe(cart).await?;
    let wade = agent(&server, WADE).await?;
    // A guest is never taken over without a code, waived or not.
    let without = code_of(
        wade.request_json(
            Method::POST,
            "/api/support/takeovers",
            Some(&json!({ "cart_id": cart })),
        )
        .await,
    )?;
    assert_eq!(without, "forbidden");
    // Staff watching the cart may not make a code for themselves.
    let own = code_of(
        wade.request_json(Method::POST, &format!("/api/carts/{cart}/help-code"), None)
            .await,
    )?;
    assert_eq!(own, "forbidden");

    let code: HelpCodeResponse = call(
        &gus,
        Method::POST,
        &format!("/api/carts/{cart}/help-code"),
        None,
    )
    .await?;
    assert_eq!(code.code.len(), 6);
    assert!(code.code.bytes().all(|b| b.is_ascii_digit()));
    let wrong = if code.code == "000000" {
        "000001"
    } else {
        "000000"
    };
    let refused = code_of(
        wade.request_json(
            Method::POST,
            "/api/support/takeovers",
            Some(&json!({ "code": wrong })),
        )
        .await,
    )?;
    assert_eq!(refused, "help_code_invalid");

    let started = start_takeover(&wade, json!({ "code": code.code })).await?;
    assert_eq!(started.status, TakeoverStatus::Active);
    assert_eq!(started.grant, TakeoverGrant::HelpCode);
    assert_eq!(started.cart_id, cart);
    assert_eq!(started.shopper_id, gus.user_id);
    assert_eq!(
        takeover_frame(&mut gus_conn, started.id).await?.0,
        "takeover_started"
    );
    // Used once.
    let reused = code_of(
        wade.request_json(
            Method::POST,
            "/api/support/takeovers",
            Some(&json!({ "code": code.code })),
        )
        .await,
    )?;
    assert_eq!(reused, "help_code_invalid");
    // The agent fills the cart; the guest sees it live.
    let mut wade_conn = wade.connect().await?;
    assert_eq!(wade_conn.subscribe(cart).await?.role, MemberRole::Editor);
    wade_conn
        .op(cart, add("PICNIC-BLANKET", 1))
        .await?
        .acked()?;
    let text = activity_of(&mut gus_conn, cart, "add_line").await?;
    assert!(text.starts_with("Wade (support) added"), "{text}");
    let open: serde_json::Value = call(
        &gus,
        Method::GET,
        &format!("/api/carts/{cart}/takeover"),
        None,
    )
    .await?;
    assert_eq!(open["takeover"]["id"], json!(started.id));
    Ok(())
}

#[tokio::test]
async fn an_expired_help_code_is_refused() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::at(1_795_302_600_000));
    let server = TestServer::start_with_clock(clock.clone(), |_| {}).await?;
    let gus = Account::guest(&server.base_url, "Gus").await?;
    open_conversation(&gus, "demo").await?;
    let cart = cart_in(&gus, "demo", "Gus's picnic").await?;
    let code: HelpCodeResponse = call(
        &gus,
        Method::POST,
        &format!("/api/carts/{cart}/help-code"),
        None,
    )
    .await?;
    assert_eq!(code.expires_at, clock.now_ms() + 10 * 60 * 1000);
    clock.advance_ms(10 * 60 * 1000);
    let wade = agent(&server, WADE).await?;
    let expired = code_of(
        wade.request_json(
            Method::POST,
            "/api/support/takeovers",
            Some(&json!({ "code": code.code })),
        )
        .await,
    )?;
    assert_eq!(expired, "help_code_expired");
    // A fresh code works.
    let fresh: HelpCodeResponse = call(
        &gus,
        Method::POST,
        &format!("/api/carts/{cart}/help-code"),
        None,
    )
    .await?;
    let started = start_takeover(&wade, json!({ "code": fresh.code })).await?;
    assert_eq!(started.status, TakeoverStatus::Active);
    Ok(())
}

#[tokio::test]
async fn the_shopper_ends_it_mid_edit_and_the_next_op_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    set_consent(&server, "waived_for_registered").await?;
    let (ana, cart) = shopper_with_cart(&server).await?;
    let mut ana_conn = ana.connect().await?;
    ana_conn.subscribe(cart).await?;
    let wade = agent(&server, WADE).await?;
    let started = start_takeover(&wade, json!({ "cart_id": cart })).await?;
    let mut wade_conn = wade.connect().await?;
    wade_conn.subscribe(cart).await?;
    wade_conn.op(cart, add("MUG-BLUE", 1)).await?.acked()?;
    wade_conn.op(cart, add("MUG-RED", 1)).await?.acked()?;

    let ended: Takeover = call(
        &ana,
        Method::POST,
        &format!("/api/takeovers/{}/end", started.id),
        None,
    )
    .await?;
    assert_eq!(ended.status, TakeoverStatus::Ended);
    assert_eq!(ended.ended_by, Some(ana.user_id));
    assert_eq!(
        takeover_frame(&mut wade_conn, started.id).await?.0,
        "takeover_ended"
    );
    assert_eq!(
        activity_of(&mut ana_conn, cart, "takeover_ended").await?,
        "Ana ended the takeover by Wade (support)"
    );
    // The agent's very next op is refused, over the socket and over HTTP.
    let next = wade_conn.op(cart, add("MUG-BLUE", 1)).await?;
    assert!(
        matches!(
            next,
            cartroom_client::OpOutcome::Refused {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "{next:?}"
    );
    let http = code_of(
        wade.request_json(
            Method::POST,
            &format!("/api/carts/{cart}/ops"),
            Some(&json!({ "op_id": "w9", "op": add("MUG-BLUE", 1) })),
        )
        .await,
    )?;
    assert_eq!(http, "forbidden");
    // Ending twice is refused; the cart keeps what the agent added.
    let twice = code_of(
        ana.request_json(
            Method::POST,
            &format!("/api/takeovers/{}/end", started.id),
            None,
        )
        .await,
    )?;
    assert_eq!(twice, "takeover_state");
    let view: CartResponse = ana.cart(cart).await?;
    assert_eq!(view.view.lines.len(), 2);
    Ok(())
}

#[tokio::test]
async fn history_at_earlier_heads_equals_the_document_then() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::at(1_795_302_600_000));
    let server = TestServer::start_with_clock(clock.clone(), |_| {}).await?;
    set_consent(&server, "waived_for_registered").await?;
    let (ana, cart) = shopper_with_cart(&server).await?;
    let mut ana_conn = ana.connect().await?;
    ana_conn.subscribe(cart).await?;
    ana_conn.op(cart, add("MUG-BLUE", 2)).await?.acked()?;
    clock.advance_ms(5_000);
    let heads = ana_conn.op(cart, add("TEA-GREEN", 1)).await?.acked()?;
    let then: CartResponse = ana.cart(cart).await?;
    let moment = clock.now_ms();
    clock.advance_ms(60_000);

    let wade = agent(&server, WADE).await?;
    start_takeover(&wade, json!({ "cart_id": cart })).await?;
    let mut wade_conn = wade.connect().await?;
    wade_conn.subscribe(cart).await?;
    wade_conn.op(cart, add("MUG-RED", 4)).await?.acked()?;
    ana_conn.op(cart, add("MUG-BLUE", 1)).await?.acked()?;

    let by_heads: HistoryResponse = call(
        &ana,
        Method::GET,
        &format!("/api/carts/{cart}/history?heads={}", heads.0.join(",")),
        None,
    )
    .await?;
    assert_eq!(by_heads.heads.sorted(), heads.sorted());
    assert_eq!(by_heads.lines, then.view.lines);
    assert_eq!(by_heads.subtotal, then.view.subtotal);
    assert_eq!(by_heads.name, then.view.name);
    // What changed since, and by whom.
    let authors: Vec<(&str, &str)> = by_heads
        .changes
        .iter()
        .map(|c| (c.user_name.as_str(), c.kind.as_str()))
        .collect();
    assert_eq!(
        authors,
        [("Wade (support)", "add_line"), ("Ana", "add_line")],
        "{by_heads:?}"
    );
    assert_eq!(by_heads.changes_total, 2);
    assert_ne!(by_heads.current_heads.sorted(), heads.sorted());

    // The same moment by time.
    let by_time: HistoryResponse = call(
        &ana,
        Method::GET,
        &format!("/api/carts/{cart}/history?at={moment}"),
        None,
    )
    .await?;
    assert_eq!(by_time.lines, then.view.lines);
    assert_eq!(by_time.heads.sorted(), heads.sorted());
    // The staff watching the cart read it too.
    let watched: HistoryResponse = call(
        &wade,
        Method::GET,
        &format!("/api/carts/{cart}/history?at={moment}"),
        None,
    )
    .await?;
    assert_eq!(watched.lines, then.view.lines);
    // Malformed moments are refused.
    for query in ["", "?heads=zz", "?at=1&heads=aa"] {
        let code = code_of(
            ana.request_json(
                Method::GET,
                &format!("/api/carts/{cart}/history{query}"),
                None,
            )
            .await,
        )?;
        assert_eq!(code, "invalid_field", "{query}");
    }
    Ok(())
}

#[tokio::test]
async fn history_at_a_time_tells_apart_edits_of_the_same_second() -> anyhow::Result<()> {
    // 12:30:00.100: the mug; 12:30:00.400: the moment asked; 12:30:00.700: the tea.
    let clock = Arc::new(ManualClock::at(1_795_302_600_100));
    let server = TestServer::start_with_clock(clock.clone(), |_| {}).await?;
    let (ana, cart) = shopper_with_cart(&server).await?;
    let mut ana_conn = ana.connect().await?;
    ana_conn.subscribe(cart).await?;
    let heads = ana_conn.op(cart, add("MUG-BLUE", 1)).await?.acked()?;
    let then: CartResponse = ana.cart(cart).await?;
    clock.advance_ms(300);
    let moment = clock.now_ms();
    clock.advance_ms(300);
    ana_conn.op(cart, add("TEA-GREEN", 1)).await?.acked()?;
    let by_time: HistoryResponse = call(
        &ana,
        Method::GET,
        &format!("/api/carts/{cart}/history?at={moment}"),
        None,
    )
    .await?;
    assert_eq!(by_time.heads.sorted(), heads.sorted());
    assert_eq!(by_time.lines, then.view.lines);
    let since: Vec<(&str, i64)> = (by_time.changes.iter())
        .map(|c| (c.kind.as_str(), c.at))
        .collect();
    assert_eq!(
        since,
        [("add_line", moment + 300)],
        "the tea, at its millisecond"
    );
    Ok(())
}
