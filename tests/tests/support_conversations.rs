//! Support conversations over real sockets: a shopper opens one
//! conversation per store and talks with the store's agents; messages are
//! stored before anyone hears of them, numbered, delivered in order, with
//! unread counts and a status the agents change; they survive a restart;
//! the staff of another store get `not_found` on every endpoint.

mod support_desk;

use cartroom_client::{Account, Connection, Event, api_error};
use cartroom_e2e::{DEMO_AGENT_EMAIL, TEA_AGENT_EMAIL, TestServer};
use cartroom_protocol::support::{
    Conversation, ConversationId, ConversationStatus, ConversationsResponse, MessageKind,
    MessagesResponse, SupportMessage,
};
use cartroom_protocol::{ErrorCode, ServerMsg};
use reqwest::Method;
use serde_json::{Value, json};
use support_desk::{WAIT, agent, call, get, open, set_status};

/// The stable code and the HTTP status of a refused call.
fn refusal<T: std::fmt::Debug>(result: anyhow::Result<T>) -> (ErrorCode, u16) {
    let e = result.expect_err("the call was refused");
    let api = api_error(&e).unwrap_or_else(|| panic!("not a refusal: {e:#}"));
    let code = api
        .error_code()
        .unwrap_or_else(|| panic!("no stable code: {e:#}"));
    (code, api.status)
}

async fn write(
    account: &Account,
    id: ConversationId,
    text: &str,
) -> anyhow::Result<SupportMessage> {
    call(
        account,
        Method::POST,
        &format!("/api/support/conversations/{id}/messages"),
        Some(json!({ "text": text })),
    )
    .await
}

async fn messages(
    account: &Account,
    id: ConversationId,
    query: &str,
) -> anyhow::Result<MessagesResponse> {
    call(
        account,
        Method::GET,
        &format!("/api/support/conversations/{id}/messages{query}"),
        None,
    )
    .await
}

async fn read(account: &Account, id: ConversationId, seq: i64) -> anyhow::Result<Conversation> {
    call(
        account,
        Method::POST,
        &format!("/api/support/conversations/{id}/read"),
        Some(json!({ "seq": seq })),
    )
    .await
}

/// The next support frame on `conn` (a message or a conversation), skipping
/// anything else.
async fn next_support(conn: &mut Connection) -> anyhow::Result<ServerMsg> {
    loop {
        match conn.next_event_timeout(WAIT).await? {
            Some(Event::Msg(msg @ ServerMsg::SupportMessage { .. }))
            | Some(Event::Msg(msg @ ServerMsg::SupportConversation { .. })) => return Ok(msg),
            Some(Event::Closed { code, reason }) => {
                anyhow::bail!("closed ({code:?}): {reason}")
            }
            Some(_) => {}
            None => anyhow::bail!("no support frame within {WAIT:?}"),
        }
    }
}

/// The next `support_message` on `conn`, skipping anything else.
async fn next_message(conn: &mut Connection) -> anyhow::Result<(ConversationId, SupportMessage)> {
    loop {
        if let ServerMsg::SupportMessage {
            conversation_id,
            message,
        } = next_support(conn).await?
        {
            return Ok((conversation_id, *message));
        }
    }
}

/// The next `support_conversation` on `conn`, skipping anything else.
async fn next_conversation(conn: &mut Connection) -> anyhow::Result<Conversation> {
    loop {
        if let ServerMsg::SupportConversation { conversation } = next_support(conn).await? {
            return Ok(*conversation);
        }
    }
}

