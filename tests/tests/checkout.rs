//! Group checkout end to end: real server, real sockets. Phases and the
//! lock, deadlines (their reminder, by e-mail too, and across a restart), budgets, approvals,
//! group buy,
//! addresses and the split, orders racing for the last units, cancelling,
//! and kill -9 while orders are placed.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use cartroom_client::{Account, Connection, OpOutcome, api_error, cart_view};
use cartroom_e2e::smtp::SmtpServer;
use cartroom_e2e::{
    PASSWORD, ServerProcess, TestServer, admin_and_member, shared_cart, sign_in_again, sign_up,
};
use cartroom_protocol::checkout::{Address, CartPhase, OrderStatus, OrderView, SplitPlan};
use cartroom_protocol::http::{CartView, Product};
use cartroom_protocol::{CartId, ErrorCode, LineId, MemberRole, Op, OpId};

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

fn change(sku: &str, delta: i64) -> Op {
    Op::ChangeQuantity {
        line_id: LineId(sku.into()),
        delta,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An op over HTTP with a fresh id; its refusal's code, or `None` when acked.
async fn http(account: &Account, cart: CartId, op: Op) -> anyhow::Result<Option<ErrorCode>> {
    let op_id = OpId(format!("t-{}", uuid::Uuid::new_v4().simple()));
    match account.http_op(cart, &op_id, &op).await {
        Ok(_) => Ok(None),
        Err(e) => match api_error(&e).and_then(|a| a.error_code()) {
            Some(code) => Ok(Some(code)),
            None => Err(e),
        },
    }
}

/// An op over HTTP that must be accepted.
async fn ok(account: &Account, cart: CartId, op: Op) -> anyhow::Result<()> {
    let what = format!("{op:?}");
    match http(account, cart, op).await? {
        None => Ok(()),
        Some(code) => anyhow::bail!("{what} refused: {code}"),
    }
}

/// The refusal code of an HTTP call.
fn code_of<T: std::fmt::Debug>(result: anyhow::Result<T>) -> ErrorCode {
    let e = result.expect_err("the call was refused");
    api_error(&e)
        .and_then(|a| a.error_code())
        .unwrap_or_else(|| panic!("not a refusal: {e:#}"))
}

/// Reads events until the connection's replica of `cart` satisfies `pred`.
async fn until(
    conn: &mut Connection,
    cart: CartId,
    what: &str,
    pred: impl Fn(&CartView) -> bool,
) -> anyhow::Result<CartView> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let view = cart_view(conn.replica(cart).expect("subscribed"));
        if pred(&view) {
            return Ok(view);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if conn.next_event_timeout(left).await?.is_none() {
            anyhow::bail!("timed out waiting for {what}; the replica has {view:?}");
        }
    }
}

fn phase(view: &CartView) -> CartPhase {
    view.checkout
        .as_ref()
        .expect("the server sends checkout")
        .phase
}

async fn product(account: &Account, sku: &str) -> anyhow::Result<Product> {
    let value = account
        .request_json(
            cartroom_client::http::Method::GET,
            &format!("/api/catalog/{sku}"),
            None,
        )
        .await?;
    Ok(serde_json::from_value(value)?)
}

#[tokio::test]
async fn lock_refuses_line_edits_live_and_unlock_lets_them_in_again() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut a = ana.connect().await?;
    let mut b = ben.connect().await?;
    a.subscribe(cart).await?;
    let subscribed = b.subscribe(cart).await?;
    assert!(
        !subscribed
            .capabilities
            .contains(&cartroom_protocol::Capability::Checkout)
    );
    b.op(cart, add("MUG-BLUE", 1)).await?.acked()?;

    // An editor may not lock.
    let OpOutcome::Refused { code, .. } = b.op(cart, Op::Lock).await? else {
        panic!("an editor locked the cart");
    };
    assert_eq!(code, ErrorCode::Forbidden);

    a.op(cart, Op::Lock).await?.acked()?;
    // Ben's replica switches to locked without a reconnect.
    until(&mut b, cart, "the lock", |v| phase(v) == CartPhase::Locked).await?;
    let refused = b.op(cart, change("MUG-BLUE", 1)).await?;
    let OpOutcome::Refused { code, message } = refused else {
        panic!("an edit of a locked cart was accepted: {refused:?}");
    };
    assert_eq!(code, ErrorCode::CartLocked);
    assert!(message.contains("locked"), "{message}");
    // Suggestions go on while locked.
    b.op(
        cart,
        Op::Suggest {
            sku: "TEA-GREEN".into(),
            quantity: 1,
            note: None,
        },
    )
    .await?
    .acked()?;
    assert_eq!(
        http(&ben, cart, add("KETTLE", 1)).await?,
        Some(ErrorCode::CartLocked)
    );

    a.op(cart, Op::Unlock).await?.acked()?;
    until(&mut b, cart, "the unlock", |v| phase(v) == CartPhase::Open).await?;
    b.op(cart, change("MUG-BLUE", 1)).await?.acked()?;
    let view = ana.cart(cart).await?.view;
    assert_eq!(view.lines[0].quantity, 2);
    let texts: Vec<String> = ana
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t == "Ana locked the cart for checkout. Subtotal $12.00"),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t == "Ana unlocked the cart. Subtotal $12.00"),
        "{texts:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_deadline_locks_the_cart_while_everyone_watches() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut b = ben.connect().await?;
    b.subscribe(cart).await?;
    b.op(cart, add("MUG-BLUE", 1)).await?.acked()?;
    let at = now_ms() + 1_500;
    ok(&ana, cart, Op::SetDeadline { at: Some(at) }).await?;
    // The server's timer locks it; Ben sees the change and its event.
    let view = until(&mut b, cart, "the deadline's lock", |v| {
        phase(v) == CartPhase::Locked
    })
    .await?;
    assert_eq!(view.checkout.unwrap().deadline, None);
    let events = ana.activity(cart).await?;
    let lock = events
        .iter()
        .find(|e| e.kind == "deadline_lock")
        .expect("an activity event for the lock");
    assert_eq!(lock.user_name, "Cartroom");
    assert!(lock.text.contains("the deadline"), "{}", lock.text);
    assert_eq!(
        http(&ben, cart, add("MUG-BLUE", 1)).await?,
        Some(ErrorCode::CartLocked)
    );
    Ok(())
}

