//! The store owner's analytics end to end (`docs/protocol.md` section 16):
//! a small history is made through the real API on a manual clock that
//! crosses midnight in the demo store's time zone (America/New_York) and
//! the spring clock change, then every figure is checked against a count
//! made by hand below.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use cartroom::clock::ManualClock;
use cartroom_client::{Account, api_error};
use cartroom_e2e::{DEMO_AGENT_EMAIL, DEMO_OWNER_PASSWORD, TestServer};
use cartroom_protocol::analytics::{AnalyticsResponse, Figures};
use cartroom_protocol::checkout::OrderStatus;
use cartroom_protocol::sharing::CreatedLink;
use cartroom_protocol::{CartId, ErrorCode, Op, OpId};
use reqwest::Method;
use serde_json::json;

/// 2026-03-07 10:00 in New York (15:00 UTC), a Saturday; the clocks go
/// forward that night, so Sunday 2026-03-08 is 23 hours long.
const SATURDAY_10AM: i64 = 1_772_895_600_000;
const HOUR_MS: i64 = 3_600_000;

fn add(sku: &str, quantity: i64) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity,
    }
}

/// An op over HTTP that must be accepted.
async fn edit(account: &Account, cart: CartId, op: Op) -> anyhow::Result<()> {
    let op_id = OpId(format!("t-{}", uuid::Uuid::new_v4().simple()));
    account.http_op(cart, &op_id, &op).await?;
    Ok(())
}

/// Locks the cart and places its order at the quoted total.
async fn order(account: &Account, cart: CartId) -> anyhow::Result<String> {
    edit(account, cart, Op::Lock).await?;
    let quote = account.quote(cart).await?;
    Ok(account.place_order(cart, quote.total).await?.id)
}

async fn share_link(account: &Account, cart: CartId) -> anyhow::Result<CreatedLink> {
    let path = format!("/api/carts/{cart}/links");
    let body = json!({"role": "editor"});
    let value = account
        .request_json(Method::POST, &path, Some(&body))
        .await?;
    Ok(serde_json::from_value(value)?)
}

/// Opens the page of a link or invitation (the token is looked up).
async fn open(account: &Account, token: &str) -> anyhow::Result<()> {
    let body = json!({ "token": token });
    account
        .request_json(Method::POST, "/api/invites/lookup", Some(&body))
        .await?;
    Ok(())
}

async fn join(account: &Account, token: &str) -> anyhow::Result<()> {
    let body = json!({ "token": token });
    account
        .request_json(Method::POST, "/api/invites/accept", Some(&body))
        .await?;
    Ok(())
}

async fn invite(account: &Account, cart: CartId, email: &str) -> anyhow::Result<()> {
    let path = format!("/api/carts/{cart}/invitations");
    let body = json!({"email": email, "role": "editor", "message": "Join us"});
    account
        .request_json(Method::POST, &path, Some(&body))
        .await?;
    Ok(())
}

