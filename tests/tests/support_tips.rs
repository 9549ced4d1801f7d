//! Cart activity tips over real sockets: each committed edit of a
//! customer's cart becomes one tip per product in their conversation with
//! the cart's store, in the exact text of the issue with the time in the
//! store's time zone; tips reach the store's staff only, exactly once and
//! in order; they never count as unread or change the status; a closed
//! conversation or an offline shopper gets none.
//!
//! Time comes from a manual clock at 2026-11-26 02:10 UTC, which is
//! Nov 25, 21:10 in New York (the corner shop) and Nov 26, 03:10 in Berlin
//! (the tea house). Absence is shown without waiting on time: tips are
//! made by one worker in commit order, so once a later edit's tip arrives,
//! an earlier edit that made none has been passed over for good.

mod support_desk;

use std::sync::Arc;
use std::time::Duration;

use cartroom::clock::ManualClock;
use cartroom_client::{Account, Connection, Event};
use cartroom_e2e::{DEMO_AGENT_EMAIL, TEA_AGENT_EMAIL, TestServer};
use cartroom_protocol::support::{
    Conversation, ConversationId, ConversationStatus, MessageKind, MessagesResponse, SupportMessage,
};
use cartroom_protocol::{CartId, LineId, MemberRole, Op, OpId, ServerMsg};
use reqwest::Method;
use serde_json::{Value, json};
use support_desk::{agent, call, cart_in, get, open, set_status};

/// How long any one wait for an event may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);
/// 2026-11-26 02:10:00 UTC.
const START_MS: i64 = 1_795_659_000_000;

async fn start() -> anyhow::Result<(TestServer, Arc<ManualClock>)> {
    let clock = Arc::new(ManualClock::at(START_MS));
    // Fifty guests and their sockets come from one address.
    let server = TestServer::start_with_clock(clock.clone(), |c| {
        c.accounts_per_hour_per_ip = 1000;
        c.max_connections_per_ip = 1000;
    })
    .await?;
    Ok((server, clock))
}

async fn thread(account: &Account, id: ConversationId) -> anyhow::Result<Vec<SupportMessage>> {
    let page: MessagesResponse = call(
        account,
        Method::GET,
        &format!("/api/support/conversations/{id}/messages"),
        None,
    )
    .await?;
    Ok(page.messages)
}

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

/// A shopper online: a socket subscribed to their cart.
async fn online(account: &Account, cart: CartId) -> anyhow::Result<Connection> {
    let mut conn = account.connect().await?;
    conn.subscribe(cart).await?;
    Ok(conn)
}

/// The next `support_message` on `conn`, skipping anything else.
async fn next_message(conn: &mut Connection) -> anyhow::Result<(ConversationId, SupportMessage)> {
    loop {
        match conn.next_event_timeout(WAIT).await? {
            Some(Event::Msg(ServerMsg::SupportMessage {
                conversation_id,
                message,
            })) => return Ok((conversation_id, *message)),
            Some(Event::Closed { code, reason }) => {
                anyhow::bail!("closed ({code:?}): {reason}")
            }
            Some(_) => {}
            None => anyhow::bail!("no support_message within {WAIT:?}"),
        }
    }
}

fn added(name: &str, n: i64, when: &str, subtotal: &str) -> String {
    format!(
        "This customer added {name}*{n} in their cart on {when}. The cart subtotal is {subtotal}"
    )
}

fn removed(name: &str, n: i64, when: &str, subtotal: &str) -> String {
    format!(
        "This customer removed {name}*{n} from their cart on {when}. The cart subtotal is {subtotal}"
    )
}