/// Reads events until an activity event of `kind` arrives.
async fn activity_of(
    conn: &mut Connection,
    kind: &str,
) -> anyhow::Result<cartroom_protocol::ActivityEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match conn.next_event_timeout(left).await? {
            Some(cartroom_client::Event::Msg(cartroom_protocol::ServerMsg::Activity {
                event,
                ..
            })) if event.kind == kind => return Ok(event),
            Some(_) => continue,
            None => anyhow::bail!("no activity event {kind}"),
        }
    }
}

#[tokio::test]
async fn members_are_reminded_of_a_near_deadline_and_the_cart_stays_open() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut b = ben.connect().await?;
    b.subscribe(cart).await?;
    b.op(cart, add("MUG-BLUE", 1)).await?.acked()?;
    // Half an hour ahead: within the reminder's hour, so the timer tells
    // everyone now, and the cart stays open until the deadline itself.
    let at = now_ms() + 30 * 60_000;
    ok(&ana, cart, Op::SetDeadline { at: Some(at) }).await?;
    let reminder = activity_of(&mut b, "deadline_reminder").await?;
    assert_eq!(reminder.user_name, "Cartroom");
    assert!(
        reminder.text.contains("locks for checkout at"),
        "{}",
        reminder.text
    );
    // Lines still take edits: a reminder is not a lock.
    b.op(cart, add("MUG-BLUE", 1)).await?.acked()?;
    let view = cart_view(b.replica(cart).expect("subscribed"));
    assert_eq!(phase(&view), CartPhase::Open);
    assert_eq!(view.checkout.unwrap().deadline, Some(at));
    Ok(())
}

/// How long an e-mail may take to reach the test's SMTP server.
const MAIL_WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn members_with_an_e_mail_get_one_reminder_mail_each_across_a_restart() -> anyhow::Result<()>
{
    let mut smtp = SmtpServer::start().await?;
    let url = smtp.url();
    let args = ["--smtp-url", url.as_str()];
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start_with_args(dir.path(), &args).await?;
    let ana = sign_up(&server.base_url, "Ana").await?;
    let ben = sign_up(&server.base_url, "Ben").await?;
    let cart = shared_cart(&ana, &[(&ben, MemberRole::Editor)]).await?;
    // Cleo, a guest with no e-mail, joins through a share link.
    let link = ana
        .request_json(
            reqwest::Method::POST,
            &format!("/api/carts/{cart}/links"),
            Some(&serde_json::json!({"role": "editor"})),
        )
        .await?;
    let token = link["token"].as_str().context("the link's token")?;
    let cleo = Account::guest(&server.base_url, "Cleo").await?;
    cleo.request_json(
        reqwest::Method::POST,
        "/api/invites/accept",
        Some(&serde_json::json!({ "token": token })),
    )
    .await?;
    assert_eq!(ana.members(cart).await?.len(), 3);

    // Within the reminder's hour: the reminder is due at once.
    let at = now_ms() + 30 * 60_000;
    ok(&ana, cart, Op::SetDeadline { at: Some(at) }).await?;
    let mut to = Vec::new();
    for _ in 0..2 {
        let mail = smtp.next_mail(MAIL_WAIT).await?;
        let text = mail.decoded();
        assert!(text.contains("Family groceries"), "{text}");
        assert!(text.contains("locks for checkout at"), "{text}");
        assert!(text.contains(&format!("/#/cart/{cart}")), "{text}");
        to.extend(mail.to);
    }
    to.sort();
    let mut members: Vec<String> = [&ana, &ben]
        .iter()
        .filter_map(|a| a.email.clone())
        .collect();
    members.sort();
    assert_eq!(
        to, members,
        "one reminder each to Ana and Ben, none to Cleo"
    );
    assert!(server.terminate().await?.success());

    // After a restart the timer sees the deadline again: nothing is sent
    // twice. Another cart's reminder, set after the node is up, is the next
    // e-mail (a repeat would be queued at start, before it).
    let server = ServerProcess::start_with_args(dir.path(), &args).await?;
    let ana = sign_in_again(&server.base_url, &ana).await?;
    let picnic = ana.create_cart("Picnic").await?;
    ok(&ana, picnic, Op::SetDeadline { at: Some(at) }).await?;
    let next = smtp.next_mail(MAIL_WAIT).await?;
    let text = next.decoded();
    assert!(text.contains("Picnic"), "a repeat came first: {text}");
    assert_eq!(next.to, vec![ana.email.clone().context("Ana's e-mail")?]);
    let events = ana.activity(cart).await?;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "deadline_reminder")
            .count(),
        1,
        "{events:?}"
    );
    server.kill_9().await?;
    smtp.stop();
    Ok(())
}

