//! Customers share a cart with the store, end to end: the real server on
//! 127.0.0.1:0 e-mailing a real SMTP server, real sockets. A guest shares
//! a cart; every member of the staff gets an e-mail and sees it in the
//! "shared with us" list; a staff member opens it live as an editor and
//! both edit it; the owner's setting turns sharing off.

use std::time::Duration;

use anyhow::bail;
use cartroom_client::{Account, Event, OpOutcome, api_error, cart_view};
use cartroom_e2e::TestServer;
use cartroom_e2e::smtp::SmtpServer;
use cartroom_protocol::store::{StoreSettings, StoreShareId, StoreShareRequest, TakeoverConsent};
use cartroom_protocol::{ErrorCode, MemberRole, Op, ServerMsg};

const MAIL_WAIT: Duration = Duration::from_secs(20);

fn refusal<T: std::fmt::Debug>(result: anyhow::Result<T>) -> (ErrorCode, u16) {
    let e = result.expect_err("the call was refused");
    let api = api_error(&e).unwrap_or_else(|| panic!("not a refusal: {e:#}"));
    (
        api.error_code()
            .unwrap_or_else(|| panic!("no stable code: {e:#}")),
        api.status,
    )
}

fn request(name: &str, email: &str, message: &str) -> StoreShareRequest {
    StoreShareRequest {
        name: name.into(),
        email: email.into(),
        message: message.into(),
    }
}

