//! Merchant shares ("offers") end to end: the real server on 127.0.0.1:0
//! sending its e-mails to a real SMTP server (`cartroom_e2e::smtp`), real
//! sockets. A member of the store's staff builds a cart and sends it; one
//! customer takes a copy, another opens it live and edits it with the
//! staff; neither customer's own cart changes; the staff see each offer's
//! status; expiry holds at its boundary.

use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use cartroom::clock::ManualClock;
use cartroom_client::{Account, Event, api_error};
use cartroom_e2e::TestServer;
use cartroom_e2e::smtp::{ReceivedMail, SmtpServer};
use cartroom_protocol::http::CartView;
use cartroom_protocol::merchant::{OfferMode, OfferRequest, OfferStatus};
use cartroom_protocol::{CartId, ErrorCode, MemberRole, Op, OpId, ServerMsg};

/// How long an e-mail may take to arrive.
const MAIL_WAIT: Duration = Duration::from_secs(20);
const DAY_MS: i64 = 86_400_000;

fn refusal<T: std::fmt::Debug>(result: anyhow::Result<T>) -> (ErrorCode, u16) {
    let e = result.expect_err("the call was refused");
    let api = api_error(&e).unwrap_or_else(|| panic!("not a refusal: {e:#}"));
    (
        api.error_code()
            .unwrap_or_else(|| panic!("no stable code: {e:#}")),
        api.status,
    )
}

async fn mail_to(smtp: &mut SmtpServer, to: &str) -> anyhow::Result<ReceivedMail> {
    let mail = smtp.next_mail(MAIL_WAIT).await?;
    if !mail.to.iter().any(|r| r == to) {
        bail!("an e-mail to {:?}, not {to}", mail.to);
    }
    Ok(mail)
}

async fn add(account: &Account, cart: CartId, sku: &str, quantity: i64) -> anyhow::Result<()> {
    let op = Op::AddLine {
        sku: sku.into(),
        quantity,
    };
    let op_id = OpId(uuid::Uuid::new_v4().simple().to_string());
    account.http_op(cart, &op_id, &op).await?;
    Ok(())
}

/// (sku, quantity) of each line.
fn lines(view: &CartView) -> Vec<(String, i64)> {
    let mut lines: Vec<_> = view
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity))
        .collect();
    lines.sort();
    lines
}

fn offer(email: &str, message: &str) -> OfferRequest {
    OfferRequest {
        email: email.into(),
        message: message.into(),
        expires_in_days: None,
    }
}

/// The demo owner puts a new account on the staff; it builds a cart.
async fn staff_with_cart(server: &TestServer) -> anyhow::Result<(Account, CartId)> {
    let sam = server.account("Sam").await?;
    server.make_staff(&sam).await?;
    let cart = sam.create_cart("Party pack").await?;
    add(&sam, cart, "MUG-BLUE", 2).await?;
    add(&sam, cart, "TEA-GREEN", 1).await?;
    Ok((sam, cart))
}

/// A customer with a cart of their own.
async fn customer_with_cart(server: &TestServer, name: &str) -> anyhow::Result<(Account, CartId)> {
    let customer = server.account(name).await?;
    let own = customer.create_cart("My groceries").await?;
    add(&customer, own, "COFFEE-BEANS", 1).await?;
    Ok((customer, own))
}

async fn expect_activity(conn: &mut cartroom_client::Connection, text: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match conn.next_event_timeout(left).await? {
            Some(Event::Msg(ServerMsg::Activity { event, .. })) if event.text == text => {
                return Ok(());
            }
            Some(_) => {}
            None => bail!("no activity {text:?} arrived"),
        }
    }
}