#[tokio::test]
async fn a_deadline_that_passes_while_the_server_is_down_is_kept_at_restart() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path()).await?;
    let ana = cartroom_e2e::sign_up(&server.base_url, "Ana").await?;
    let cart = shared_cart(&ana, &[]).await?;
    ok(&ana, cart, add("MUG-BLUE", 2)).await?;
    // An hour from now; the node restarts two hours "later".
    let at = now_ms() + 3_600_000;
    ok(&ana, cart, Op::SetDeadline { at: Some(at) }).await?;
    let other = shared_cart(&ana, &[]).await?;
    ok(
        &ana,
        other,
        Op::SetDeadline {
            at: Some(at + 86_400_000),
        },
    )
    .await?;
    assert!(server.terminate().await?.success());

    let server =
        ServerProcess::start_with_args(dir.path(), &["--clock-offset-ms", "7200000"]).await?;
    let ana = sign_in_again(&server.base_url, &ana).await?;
    // Locked before the node listened: the very first read shows it.
    let view = ana.cart(cart).await?.view;
    let checkout = view.checkout.unwrap();
    assert_eq!(checkout.phase, CartPhase::Locked);
    assert_eq!(checkout.deadline, None);
    let events = ana.activity(cart).await?;
    assert_eq!(
        events.iter().filter(|e| e.kind == "deadline_lock").count(),
        1,
        "{events:?}"
    );
    assert_eq!(
        http(&ana, cart, add("MUG-BLUE", 1)).await?,
        Some(ErrorCode::CartLocked)
    );
    // A deadline still ahead is not touched.
    let later = ana.cart(other).await?.view.checkout.unwrap();
    assert_eq!(
        (later.phase, later.deadline),
        (CartPhase::Open, Some(at + 86_400_000))
    );
    server.kill_9().await?;

    // And it fires once: a third start finds nothing to do.
    let server =
        ServerProcess::start_with_args(dir.path(), &["--clock-offset-ms", "7200000"]).await?;
    let ana = sign_in_again(&server.base_url, &ana).await?;
    let events = ana.activity(cart).await?;
    assert_eq!(
        events.iter().filter(|e| e.kind == "deadline_lock").count(),
        1
    );
    server.kill_9().await?;
    Ok(())
}