#[tokio::test]
async fn a_shopper_and_an_agent_talk_in_order_with_unread_counts_and_a_status() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let sam = server.account("Sam").await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let mut wade_ws = wade.connect().await?;
    let mut sam_ws = sam.connect().await?;

    // Opening twice gives the one conversation; the customer has the
    // account's e-mail.
    let first = sam
        .request(
            Method::POST,
            "/api/support/conversations",
            Some(&json!({ "store_id": "demo" })),
        )
        .await?;
    assert_eq!(first.status(), 201);
    let conversation: Conversation = first.json().await?;
    let again = open(&sam, "demo").await?;
    assert_eq!(again.id, conversation.id);
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!(conversation.customer.user_id, sam.user_id);
    assert_eq!(conversation.customer.email, sam.email);
    assert_eq!(conversation.store_id, "demo");
    let id = conversation.id;

    // Three questions: numbered, delivered to the agent in order, each
    // counting as unread for the agents.
    for (i, text) in ["Hello?", "Do you ship to Canada?", "Thanks"]
        .iter()
        .enumerate()
    {
        let seq = i as i64 + 1;
        let written = write(&sam, id, text).await?;
        assert_eq!((written.seq, written.kind), (seq, MessageKind::Customer));
        let (at, heard) = next_message(&mut wade_ws).await?;
        assert_eq!((at, heard.clone()), (id, written));
        let counted = next_conversation(&mut wade_ws).await?;
        assert_eq!((counted.unread_for_agents, counted.last_seq), (seq, seq));
        // The shopper hears their own message too (another tab of theirs).
        assert_eq!(next_message(&mut sam_ws).await?.1.seq, seq);
    }
    let listed: ConversationsResponse = call(
        &wade,
        Method::GET,
        "/api/support/conversations?store=demo",
        None,
    )
    .await?;
    let mine = listed
        .conversations
        .iter()
        .find(|c| c.id == id)
        .expect("listed");
    assert_eq!(mine.unread_for_agents, 3);
    assert_eq!(
        mine.last_message.as_ref().map(|m| m.text.as_str()),
        Some("Thanks")
    );

    // The agent reads them and answers; the shopper has one unread.
    let read_all = read(&wade, id, 3).await?;
    assert_eq!(read_all.unread_for_agents, 0);
    let answer = write(&wade, id, "Yes, we do.").await?;
    assert_eq!((answer.seq, answer.kind), (4, MessageKind::Agent));
    assert_eq!(answer.author_name, wade.name);
    let (_, heard) = next_message(&mut sam_ws).await?;
    assert_eq!(heard, answer);
    assert_eq!(get(&sam, id).await?.unread_for_customer, 1);
    assert_eq!(read(&sam, id, 4).await?.unread_for_customer, 0);

    // Agents close it (the shopper may not); the shopper's next message
    // opens it again.
    assert_eq!(
        refusal(set_status(&sam, id, "closed").await),
        (ErrorCode::Forbidden, 403)
    );
    let closed = set_status(&wade, id, "closed").await?;
    assert_eq!(closed.status, ConversationStatus::Closed);
    loop {
        let c = next_conversation(&mut sam_ws).await?;
        if c.status == ConversationStatus::Closed {
            break;
        }
    }
    let closed_list: ConversationsResponse = call(
        &wade,
        Method::GET,
        "/api/support/conversations?store=demo&status=closed",
        None,
    )
    .await?;
    assert_eq!(
        closed_list
            .conversations
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [id]
    );
    write(&sam, id, "One more thing").await?;
    let reopened = get(&wade, id).await?;
    assert_eq!(reopened.status, ConversationStatus::Open);
    assert_eq!(reopened.unread_for_agents, 1);

    // Either side gives the customer's phone.
    let contact: Conversation = call(
        &wade,
        Method::PUT,
        &format!("/api/support/conversations/{id}/contact"),
        Some(json!({ "phone": "+1 555 0100" })),
    )
    .await?;
    assert_eq!(contact.customer.phone.as_deref(), Some("+1 555 0100"));
    assert_eq!(contact.customer.email, sam.email);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_messages_take_distinct_seqs_and_arrive_in_order() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let guest = Account::guest(&server.base_url, "Gus").await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let mut wade_ws = wade.connect().await?;
    let id = open(&guest, "demo").await?.id;

    let sends = (0..20).map(|i| {
        let (guest, wade) = (guest.clone(), wade.clone());
        async move {
            let who = if i % 2 == 0 { &guest } else { &wade };
            write(who, id, &format!("message {i}")).await
        }
    });
    let written = futures_util::future::try_join_all(sends).await?;
    let mut seqs: Vec<i64> = written.iter().map(|m| m.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());

    // The agent's socket hears every one once, in seq order.
    let mut heard = Vec::new();
    while heard.len() < 20 {
        heard.push(next_message(&mut wade_ws).await?.1.seq);
    }
    assert_eq!(heard, (1..=20).collect::<Vec<_>>());
    let page = messages(&wade, id, "").await?;
    assert_eq!(page.messages.len(), 20);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn messages_are_durable_and_paged() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let sam = server.account("Sam").await?;
    let id = open(&sam, "demo").await?.id;
    for i in 1..=5 {
        write(&sam, id, &format!("line {i}\nsecond line")).await?;
    }
    let base = server.base_url.clone();
    let dir = server.stop().await?.expect("the data dir");
    let server = TestServer::start_in(dir.path(), None).await?;
    let sam = cartroom_e2e::sign_in_again(&server.base_url, &sam).await?;
    assert_ne!(base, server.base_url);

    let first = messages(&sam, id, "?limit=2").await?;
    assert_eq!(
        first.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(first.more);
    let rest = messages(&sam, id, "?after=2&limit=3").await?;
    assert_eq!(
        rest.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    assert!(!rest.more);
    assert_eq!(rest.messages[2].text, "line 5\nsecond line");
    assert_eq!(get(&sam, id).await?.unread_for_agents, 5);
    server.stop().await?;
    drop(dir);
    Ok(())
}

#[tokio::test]
async fn refusals_have_stable_codes() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let sam = server.account("Sam").await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let id = open(&sam, "demo").await?.id;

    let long = "x".repeat(2001);
    assert_eq!(
        refusal(write(&sam, id, &long).await),
        (ErrorCode::InvalidField, 400)
    );
    assert!(write(&sam, id, &"x".repeat(2000)).await.is_ok());
    assert_eq!(
        refusal(write(&sam, id, "  ").await),
        (ErrorCode::InvalidField, 400)
    );
    assert_eq!(
        refusal(write(&sam, id, "bidi \u{202E} text").await),
        (ErrorCode::InvalidField, 400)
    );
    assert_eq!(
        refusal(messages(&sam, id, "?limit=201").await),
        (ErrorCode::InvalidField, 400)
    );
    assert_eq!(
        refusal(
            call::<Value>(
                &wade,
                Method::GET,
                "/api/support/conversations?limit=0",
                None
            )
            .await
        ),
        (ErrorCode::InvalidField, 400)
    );
    assert_eq!(
        refusal(open(&sam, "nowhere").await),
        (ErrorCode::StoreNotFound, 404)
    );
    let nobody = ConversationId::new_random();
    assert_eq!(refusal(get(&sam, nobody).await), (ErrorCode::NotFound, 404));
    assert_eq!(
        refusal(call::<Value>(&sam, Method::GET, "/api/support/conversations/nope", None).await),
        (ErrorCode::NotFound, 404)
    );
    // A shopper is nobody's staff: the list is not theirs.
    assert_eq!(
        refusal(
            call::<Value>(
                &sam,
                Method::GET,
                "/api/support/conversations?store=demo",
                None
            )
            .await
        ),
        (ErrorCode::NotFound, 404)
    );
    assert_eq!(
        refusal(read(&sam, id, -1).await),
        (ErrorCode::InvalidField, 400)
    );
    assert_eq!(
        refusal(set_status(&wade, id, "archived").await),
        (ErrorCode::BadMessage, 400)
    );
    let bad_email = call::<Value>(
        &sam,
        Method::PUT,
        &format!("/api/support/conversations/{id}/contact"),
        Some(json!({ "email": "not an e-mail" })),
    )
    .await;
    assert_eq!(refusal(bad_email), (ErrorCode::InvalidField, 400));
    // Another shopper cannot see Sam's conversation.
    let eve = server.account("Eve").await?;
    assert_eq!(refusal(get(&eve, id).await), (ErrorCode::NotFound, 404));
    assert_eq!(
        refusal(write(&eve, id, "hi").await),
        (ErrorCode::NotFound, 404)
    );
    // Without a session.
    let anonymous = reqwest::Client::new()
        .get(format!(
            "{}/api/support/conversations/{id}",
            server.base_url
        ))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    server.stop().await?;
    Ok(())
}