async fn add(
    conn: &mut cartroom_client::Connection,
    cart: cartroom_protocol::CartId,
    sku: &str,
) -> anyhow::Result<()> {
    let outcome = conn
        .op(
            cart,
            Op::AddLine {
                sku: sku.into(),
                quantity: 1,
            },
        )
        .await?;
    if !matches!(outcome, OpOutcome::Acked { .. }) {
        bail!("{sku} was not added: {outcome:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_guest_shares_a_cart_and_the_staff_open_it_live() -> anyhow::Result<()> {
    let mut smtp = SmtpServer::start().await?;
    let server = TestServer::start_with(|c| c.smtp_url = Some(smtp.url())).await?;
    let sam = server.account("Sam").await?;
    server.make_staff(&sam).await?;
    let sam_email = sam.email.clone().unwrap_or_default();

    let guest = Account::guest(&server.base_url, "Gus").await?;
    assert!(
        guest.store_settings().await?.customer_shares,
        "the demo store takes shares"
    );
    let cart = guest.create_cart("Gift ideas").await?;
    let mut gus = guest.connect().await?;
    gus.subscribe(cart).await?;
    add(&mut gus, cart, "MUG-BLUE").await?;

    // Bounds first: a name, an address, a message of at most 1,000 characters.
    for bad in [
        request(" ", "gus@example.com", ""),
        request("Gus", "not an address", ""),
        request("Gus", "gus@example.com", &"m".repeat(1001)),
    ] {
        assert_eq!(
            refusal(guest.share_with_store(cart, &bad).await),
            (ErrorCode::InvalidField, 400)
        );
    }
    let shared = guest
        .share_with_store(
            cart,
            &request("Gus", "Gus@Example.com", "Which mug is sturdier?"),
        )
        .await?;
    assert_eq!(shared.cart_id, cart);
    assert_eq!(shared.email, "gus@example.com");
    assert_eq!(shared.cart_name, "Gift ideas");

    // The owner, the seeded agent and Sam each get an e-mail naming the
    // shopper and the cart.
    let mut recipients = Vec::new();
    for _ in 0..3 {
        let mail = smtp.next_mail(MAIL_WAIT).await?;
        let text = mail.decoded();
        assert!(text.contains("Gus"), "{text}");
        assert!(text.contains("Gift ideas"), "{text}");
        assert!(text.contains("Which mug is sturdier?"), "{text}");
        assert!(text.contains("/#/store/shared"), "{text}");
        recipients.extend(mail.to);
    }
    recipients.sort();
    let mut expected = vec![
        cartroom_e2e::DEMO_OWNER_EMAIL.to_owned(),
        cartroom_e2e::DEMO_AGENT_EMAIL.to_owned(),
        sam_email,
    ];
    expected.sort();
    assert_eq!(recipients, expected);

    // The "shared with us" list is the staff's alone.
    assert_eq!(
        refusal(guest.shared_with_store().await),
        (ErrorCode::Forbidden, 403)
    );
    let list = sam.shared_with_store().await?;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, shared.id);
    assert_eq!(list[0].line_count, 1);
    assert_eq!(list[0].message, "Which mug is sturdier?");
    assert_eq!(
        refusal(guest.open_shared(shared.id).await),
        (ErrorCode::Forbidden, 403)
    );
    assert_eq!(
        refusal(sam.open_shared(StoreShareId::new_random()).await),
        (ErrorCode::NotFound, 404)
    );

    // Sam opens it live, as an editor; both edit the one cart.
    let opened = sam.open_shared(shared.id).await?;
    assert_eq!(opened.cart_id, cart);
    assert_eq!(opened.role, MemberRole::Editor);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match gus.next_event_timeout(left).await? {
            Some(Event::Msg(ServerMsg::Activity { event, .. }))
                if event.text == "Sam of Cartroom Corner Shop opened the shared cart" =>
            {
                break;
            }
            Some(_) => {}
            None => bail!("Gus never saw Sam open the cart"),
        }
    }
    assert_eq!(sam.open_shared(shared.id).await?.role, MemberRole::Editor);
    let mut sam_conn = sam.connect().await?;
    sam_conn.subscribe(cart).await?;
    add(&mut sam_conn, cart, "TEA-GREEN").await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let view = cart_view(gus.replica(cart).expect("subscribed"));
        if view.lines.iter().any(|l| l.sku == "TEA-GREEN") {
            break;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if gus.next_event_timeout(left).await?.is_none() {
            bail!("Gus never saw Sam's line");
        }
    }
    let feed: Vec<String> = guest
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect();
    assert!(
        feed.contains(&"Gus shared this cart with Cartroom Corner Shop".to_owned()),
        "{feed:?}"
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_owner_decides_whether_the_store_takes_shared_carts() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let owner = server.owner().await?;
    let sam = server.account("Sam").await?;
    server.make_staff(&sam).await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cart = ana.create_cart("Shared").await?;
    ana.add_member(
        cart,
        ben.email.as_deref().unwrap_or_default(),
        MemberRole::Editor,
    )
    .await?;

    // Only the cart's admins share it.
    assert_eq!(
        refusal(
            ben.share_with_store(cart, &request("Ben", "ben@example.com", ""))
                .await
        ),
        (ErrorCode::Forbidden, 403)
    );
    // Only owners change the setting.
    let off = StoreSettings {
        customer_shares: false,
        takeover_consent: TakeoverConsent::WaivedForRegistered,
    };
    assert_eq!(
        refusal(sam.set_store_settings(&off).await),
        (ErrorCode::Forbidden, 403)
    );
    assert_eq!(
        refusal(ana.set_store_settings(&off).await),
        (ErrorCode::Forbidden, 403)
    );
    assert_eq!(owner.set_store_settings(&off).await?, off);
    assert!(!ana.store_settings().await?.customer_shares);
    assert_eq!(
        refusal(
            ana.share_with_store(cart, &request("Ana", "ana@example.com", ""))
                .await
        ),
        (ErrorCode::Forbidden, 403)
    );
    assert!(sam.shared_with_store().await?.is_empty());
    let on = StoreSettings {
        customer_shares: true,
        takeover_consent: TakeoverConsent::Required,
    };
    assert!(owner.set_store_settings(&on).await?.customer_shares);
    ana.share_with_store(cart, &request("Ana", "ana@example.com", ""))
        .await?;
    assert_eq!(sam.shared_with_store().await?.len(), 1);
    server.stop().await?;
    Ok(())
}