#[tokio::test]
async fn a_budget_takes_a_member_to_the_exact_amount_and_no_further() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut b = ben.connect().await?;
    b.subscribe(cart).await?;
    // Two blue mugs: $24.00 exactly.
    ok(
        &ana,
        cart,
        Op::SetBudget {
            user_id: ben.user_id,
            amount: Some(2400),
        },
    )
    .await?;
    b.op(cart, add("MUG-BLUE", 2)).await?.acked()?;
    let view = cart_view(b.replica(cart).unwrap());
    let budget = &view.checkout.as_ref().unwrap().budgets[0];
    assert_eq!((budget.amount, budget.spent, budget.left), (2400, 2400, 0));
    let refused = b.op(cart, add("TEA-GREEN", 1)).await?;
    let OpOutcome::Refused { code, message } = refused else {
        panic!("over budget and accepted: {refused:?}");
    };
    assert_eq!(code, ErrorCode::OverBudget);
    assert_eq!(
        message,
        "over your budget: $0.00 left of $24.00 (this would make $30.50)"
    );
    // One cent under the share: refused; the share itself: accepted.
    ok(
        &ana,
        cart,
        Op::SetBudget {
            user_id: ben.user_id,
            amount: Some(3049),
        },
    )
    .await?;
    let refused = b.op(cart, add("TEA-GREEN", 1)).await?;
    assert!(
        matches!(&refused, OpOutcome::Refused { code: ErrorCode::OverBudget, message } if message.contains("$6.49 left")),
        "{refused:?}"
    );
    ok(
        &ana,
        cart,
        Op::SetBudget {
            user_id: ben.user_id,
            amount: Some(3050),
        },
    )
    .await?;
    b.op(cart, add("TEA-GREEN", 1)).await?.acked()?;
    let server_view = ana.cart(cart).await?.view;
    assert_eq!(
        server_view.checkout.as_ref().unwrap().budgets[0].left,
        0,
        "{server_view:?}"
    );
    // The server's view and the replica agree on everything checkout shows.
    let replica = until(&mut b, cart, "the last budget", |v| {
        v.heads.sorted() == server_view.heads.sorted()
    })
    .await?;
    assert_eq!(replica.checkout, server_view.checkout);
    Ok(())
}

async fn quote_total(account: &Account, cart: CartId) -> anyhow::Result<i64> {
    Ok(account.quote(cart).await?.total)
}

#[tokio::test]
async fn approval_is_asked_rejected_with_a_comment_then_approved_and_ordered() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cleo = server.account("Cleo").await?;
    let cart = shared_cart(
        &ana,
        &[(&ben, MemberRole::Editor), (&cleo, MemberRole::Admin)],
    )
    .await?;
    ok(&ben, cart, add("KETTLE", 2)).await?; // $78.00
    ok(&ana, cart, Op::SetApprovalThreshold { amount: Some(5000) }).await?;
    ok(&ana, cart, Op::Lock).await?;
    let quote = ana.quote(cart).await?;
    assert!(quote.needs_approval);
    assert_eq!(quote.blockers[0].code, ErrorCode::ApprovalRequired);
    assert_eq!(
        code_of(ana.place_order(cart, quote.total).await),
        ErrorCode::ApprovalRequired
    );
    // Only admins decide, and only once asked.
    assert_eq!(
        http(&ben, cart, Op::Approve { comment: None }).await?,
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        http(&cleo, cart, Op::Approve { comment: None }).await?,
        Some(ErrorCode::WrongPhase)
    );
    ok(&ana, cart, Op::RequestApproval).await?;
    assert_eq!(
        http(&ana, cart, Op::Unlock).await?,
        None,
        "an admin may still unlock"
    );
    ok(&ana, cart, Op::Lock).await?;
    ok(&ana, cart, Op::RequestApproval).await?;
    ok(
        &cleo,
        cart,
        Op::Reject {
            comment: "one kettle is enough".into(),
        },
    )
    .await?;
    let view = ana.cart(cart).await?.view;
    let checkout = view.checkout.unwrap();
    assert_eq!(checkout.phase, CartPhase::Open);
    assert_eq!(checkout.approval.unwrap().comment, "one kettle is enough");
    ok(&ben, cart, change("KETTLE", -1)).await?;
    ok(&ben, cart, add("TEA-GREEN", 2)).await?; // $39.00 + $13.00
    ok(&ana, cart, Op::SetApprovalThreshold { amount: Some(4000) }).await?;
    ok(&ana, cart, Op::Lock).await?;
    ok(&ana, cart, Op::RequestApproval).await?;
    ok(
        &cleo,
        cart,
        Op::Approve {
            comment: Some("ok".into()),
        },
    )
    .await?;
    let total = quote_total(&ana, cart).await?;
    assert_eq!(total, 3900 + 1300);
    let order = ana.place_order(cart, total).await?;
    assert_eq!(order.status, OrderStatus::Pending);
    let texts: Vec<String> = ana
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    for want in [
        "Ana asked for approval of the order. Subtotal $78.00",
        "Cleo rejected the order: \"one kettle is enough\"; the cart is open again. Subtotal $78.00",
        "Cleo approved the order: \"ok\". Subtotal $52.00",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
    }
    Ok(())
}