#[tokio::test]
async fn staff_of_another_store_get_not_found_on_every_endpoint() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let sam = server.account("Sam").await?;
    let tessa = agent(&server, TEA_AGENT_EMAIL).await?;
    let wade = agent(&server, DEMO_AGENT_EMAIL).await?;
    let mut tessa_ws = tessa.connect().await?;
    let demo = open(&sam, "demo").await?.id;
    write(&sam, demo, "A question for the corner shop").await?;

    let base = format!("/api/support/conversations/{demo}");
    let tries: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, base.clone(), None),
        (Method::GET, format!("{base}/messages"), None),
        (
            Method::POST,
            format!("{base}/messages"),
            Some(json!({ "text": "hi" })),
        ),
        (
            Method::POST,
            format!("{base}/read"),
            Some(json!({ "seq": 1 })),
        ),
        (
            Method::POST,
            format!("{base}/status"),
            Some(json!({ "status": "closed" })),
        ),
        (
            Method::PUT,
            format!("{base}/contact"),
            Some(json!({ "phone": "123456" })),
        ),
        (
            Method::GET,
            "/api/support/conversations?store=demo".into(),
            None,
        ),
    ];
    for (method, path, body) in tries {
        let answer = call::<Value>(&tessa, method.clone(), &path, body).await;
        assert_eq!(
            refusal(answer),
            (ErrorCode::NotFound, 404),
            "{method} {path}"
        );
    }
    // Nothing changed, and the tea store lists only its own.
    let after = get(&wade, demo).await?;
    assert_eq!(
        (after.last_seq, after.status),
        (1, ConversationStatus::Open)
    );
    assert_eq!(after.customer.phone, None);
    let tea = open(&sam, "tea").await?.id;
    assert_ne!(tea, demo);
    let listed: ConversationsResponse = call(
        &tessa,
        Method::GET,
        "/api/support/conversations?store=tea",
        None,
    )
    .await?;
    assert_eq!(
        listed
            .conversations
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [tea]
    );

    // Tessa's socket heard nothing of the corner shop: the first support
    // frame it gets is about the tea house's conversation.
    write(&sam, tea, "A question for the tea house").await?;
    let (about, _) = next_message(&mut tessa_ws).await?;
    assert_eq!(about, tea);
    server.stop().await?;
    Ok(())
}