#[tokio::test]
async fn a_customer_takes_a_copy_and_their_own_cart_is_untouched() -> anyhow::Result<()> {
    let mut smtp = SmtpServer::start().await?;
    let server = TestServer::start_with(|c| c.smtp_url = Some(smtp.url())).await?;
    let (sam, cart) = staff_with_cart(&server).await?;
    let (cleo, own) = customer_with_cart(&server, "Cleo").await?;
    let cleo_email = cleo.email.clone().unwrap_or_default();

    let sent = sam
        .send_offer(cart, &offer(&cleo_email, "Everything for Saturday.\nSam"))
        .await?;
    assert_eq!(sent.status, OfferStatus::Pending);
    assert_eq!(sent.email, cleo_email);
    assert_eq!(sent.expires_at - sent.created_at, 14 * DAY_MS);
    let mail = mail_to(&mut smtp, &cleo_email).await?;
    let text = mail.decoded();
    assert!(text.contains("Party pack"), "{text}");
    assert!(text.contains("Everything for Saturday."), "{text}");
    let token = mail.token("offer")?;

    // The preview, without a session.
    let anyone = reqwest::Client::new()
        .post(format!("{}/api/offers/lookup", server.base_url))
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await?;
    assert_eq!(anyone.status(), 200);
    let preview: cartroom_protocol::merchant::OfferPreview = anyone.json().await?;
    assert_eq!(preview.cart_name, "Party pack");
    assert_eq!(preview.sent_by, "Sam");
    assert_eq!(preview.line_count, 2);
    assert_eq!(preview.email, cleo_email);

    let copied = cleo.accept_offer(&token, OfferMode::Copy).await?;
    assert_eq!(copied.mode, OfferMode::Copy);
    assert_eq!(copied.role, MemberRole::Admin);
    assert!(!copied.already_accepted);
    assert!(copied.skipped.is_empty());
    assert_ne!(copied.cart_id, cart);
    assert_ne!(copied.cart_id, own);
    let copy = cleo.cart(copied.cart_id).await?.view;
    assert_eq!(copy.name, "Party pack");
    assert_eq!(
        lines(&copy),
        [("MUG-BLUE".to_owned(), 2), ("TEA-GREEN".to_owned(), 1)]
    );
    // Cleo's own cart is as it was; she is no member of Sam's.
    let mine = cleo.cart(own).await?.view;
    assert_eq!(lines(&mine), [("COFFEE-BEANS".to_owned(), 1)]);
    assert_eq!(mine.name, "My groceries");
    assert_eq!(
        refusal(cleo.cart(cart).await),
        (ErrorCode::CartNotFound, 404)
    );
    // The copy is hers alone: Sam's cart does not follow it.
    add(&cleo, copied.cart_id, "MUG-BLUE", 1).await?;
    assert_eq!(
        lines(&sam.cart(cart).await?.view)[0],
        ("MUG-BLUE".to_owned(), 2)
    );

    // Again: the same copy. Live with the same token: used up.
    let again = cleo.accept_offer(&token, OfferMode::Copy).await?;
    assert!(again.already_accepted);
    assert_eq!(again.cart_id, copied.cart_id);
    assert_eq!(
        refusal(cleo.accept_offer(&token, OfferMode::Live).await),
        (ErrorCode::InviteUsedUp, 409)
    );
    let dan = server.account("Dan").await?;
    assert_eq!(
        refusal(dan.accept_offer(&token, OfferMode::Copy).await),
        (ErrorCode::InviteUsedUp, 409)
    );

    // Sam sees the status, and the cart's feed says what happened.
    let offers = sam.offers(cart).await?;
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].status, OfferStatus::AcceptedCopy);
    assert_eq!(offers[0].copy_cart_id, Some(copied.cart_id));
    assert_eq!(
        offers[0].accepted_by.as_ref().map(|a| a.user_id),
        Some(cleo.user_id)
    );
    let feed: Vec<String> = sam
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert!(
        feed.contains(&format!("Sam sent this cart to {cleo_email}")),
        "{feed:?}"
    );
    assert!(
        feed.contains(&"Cleo took a copy of this cart (Sam's offer)".to_owned()),
        "{feed:?}"
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_customer_opens_it_live_and_edits_it_with_the_staff() -> anyhow::Result<()> {
    let mut smtp = SmtpServer::start().await?;
    let server = TestServer::start_with(|c| c.smtp_url = Some(smtp.url())).await?;
    let (sam, cart) = staff_with_cart(&server).await?;
    let (dan, own) = customer_with_cart(&server, "Dan").await?;
    let dan_email = dan.email.clone().unwrap_or_default();
    let mut sam_conn = sam.connect().await?;
    sam_conn.subscribe(cart).await?;

    sam.send_offer(cart, &offer(&dan_email, "")).await?;
    let token = mail_to(&mut smtp, &dan_email).await?.token("offer")?;
    let live = dan.accept_offer(&token, OfferMode::Live).await?;
    assert_eq!(live.cart_id, cart);
    assert_eq!(live.role, MemberRole::Editor);
    assert!(!live.already_accepted);
    expect_activity(&mut sam_conn, "Dan opened Sam's offer live").await?;
    assert!(
        dan.accept_offer(&token, OfferMode::Live)
            .await?
            .already_accepted
    );
    assert_eq!(
        refusal(dan.accept_offer(&token, OfferMode::Copy).await),
        (ErrorCode::InviteUsedUp, 409)
    );

    // Both edit the one cart, live.
    let mut dan_conn = dan.connect().await?;
    dan_conn.subscribe(cart).await?;
    let outcome = dan_conn
        .op(
            cart,
            Op::AddLine {
                sku: "KETTLE".into(),
                quantity: 1,
            },
        )
        .await?;
    assert!(matches!(outcome, cartroom_client::OpOutcome::Acked { .. }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let view = cartroom_client::cart_view(sam_conn.replica(cart).expect("subscribed"));
        if view.lines.iter().any(|l| l.sku == "KETTLE") {
            break;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if sam_conn.next_event_timeout(left).await?.is_none() {
            bail!("Sam never saw Dan's line");
        }
    }
    // Dan's own cart is as it was.
    assert_eq!(
        lines(&dan.cart(own).await?.view),
        [("COFFEE-BEANS".to_owned(), 1)]
    );
    let offers = sam.offers(cart).await?;
    assert_eq!(offers[0].status, OfferStatus::AcceptedLive);
    assert_eq!(offers[0].copy_cart_id, None);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn only_staff_send_within_bounds_and_an_offer_expires_at_its_boundary() -> anyhow::Result<()>
{
    let start = 1_795_302_600_000;
    let clock = Arc::new(ManualClock::at(start));
    let mut smtp = SmtpServer::start().await?;
    let smtp_url = smtp.url();
    let server =
        TestServer::start_with_clock(clock.clone(), |c| c.smtp_url = Some(smtp_url)).await?;
    let (sam, cart) = staff_with_cart(&server).await?;

    // A shopper sends nothing, even from a cart of their own.
    let (eve, eves) = customer_with_cart(&server, "Eve").await?;
    assert_eq!(
        refusal(eve.send_offer(eves, &offer("x@example.com", "")).await),
        (ErrorCode::Forbidden, 403)
    );
    // Staff send only carts they administer.
    assert_eq!(
        refusal(sam.send_offer(eves, &offer("x@example.com", "")).await),
        (ErrorCode::CartNotFound, 404)
    );
    // Bounds: message, expiry, address.
    let long = "a".repeat(1001);
    assert_eq!(
        refusal(sam.send_offer(cart, &offer("x@example.com", &long)).await),
        (ErrorCode::InvalidField, 400)
    );
    for days in [0, 366] {
        let request = OfferRequest {
            expires_in_days: Some(days),
            ..offer("x@example.com", "")
        };
        assert_eq!(
            refusal(sam.send_offer(cart, &request).await),
            (ErrorCode::InvalidField, 400)
        );
    }
    assert_eq!(
        refusal(sam.send_offer(cart, &offer("not an address", "")).await),
        (ErrorCode::InvalidField, 400)
    );
    let exact = "b".repeat(1000);
    let request = OfferRequest {
        expires_in_days: Some(1),
        ..offer("fay@example.com", &exact)
    };
    let sent = sam.send_offer(cart, &request).await?;
    assert_eq!(sent.expires_at, start + DAY_MS);
    let token = mail_to(&mut smtp, "fay@example.com")
        .await?
        .token("offer")?;
    let fay = server.account("Fay").await?;

    // Just before: it still opens. At expires_at: expired, and listed so.
    clock.advance_ms(DAY_MS - 1);
    assert_eq!(fay.lookup_offer(&token).await?.cart_name, "Party pack");
    clock.advance_ms(1);
    assert_eq!(
        refusal(fay.accept_offer(&token, OfferMode::Live).await),
        (ErrorCode::InviteExpired, 410)
    );
    assert_eq!(
        refusal(fay.accept_offer(&token, OfferMode::Copy).await),
        (ErrorCode::InviteExpired, 410)
    );
    assert_eq!(sam.offers(cart).await?[0].status, OfferStatus::Expired);
    assert_eq!(
        refusal(fay.lookup_offer("not-a-token").await),
        (ErrorCode::InviteNotFound, 404)
    );
    server.stop().await?;
    Ok(())
}