#[tokio::test]
async fn the_group_price_comes_and_goes_at_the_tier_under_concurrent_edits() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let (ana, ben, cart) = admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let mut a = ana.connect().await?;
    let mut b = ben.connect().await?;
    a.subscribe(cart).await?;
    b.subscribe(cart).await?;
    // Blue Mug: $12.00, $9.50 each from 10. Five and five at once.
    let (ra, rb) = tokio::join!(
        a.op(cart, add("MUG-BLUE", 5)),
        b.op(cart, add("MUG-BLUE", 5))
    );
    ra?.acked()?;
    rb?.acked()?;
    let server_view = ana.cart(cart).await?.view;
    assert_eq!(server_view.lines[0].quantity, 10);
    assert_eq!(server_view.lines[0].unit_price, 950);
    assert_eq!(server_view.subtotal, 9500);
    for conn in [&mut a, &mut b] {
        let replica = until(conn, cart, "both adds", |v| {
            v.heads.sorted() == server_view.heads.sorted()
        })
        .await?;
        assert_eq!(replica.lines, server_view.lines);
        assert_eq!(replica.subtotal, 9500);
    }
    let texts: Vec<String> = ana
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.ends_with("(Blue Mug: group price $9.50 each). Subtotal $95.00")),
        "{texts:?}"
    );
    // Both take one away at once: below the tier, back to the list price.
    let (ra, rb) = tokio::join!(
        a.op(cart, change("MUG-BLUE", -1)),
        b.op(cart, change("MUG-BLUE", -1))
    );
    ra?.acked()?;
    rb?.acked()?;
    let server_view = ana.cart(cart).await?.view;
    assert_eq!(server_view.lines[0].quantity, 8);
    assert_eq!(server_view.lines[0].unit_price, 1200);
    assert_eq!(server_view.subtotal, 9600);
    for conn in [&mut a, &mut b] {
        let replica = until(conn, cart, "both removals", |v| {
            v.heads.sorted() == server_view.heads.sorted()
        })
        .await?;
        assert_eq!(replica.lines, server_view.lines);
        assert_eq!(replica.checkout, server_view.checkout);
    }
    let texts: Vec<String> = ana
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("back to $12.00 each"))
            .count(),
        1,
        "{texts:?}"
    );
    Ok(())
}

fn address(label: &str, country: &str) -> Address {
    Address {
        label: label.into(),
        name: "Ana Lima".into(),
        line1: "1 Main St".into(),
        line2: String::new(),
        city: "Springfield".into(),
        postal_code: "12345".into(),
        country: country.into(),
    }
}

#[tokio::test]
async fn addresses_shipping_and_an_even_split_make_an_order_whose_shares_add_up()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cleo = server.account("Cleo").await?;
    let sam = Account::sign_up(&server.base_url, "sam@shop.example", PASSWORD, "Sam").await?;
    server.make_staff(&sam).await?;
    let cart = shared_cart(
        &ana,
        &[(&ben, MemberRole::Editor), (&cleo, MemberRole::Editor)],
    )
    .await?;
    ok(&ben, cart, add("MUG-BLUE", 2)).await?; // $24.00
    ok(&cleo, cart, add("TEA-GREEN", 1)).await?; // $6.50
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    let home = match conn
        .op(
            cart,
            Op::AddAddress {
                address: address("Home", "US"),
            },
        )
        .await?
    {
        OpOutcome::Acked {
            created: Some(id), ..
        } => id,
        other => panic!("{other:?}"),
    };
    let OpOutcome::Acked {
        created: Some(abroad),
        ..
    } = conn
        .op(
            cart,
            Op::AddAddress {
                address: address("Grandma", "FR"),
            },
        )
        .await?
    else {
        panic!("no address id");
    };
    ok(&ana, cart, Op::Lock).await?;
    let ship = |address_id: &str, sku: &str, quantity| Op::SetAllocation {
        address_id: address_id.into(),
        line_id: LineId(sku.into()),
        quantity,
    };
    ok(&ana, cart, ship(&home, "MUG-BLUE", 2)).await?;
    let quote = ana.quote(cart).await?;
    assert_eq!(quote.blockers[0].code, ErrorCode::UnassignedQuantity);
    assert!(quote.blockers[0].message.contains("Green Tea"), "{quote:?}");
    assert_eq!(
        code_of(ana.place_order(cart, quote.total).await),
        ErrorCode::UnassignedQuantity
    );
    ok(&ana, cart, ship(&abroad, "TEA-GREEN", 1)).await?;
    let plan = SplitPlan::Even {
        payers: vec![ana.user_id, ben.user_id, cleo.user_id],
    };
    ok(&ana, cart, Op::SetSplit { plan: plan.clone() }).await?;
    let quote = ana.quote(cart).await?;
    assert!(quote.blockers.is_empty(), "{quote:?}");
    // US parcel $4.99 (under $50 of goods), the rest of the world $14.99.
    assert_eq!(quote.shipping_total, 499 + 1499);
    assert_eq!(quote.total, 2400 + 650 + 499 + 1499);
    let amounts: Vec<i64> = quote.shares.iter().map(|s| s.amount).collect();
    assert_eq!(amounts.iter().sum::<i64>(), quote.total);
    assert_eq!(
        amounts,
        [1683, 1683, 1682],
        "the first by user id pays the cent"
    );

    // A total the buyer was not shown is not charged.
    let stale = ana.place_order(cart, quote.total - 1).await;
    let e = stale.expect_err("a wrong total was accepted");
    let refusal = api_error(&e).unwrap();
    assert_eq!(refusal.error_code(), Some(ErrorCode::PriceChanged));
    assert!(refusal.message.contains("$50.48"), "{}", refusal.message);

    let order = ana.place_order(cart, quote.total).await?;
    assert_eq!(
        order.shares.iter().map(|s| s.amount).sum::<i64>(),
        order.total
    );
    assert_eq!(order.addresses.len(), 2);
    assert!(!order.paid);
    assert!(order.shares.iter().all(|s| s.provider == "invoice"));
    until(&mut conn, cart, "the order", |v| {
        phase(v) == CartPhase::Ordered
    })
    .await?;
    // The replica derives from the document what the server shows:
    // addresses and what ships to each, the split, the order.
    let server_view = ana.cart(cart).await?.view;
    let replica = until(&mut conn, cart, "the server's heads", |v| {
        v.heads.sorted() == server_view.heads.sorted()
    })
    .await?;
    let checkout = replica.checkout.clone().expect("a checkout");
    assert_eq!(checkout.addresses.len(), 2);
    assert_eq!(
        checkout
            .order
            .as_ref()
            .map(|o| (o.order_id.as_str(), o.total)),
        Some((order.id.as_str(), order.total))
    );
    assert_eq!(replica.checkout, server_view.checkout);
    assert_eq!(ben.order(&order.id).await?.id, order.id);
    assert_eq!(code_of(ben.store_orders().await), ErrorCode::Forbidden);
    assert_eq!(
        code_of(ben.mark_share_paid(&order.id, ben.user_id).await),
        ErrorCode::Forbidden
    );
    assert_eq!(sam.store_orders().await?[0].id, order.id);
    let mut paid = order.clone();
    for share in &order.shares {
        paid = sam.mark_share_paid(&order.id, share.user_id).await?;
    }
    assert!(paid.paid);
    // Everyone in the cart hears it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match conn.next_event_timeout(left).await? {
            Some(cartroom_client::Event::Msg(cartroom_protocol::ServerMsg::Activity {
                event,
                ..
            })) if event.text.ends_with("the order is paid") => break,
            Some(_) => continue,
            None => anyhow::bail!("no activity event for the paid order"),
        }
    }
    Ok(())
}