#[tokio::test]
async fn an_agent_watching_50_shoppers_carts_gets_each_tip_exactly_once_in_order_in_the_exact_text()
-> anyhow::Result<()> {
    const SHOPPERS: usize = 50;
    let (server, clock) = start().await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let mut wade_ws = wade.connect().await?;

    // Fifty guests, each with a cart, a conversation and a live socket.
    let mut shoppers = Vec::new();
    for i in 0..SHOPPERS {
        let guest = Account::guest(&server.base_url, &format!("Shopper {i}")).await?;
        let cart = cart_in(&guest, "demo", "Groceries").await?;
        let conversation = open(&guest, "demo").await?.id;
        let conn = online(&guest, cart).await?;
        shoppers.push((guest, cart, conversation, conn));
    }
    // The agent's one socket watches every one of the fifty carts.
    for (_, cart, _, _) in &shoppers {
        wade_ws.subscribe(*cart).await?;
    }

    // Everyone adds at 21:10; then, at 21:12, changes their mind.
    let edits = shoppers.iter_mut().map(|(_, cart, _, conn)| async move {
        conn.op(*cart, add("MUG-BLUE", 2)).await?.acked()?;
        conn.op(*cart, add("MUG-RED", 1)).await?.acked()?;
        anyhow::Ok(())
    });
    futures_util::future::try_join_all(edits).await?;
    clock.advance_ms(2 * 60 * 1000);
    let edits = shoppers.iter_mut().map(|(_, cart, _, conn)| async move {
        conn.op(*cart, change("MUG-BLUE", -1)).await?.acked()?;
        conn.op(*cart, change("MUG-RED", 3)).await?.acked()?;
        anyhow::Ok(())
    });
    futures_util::future::try_join_all(edits).await?;

    let expected = [
        added("Blue Mug", 2, "Nov 25, 21:10", "$24.00"),
        added("Red Mug", 1, "Nov 25, 21:10", "$36.00"),
        removed("Blue Mug", 1, "Nov 25, 21:12", "$24.00"),
        added("Red Mug", 3, "Nov 25, 21:12", "$60.00"),
    ];
    let mut heard: std::collections::HashMap<ConversationId, Vec<SupportMessage>> =
        Default::default();
    for _ in 0..SHOPPERS * expected.len() {
        let (conversation, message) = next_message(&mut wade_ws).await?;
        heard.entry(conversation).or_default().push(message);
    }
    for (_, cart, conversation, _) in &shoppers {
        let tips = &heard[conversation];
        let texts: Vec<&str> = tips.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(
            texts,
            expected.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert_eq!(tips.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert!(tips.iter().all(|m| m.kind == MessageKind::Tip
            && m.cart_id == Some(*cart)
            && m.author_id.is_none()));
    }
    // Exactly once: the thread holds the same four, and nothing more came.
    let (_, _, conversation, _) = &shoppers[7];
    let stored = thread(&wade, *conversation).await?;
    assert_eq!(stored, heard[conversation]);
    let (guest, _, conversation, _) = &shoppers[0];
    call::<Value>(
        guest,
        Method::POST,
        &format!("/api/support/conversations/{conversation}/messages"),
        Some(json!({ "text": "done" })),
    )
    .await?;
    let (after, message) = next_message(&mut wade_ws).await?;
    assert_eq!(
        (after, message.seq, message.kind),
        (*conversation, 5, MessageKind::Customer)
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn tips_leave_unread_counts_and_status_unchanged_and_shoppers_never_see_them()
-> anyhow::Result<()> {
    let (server, _clock) = start().await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let mut wade_ws = wade.connect().await?;
    let sam = server.account("Sam").await?;
    let cart = sam.create_cart("Party").await?;
    let id = open(&sam, "demo").await?.id;
    let mut sam_ws = online(&sam, cart).await?;
    call::<Value>(
        &sam,
        Method::POST,
        &format!("/api/support/conversations/{id}/messages"),
        Some(json!({ "text": "Which mug is bigger?" })),
    )
    .await?;
    let before = get(&wade, id).await?;
    assert_eq!(
        (before.unread_for_agents, before.status),
        (1, ConversationStatus::Open)
    );

    sam_ws.op(cart, add("MUG-BLUE", 2)).await?.acked()?;
    let (_, question) = next_message(&mut wade_ws).await?;
    assert_eq!(question.kind, MessageKind::Customer);
    let (_, tip) = next_message(&mut wade_ws).await?;
    assert_eq!(tip.text, added("Blue Mug", 2, "Nov 25, 21:10", "$24.00"));

    let after = get(&wade, id).await?;
    assert_eq!(after.unread_for_agents, before.unread_for_agents);
    assert_eq!(after.unread_for_customer, before.unread_for_customer);
    assert_eq!(after.status, before.status);
    assert_eq!(after.last_seq, 2);
    assert_eq!(after.last_message, before.last_message);
    // The agent reads past the tip: still nothing counts.
    let read: Conversation = call(
        &wade,
        Method::POST,
        &format!("/api/support/conversations/{id}/read"),
        Some(json!({ "seq": 2 })),
    )
    .await?;
    assert_eq!(read.unread_for_agents, 0);

    // The shopper's thread has no tip, and their socket heard none: the
    // next message they hear is the agent's answer.
    let theirs = thread(&sam, id).await?;
    assert!(theirs.iter().all(|m| m.kind != MessageKind::Tip));
    assert_eq!(theirs.len(), 1);
    let answer: SupportMessage = call(
        &wade,
        Method::POST,
        &format!("/api/support/conversations/{id}/messages"),
        Some(json!({ "text": "The blue one." })),
    )
    .await?;
    let (_, first) = next_message(&mut sam_ws).await?;
    assert_eq!(first.kind, MessageKind::Customer);
    let (_, next) = next_message(&mut sam_ws).await?;
    assert_eq!(next, answer);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_closed_conversation_gets_no_tips_but_the_cart_stays_current() -> anyhow::Result<()> {
    let (server, _clock) = start().await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let mut wade_ws = wade.connect().await?;
    let sam = server.account("Sam").await?;
    let cart = sam.create_cart("Party").await?;
    let id = open(&sam, "demo").await?.id;
    let mut sam_ws = online(&sam, cart).await?;
    // Ann's conversation stays open: her tip tells when the worker is past
    // Sam's edit.
    let ann = server.account("Ann").await?;
    let ann_cart = ann.create_cart("Tea").await?;
    let ann_id = open(&ann, "demo").await?.id;
    let mut ann_ws = online(&ann, ann_cart).await?;
    set_status(&wade, id, "closed").await?;

    // Closed: the edit is made, no tip is written.
    sam_ws.op(cart, add("MUG-BLUE", 3)).await?.acked()?;
    let view = sam.cart(cart).await?;
    assert_eq!(view.view.subtotal, 3600);
    ann_ws.op(ann_cart, add("MUG-RED", 1)).await?.acked()?;
    let (about, _) = next_message(&mut wade_ws).await?;
    assert_eq!(about, ann_id);
    assert!(thread(&wade, id).await?.is_empty());

    // Reopened: the next edit makes a tip, the closed one never will.
    set_status(&wade, id, "open").await?;
    sam_ws.op(cart, change("MUG-BLUE", -1)).await?.acked()?;
    let (about, tip) = next_message(&mut wade_ws).await?;
    assert_eq!(about, id);
    assert_eq!(tip.text, removed("Blue Mug", 1, "Nov 25, 21:10", "$24.00"));
    let stored = thread(&wade, id).await?;
    assert_eq!(stored, [tip]);
    let now = get(&wade, id).await?;
    assert_eq!(
        (now.status, now.unread_for_agents),
        (ConversationStatus::Open, 0)
    );
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn only_the_customers_own_edits_while_online_make_tips() -> anyhow::Result<()> {
    let (server, _clock) = start().await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let mut wade_ws = wade.connect().await?;
    let sam = server.account("Sam").await?;
    let ben = server.account("Ben").await?;
    let cart = cartroom_e2e::shared_cart(&sam, &[(&ben, MemberRole::Editor)]).await?;
    let id = open(&sam, "demo").await?.id;

    // Sam offline (no socket): an edit over HTTP makes no tip.
    sam.http_op(cart, &OpId("offline-1".into()), &add("MUG-RED", 1))
        .await?;
    // Ben, a member without a conversation, edits: nothing for Sam.
    let mut ben_ws = online(&ben, cart).await?;
    ben_ws.op(cart, add("MUG-RED", 1)).await?.acked()?;

    // Sam comes online and edits: that tip is the first one heard, with the
    // subtotal of everyone's edits.
    let mut sam_ws = online(&sam, cart).await?;
    sam_ws.op(cart, add("MUG-BLUE", 1)).await?.acked()?;
    let (about, tip) = next_message(&mut wade_ws).await?;
    assert_eq!(about, id);
    assert_eq!(tip.text, added("Blue Mug", 1, "Nov 25, 21:10", "$36.00"));
    assert_eq!(thread(&wade, id).await?, [tip]);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn tips_go_to_the_carts_store_only_in_its_time_zone_and_currency() -> anyhow::Result<()> {
    let (server, _clock) = start().await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let tessa = agent(&server, TEA_AGENT_EMAIL).await?;
    let mut wade_ws = wade.connect().await?;
    let mut tessa_ws = tessa.connect().await?;
    let sam = server.account("Sam").await?;
    let corner_cart = sam.create_cart("Mugs").await?;
    let tea_cart = cart_in(&sam, "tea", "Groceries").await?;
    let corner = open(&sam, "demo").await?.id;
    let tea = open(&sam, "tea").await?.id;
    let mut sam_ws = online(&sam, corner_cart).await?;
    sam_ws.subscribe(tea_cart).await?;

    // A corner-shop edit: Wade hears it, Tessa does not.
    sam_ws.op(corner_cart, add("MUG-BLUE", 2)).await?.acked()?;
    let (about, tip) = next_message(&mut wade_ws).await?;
    assert_eq!(about, corner);
    assert_eq!(tip.text, added("Blue Mug", 2, "Nov 25, 21:10", "$24.00"));

    // A tea-house edit: Tessa's first tip, in Berlin time and euros.
    let tea_sku = tea_product(&sam).await?;
    sam_ws.op(tea_cart, add(&tea_sku.0, 1)).await?.acked()?;
    let (about, tip) = next_message(&mut tessa_ws).await?;
    assert_eq!(about, tea);
    assert_eq!(tip.cart_id, Some(tea_cart));
    assert_eq!(
        tip.text,
        added(&tea_sku.1, 1, "Nov 26, 03:10", &euros(tea_sku.2))
    );
    // And Wade's next is not it: his own store's next tip comes first.
    let remove = Op::RemoveLine {
        line_id: LineId("MUG-BLUE".into()),
    };
    sam_ws.op(corner_cart, remove).await?.acked()?;
    let (about, tip) = next_message(&mut wade_ws).await?;
    assert_eq!(about, corner);
    assert_eq!(tip.text, removed("Blue Mug", 2, "Nov 25, 21:10", "$0.00"));
    server.stop().await?;
    Ok(())
}

/// The tea house's first product: sku, name, price in cents.
async fn tea_product(account: &Account) -> anyhow::Result<(String, String, i64)> {
    let catalog: Value = call(account, Method::GET, "/api/catalog?store=tea", None).await?;
    let product = &catalog["products"][0];
    Ok((
        product["sku"].as_str().unwrap_or_default().to_owned(),
        product["name"].as_str().unwrap_or_default().to_owned(),
        product["price"].as_i64().unwrap_or_default(),
    ))
}

/// Cents as the web client writes euros: `€6.50`.
fn euros(cents: i64) -> String {
    format!("€{}.{:02}", cents / 100, cents % 100)
}