/// The token of the one invitation e-mail in the dev mailbox.
async fn invitation_token(base_url: &str) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let page = reqwest::get(format!("{base_url}/dev/mailbox"))
            .await?
            .text()
            .await?;
        if let Some(start) = page.find("/join#") {
            return Ok(page[start + "/join#".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("no invitation e-mail arrived: {page}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn analytics(account: &Account, query: &str) -> anyhow::Result<AnalyticsResponse> {
    let value = account
        .request_json(Method::GET, &format!("/api/store/analytics?{query}"), None)
        .await?;
    serde_json::from_value(value).context("the analytics")
}

fn code_of<T>(result: anyhow::Result<T>) -> Option<ErrorCode> {
    result
        .err()
        .and_then(|e| api_error(&e).and_then(|a| a.error_code()))
}

#[tokio::test]
async fn every_figure_equals_a_hand_count_of_a_seeded_history() -> anyhow::Result<()> {
    let clock = Arc::new(ManualClock::at(SATURDAY_10AM));
    let server = TestServer::start_with_clock(clock.clone(), |config| {
        config.invite_attempts_per_minute_per_ip = 10_000;
    })
    .await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cleo = server.account("Cleo").await?;
    let dan = server.account("Dan").await?;
    let eve = server.account("Eve").await?;

    // Saturday 10:00.
    // Cart 1: Ana invites Ben by e-mail; both edit; ordered ($24.00 + $6.50).
    let party = ana.create_cart("Party").await?;
    invite(&ana, party, ben.email.as_deref().context("e-mail")?).await?;
    join(&ben, &invitation_token(&server.base_url).await?).await?;
    edit(&ana, party, add("MUG-BLUE", 2)).await?;
    edit(&ben, party, add("TEA-GREEN", 1)).await?;
    order(&ana, party).await?; // Ana's lock is an edit: 3 edits, 2 editors.
    // Cart 2: Ben alone; ordered, then the order is cancelled.
    let solo = ben.create_cart("Solo").await?;
    edit(&ben, solo, add("MUG-BLUE", 1)).await?;
    let cancelled = order(&ben, solo).await?;
    ben.set_order_status(&cancelled, OrderStatus::Cancelled)
        .await?;
    // Cart 3: Cleo's link, opened twice by Dan, who joins and never edits.
    let linked = cleo.create_cart("Linked").await?;
    let cleo_link = share_link(&cleo, linked).await?;
    edit(&cleo, linked, add("MUG-BLUE", 1)).await?;
    open(&dan, &cleo_link.token).await?;
    open(&dan, &cleo_link.token).await?;
    join(&dan, &cleo_link.token).await?;

    // Saturday 23:30 in New York, already Sunday 04:30 in UTC.
    clock.advance_ms(13 * HOUR_MS + HOUR_MS / 2);
    // Cart 4: Dan alone, ordered ($13.00).
    let late = dan.create_cart("Late").await?;
    edit(&dan, late, add("TEA-GREEN", 2)).await?;
    order(&dan, late).await?;
    // Eve opens Cleo's link and joins.
    open(&eve, &cleo_link.token).await?;
    join(&eve, &cleo_link.token).await?;

    // Sunday 11:00 (daylight saving time since 03:00).
    clock.advance_ms(10 * HOUR_MS + HOUR_MS / 2);
    // Cart 5: Eve's link brings Ana, who edits; ordered ($12.00 + $6.50).
    let sunday = eve.create_cart("Sunday").await?;
    let eve_link = share_link(&eve, sunday).await?;
    open(&ana, &eve_link.token).await?;
    join(&ana, &eve_link.token).await?;
    edit(&ana, sunday, add("MUG-BLUE", 1)).await?;
    edit(&eve, sunday, add("TEA-GREEN", 1)).await?;
    invite(&eve, sunday, "never-answers@example.com").await?;
    order(&eve, sunday).await?; // Eve's lock: 3 edits, 2 editors.
    // Dan opens Cleo's link again (a member already: still an open).
    open(&dan, &cleo_link.token).await?;
    // A cart of the other store counts for that store only.
    ben.create_cart_in("tea", "Tea time").await?;

    let owner = server.owner().await?;
    let report = analytics(&owner, "store=demo&from=2026-03-07&to=2026-03-08").await?;
    assert_eq!(report.time_zone, "America/New_York");
    assert_eq!(report.currency, "USD");
    let saturday = Figures {
        carts: 4,                 // Party, Solo, Linked, Late
        shared_carts: 2,          // Party (Ana, Ben), Linked (Cleo, Dan, Eve)
        collaborative_carts: 1,   // Party: Dan and Eve never edited Linked
        ordered_carts: 2,         // Party, Late; Solo's order was cancelled
        order_value: 3050 + 1300, // Party, Late
        shared_ordered_carts: 1,  // Party
        shared_order_value: 3050,
        members: 2 + 1 + 3 + 1,
        edits: 3 + 2 + 1 + 2, // Party: add, add, lock; Solo: add, lock; Linked: add; Late: add, lock
        invitations_sent: 1,  // Ben
        invitations_accepted: 1, // Ben
        link_opens: 3,        // Dan twice, Eve at 23:30
        link_joins: 2,        // Dan, Eve
    };
    let sunday_figures = Figures {
        carts: 1,
        shared_carts: 1,
        collaborative_carts: 1,
        ordered_carts: 1,
        order_value: 1850,
        shared_ordered_carts: 1,
        shared_order_value: 1850,
        members: 2,
        edits: 3,
        invitations_sent: 1,
        invitations_accepted: 0,
        link_opens: 2, // Ana (Eve's link), Dan (Cleo's)
        link_joins: 1,
    };
    let dates: Vec<&str> = report.days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(dates, ["2026-03-07", "2026-03-08"]);
    assert_eq!(report.days[0].figures, saturday);
    assert_eq!(report.days[1].figures, sunday_figures);
    let totals = Figures {
        carts: 5,
        shared_carts: 3,
        collaborative_carts: 2,
        ordered_carts: 3,
        order_value: 6200,
        shared_ordered_carts: 2,
        shared_order_value: 4900,
        members: 9,
        edits: 11,
        invitations_sent: 2,
        invitations_accepted: 1,
        link_opens: 5,
        link_joins: 3,
    };
    assert_eq!(report.totals, totals);
    assert_eq!(report.rates.shared_rate, Some(3.0 / 5.0));
    assert_eq!(report.rates.collaboration_rate, Some(2.0 / 5.0));
    assert_eq!(report.rates.conversion, Some(3.0 / 5.0));
    assert_eq!(report.rates.average_order_value, Some(2067)); // 6200 / 3 = 2066.67
    assert_eq!(report.rates.edits_per_member, Some(11.0 / 9.0));
    let shared = &report.segments.shared;
    assert_eq!(
        (shared.carts, shared.ordered_carts, shared.order_value),
        (3, 2, 4900)
    );
    assert_eq!(shared.conversion, Some(2.0 / 3.0));
    assert_eq!(shared.average_order_value, Some(2450));
    let single = &report.segments.single;
    assert_eq!(
        (single.carts, single.ordered_carts, single.order_value),
        (2, 1, 1300)
    );
    assert_eq!(single.conversion, Some(1.0 / 2.0));
    assert_eq!(single.average_order_value, Some(1300));
    // Newest first: Eve's link (Sunday), then Cleo's (Saturday).
    let links: Vec<_> = report
        .links
        .iter()
        .map(|l| (l.link_id, l.cart_id, l.opens, l.joins, l.orders))
        .collect();
    assert_eq!(
        links,
        [
            (eve_link.link.id, sunday, 1, 1, 1),
            (cleo_link.link.id, linked, 4, 2, 0),
        ]
    );
    assert_eq!(report.links_total, 2);

    // Sunday alone: its day, and only the link made that day.
    let report = analytics(&owner, "store=demo&from=2026-03-08&to=2026-03-08").await?;
    assert_eq!(report.days.len(), 1);
    assert_eq!(report.totals, sunday_figures);
    assert_eq!(report.links.len(), 1);
    // The other store, and a day with nothing.
    let tea = analytics(&owner, "store=tea&from=2026-03-08&to=2026-03-08").await?;
    assert_eq!(tea.time_zone, "Europe/Berlin");
    assert_eq!((tea.totals.carts, tea.totals.members), (1, 1));
    let empty = analytics(&owner, "store=demo&from=2026-03-09&to=2026-03-09").await?;
    assert_eq!(empty.totals, Figures::default());
    assert_eq!(empty.rates.conversion, None);
    Ok(())
}

#[tokio::test]
async fn only_owners_see_analytics_and_periods_are_checked() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let owner = server.owner().await?;
    let agent = Account::sign_in(&server.base_url, DEMO_AGENT_EMAIL, DEMO_OWNER_PASSWORD).await?;
    let shopper = server.account("Ana").await?;
    let period = "from=2026-01-01&to=2026-01-31";
    assert!(analytics(&owner, period).await.is_ok(), "the default store");
    for who in [&agent, &shopper] {
        assert_eq!(
            code_of(analytics(who, period).await),
            Some(ErrorCode::Forbidden)
        );
    }
    for bad in [
        "from=2026-01-01",
        "to=2026-01-01",
        "from=2026-01-02&to=2026-01-01",
        "from=2024-01-01&to=2025-01-01",
        "from=2026-13-01&to=2026-12-31",
        "from=yesterday&to=2026-01-01",
    ] {
        assert_eq!(
            code_of(analytics(&owner, bad).await),
            Some(ErrorCode::InvalidField),
            "{bad}"
        );
    }
    assert_eq!(
        code_of(analytics(&owner, "store=nope&from=2026-01-01&to=2026-01-01").await),
        Some(ErrorCode::StoreNotFound)
    );
    assert!(
        analytics(&owner, "from=2024-01-01&to=2024-12-31")
            .await
            .is_ok(),
        "366 days"
    );
    Ok(())
}