/// A locked cart of `account` with these lines, ready to order.
async fn locked_cart(account: &Account, lines: &[(&str, i64)]) -> anyhow::Result<CartId> {
    let cart = account.create_cart("Race").await?;
    for (sku, quantity) in lines {
        ok(account, cart, add(sku, *quantity)).await?;
    }
    ok(account, cart, Op::Lock).await?;
    Ok(cart)
}

#[tokio::test]
async fn twenty_carts_race_for_five_units_and_exactly_five_are_sold() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.http_ops_per_second = 10_000).await?;
    let ana = server.account("Ana").await?;
    // Electric Kettle: 40 in stock; a first order takes 35.
    assert_eq!(product(&ana, "KETTLE").await?.stock, 40);
    let big = locked_cart(&ana, &[("KETTLE", 35)]).await?;
    ana.place_order(big, quote_total(&ana, big).await?).await?;
    assert_eq!(product(&ana, "KETTLE").await?.stock, 5);

    let mut carts = Vec::new();
    for _ in 0..20 {
        let cart = locked_cart(&ana, &[("KETTLE", 1), ("MUG-RED", 1)]).await?;
        carts.push((cart, quote_total(&ana, cart).await?));
    }
    let orders = futures_util::future::join_all(
        carts
            .iter()
            .map(|(cart, total)| ana.place_order(*cart, *total)),
    )
    .await;
    let mut sold = 0;
    for (result, (cart, _)) in orders.into_iter().zip(&carts) {
        match result {
            Ok(order) => {
                sold += order
                    .lines
                    .iter()
                    .find(|l| l.sku == "KETTLE")
                    .unwrap()
                    .quantity;
                assert_eq!(phase(&ana.cart(*cart).await?.view), CartPhase::Ordered);
            }
            Err(e) => {
                let refusal = api_error(&e).unwrap_or_else(|| panic!("{e:#}"));
                assert_eq!(
                    refusal.error_code(),
                    Some(ErrorCode::OutOfStock),
                    "{refusal}"
                );
                assert!(
                    refusal.message.contains("Electric Kettle"),
                    "{}",
                    refusal.message
                );
                assert!(!refusal.message.contains("Red Mug"), "{}", refusal.message);
                // Nothing was taken: the cart is still locked, without an order.
                assert!(ana.cart_orders(*cart).await?.is_empty());
                assert_eq!(phase(&ana.cart(*cart).await?.view), CartPhase::Locked);
            }
        }
    }
    assert_eq!(sold, 5);
    assert_eq!(product(&ana, "KETTLE").await?.stock, 0);
    // Red mugs went only with the five orders that won.
    assert_eq!(product(&ana, "MUG-RED").await?.stock, 500 - 5);
    Ok(())
}

#[tokio::test]
async fn cancelling_returns_the_stock_and_reopens_the_cart() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let sam = Account::sign_up(&server.base_url, "sam@shop.example", PASSWORD, "Sam").await?;
    server.make_staff(&sam).await?;
    let before = product(&ana, "COFFEE-BEANS").await?.stock;
    let cart = locked_cart(&ana, &[("COFFEE-BEANS", 3)]).await?;
    let order = ana
        .place_order(cart, quote_total(&ana, cart).await?)
        .await?;
    assert_eq!(product(&ana, "COFFEE-BEANS").await?.stock, before - 3);
    // Members cannot move it on; a stranger does not see it.
    assert_eq!(
        code_of(
            ana.set_order_status(&order.id, OrderStatus::Confirmed)
                .await
        ),
        ErrorCode::Forbidden
    );
    let stranger = server.account("Zed").await?;
    assert_eq!(
        code_of(stranger.order(&order.id).await),
        ErrorCode::OrderNotFound
    );

    let cancelled = ana
        .set_order_status(&order.id, OrderStatus::Cancelled)
        .await?;
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(product(&ana, "COFFEE-BEANS").await?.stock, before);
    let view = ana.cart(cart).await?.view;
    assert_eq!(phase(&view), CartPhase::Open);
    assert_eq!(
        code_of(
            ana.set_order_status(&order.id, OrderStatus::Cancelled)
                .await
        ),
        ErrorCode::WrongPhase
    );

    // Ordered again: the store confirms and fulfils; then it cannot be cancelled.
    ok(&ana, cart, Op::Lock).await?;
    let again: OrderView = ana
        .place_order(cart, quote_total(&ana, cart).await?)
        .await?;
    sam.set_order_status(&again.id, OrderStatus::Confirmed)
        .await?;
    sam.set_order_status(&again.id, OrderStatus::Fulfilled)
        .await?;
    assert_eq!(
        code_of(
            sam.set_order_status(&again.id, OrderStatus::Cancelled)
                .await
        ),
        ErrorCode::WrongPhase
    );
    assert_eq!(product(&ana, "COFFEE-BEANS").await?.stock, before - 3);
    let order_view = ana.cart(cart).await?.view.checkout.unwrap().order.unwrap();
    assert_eq!(order_view.status, OrderStatus::Fulfilled);
    Ok(())
}

#[tokio::test]
async fn kill_9_while_orders_are_placed_leaves_whole_orders_with_their_stock_or_nothing()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path()).await?;
    let ana = cartroom_e2e::sign_up(&server.base_url, "Ana").await?;
    let stock_before: HashMap<&str, i64> = {
        let mut m = HashMap::new();
        for sku in ["COFFEE-BEANS", "PLATES-4"] {
            m.insert(sku, product(&ana, sku).await?.stock);
        }
        m
    };
    let mut carts = Vec::new();
    for i in 0..24 {
        let cart = locked_cart(&ana, &[("COFFEE-BEANS", 1 + i % 3), ("PLATES-4", 1)]).await?;
        carts.push((cart, quote_total(&ana, cart).await?));
    }
    // Place them all at once; kill the node as soon as the first answer comes.
    let mut pending: futures_util::stream::FuturesUnordered<_> = carts
        .iter()
        .map(|(cart, total)| ana.place_order(*cart, *total))
        .collect();
    use futures_util::StreamExt;
    let first = pending.next().await.expect("24 requests");
    server.kill_9().await?;
    drop(pending);
    first?;

    // What the database holds, read directly.
    let pool = cartroom_e2e::backend::pool(dir.path()).await?;
    use sqlx::Row;
    let orders = sqlx::query("SELECT id, cart_id FROM orders WHERE status = 'pending'")
        .fetch_all(&pool)
        .await?;
    for row in &orders {
        let id: String = row.get("id");
        let lines: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_lines WHERE order_id = $1")
            .bind(&id)
            .fetch_one(&pool)
            .await?;
        let shares: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM order_shares WHERE order_id = $1")
                .bind(&id)
                .fetch_one(&pool)
                .await?;
        assert_eq!((lines, shares), (2, 1), "order {id} is whole");
    }
    for (sku, before) in &stock_before {
        let sold: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) FROM order_lines l JOIN orders o ON o.id = l.order_id
             WHERE l.sku = $1 AND o.status <> 'cancelled'",
        )
        .bind(sku)
        .fetch_one(&pool)
        .await?;
        let stock: i64 = sqlx::query_scalar("SELECT stock FROM products WHERE sku = $1")
            .bind(sku)
            .fetch_one(&pool)
            .await?;
        assert_eq!(stock, before - sold, "{sku}: stock and orders agree");
    }
    pool.close().await;
    assert!(
        !orders.is_empty(),
        "the first answer was an order, so it is stored"
    );

    // After a restart every cart with an order shows it, the others are
    // still locked and can be ordered.
    let server = ServerProcess::start(dir.path()).await?;
    let ana = sign_in_again(&server.base_url, &ana).await?;
    let ordered: Vec<String> = orders
        .iter()
        .map(|r| r.get::<String, _>("cart_id"))
        .collect();
    for (cart, total) in &carts {
        let view = ana.cart(*cart).await?.view;
        if ordered.contains(&cart.to_string()) {
            assert_eq!(phase(&view), CartPhase::Ordered);
        } else {
            assert_eq!(phase(&view), CartPhase::Locked);
            ana.place_order(*cart, *total).await?;
        }
    }
    for (sku, before) in &stock_before {
        let sold: i64 = carts
            .iter()
            .enumerate()
            .map(|(i, _)| {
                if *sku == "COFFEE-BEANS" {
                    1 + i as i64 % 3
                } else {
                    1
                }
            })
            .sum();
        assert_eq!(product(&ana, sku).await?.stock, before - sold, "{sku}");
    }
    server.kill_9().await?;
    Ok(())
}

#[tokio::test]
async fn a_named_editor_approves_another_editor_cannot_and_a_removed_approver_cannot()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cleo = server.account("Cleo").await?;
    let cart = shared_cart(
        &ana,
        &[(&ben, MemberRole::Editor), (&cleo, MemberRole::Editor)],
    )
    .await?;
    let mut b = ben.connect().await?;
    b.subscribe(cart).await?;
    let mut c = cleo.connect().await?;
    c.subscribe(cart).await?;
    ok(&ben, cart, add("KETTLE", 2)).await?;
    ok(&ana, cart, Op::SetApprovalThreshold { amount: Some(5000) }).await?;
    let name_ben = Op::SetApprover {
        user_id: Some(ben.user_id),
    };
    assert_eq!(
        http(&cleo, cart, name_ben.clone()).await?,
        Some(ErrorCode::Forbidden),
        "only an admin names the approver"
    );
    ok(&ana, cart, name_ben).await?;
    // Pushed live: Ben's replica names him.
    let view = until(&mut b, cart, "the approver", |v| {
        v.checkout.as_ref().and_then(|c| c.approver.clone()) == Some(ben.user_id.to_string())
    })
    .await?;
    assert_eq!(view.checkout.unwrap().approver_name.as_deref(), Some("Ben"));
    ok(&ana, cart, Op::Lock).await?;
    ok(&ana, cart, Op::RequestApproval).await?;
    until(&mut c, cart, "pending approval", |v| {
        phase(v) == CartPhase::PendingApproval
    })
    .await?;
    let refused = c.op(cart, Op::Approve { comment: None }).await?;
    assert!(
        matches!(
            &refused,
            OpOutcome::Refused {
                code: ErrorCode::Forbidden,
                ..
            }
        ),
        "another editor: {refused:?}"
    );
    let approved = b
        .op(
            cart,
            Op::Approve {
                comment: Some("fine by me".into()),
            },
        )
        .await?;
    assert!(matches!(approved, OpOutcome::Acked { .. }), "{approved:?}");
    until(&mut c, cart, "approved", |v| {
        phase(v) == CartPhase::Approved
    })
    .await?;

    // Asked again; Ben leaves the cart: approving falls back to the admins.
    ok(&ana, cart, Op::Unlock).await?;
    ok(&ana, cart, Op::Lock).await?;
    ok(&ana, cart, Op::RequestApproval).await?;
    ana.remove_member(cart, ben.user_id).await?;
    assert!(
        http(&ben, cart, Op::Approve { comment: None })
            .await?
            .is_some(),
        "a removed approver cannot approve"
    );
    let refused = b.op(cart, Op::Approve { comment: None }).await?;
    assert!(matches!(refused, OpOutcome::Refused { .. }), "{refused:?}");
    let view = until(&mut c, cart, "the approver cleared", |v| {
        v.checkout.as_ref().is_some_and(|c| c.approver.is_none())
    })
    .await?;
    assert_eq!(phase(&view), CartPhase::PendingApproval);
    ok(&ana, cart, Op::Approve { comment: None }).await?;
    let texts: Vec<String> = ana
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    for want in [
        "Ana named Ben the approver of the order. Subtotal $78.00",
        "Ben approved the order: \"fine by me\". Subtotal $78.00",
        "Cartroom cleared the approver: Ben is no longer a member; admins approve. Subtotal $78.00",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want:?} not in {texts:?}");
    }
    Ok(())
}
