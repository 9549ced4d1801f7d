//! Sharing end to end: the real server on 127.0.0.1:0, a real SMTP server
//! (`cartroom_e2e::smtp`) receiving its e-mails, real sockets.
//!
//! Invitations by e-mail are followed from the e-mail the SMTP server
//! received; expiry is checked at its boundary with a manual clock; a
//! single-use link is raced; the mail server goes down and comes back
//! across a restart; and the database is searched for tokens.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use cartroom::clock::{Clock, ManualClock, SystemClock};
use cartroom_client::{Account, Event, api_error};
use cartroom_e2e::smtp::{ReceivedMail, SmtpServer};
use cartroom_e2e::{PASSWORD, next_carts_changed, sign_up};
use cartroom_protocol::sharing::{
    AcceptResponse, CreatedLink, DeliveryStatus, Invitation, InvitationStatus, InvitationsResponse,
    InviteKind, InvitePreview, LinkStatus, LinksResponse,
};
use cartroom_protocol::{CartId, ErrorCode, MemberRole, Op, ServerMsg};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// How long an e-mail may take to arrive.
const MAIL_WAIT: Duration = Duration::from_secs(20);
const DAY_MS: i64 = 86_400_000;

/// A node started through the library, with its own clock and SMTP URL.
struct Node {
    base_url: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    async fn start(
        data_dir: &Path,
        smtp_url: Option<String>,
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut cartroom::Config),
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let mut config = cartroom::Config::for_data_dir(data_dir);
        cartroom_e2e::backend::configure(&mut config).await?;
        config.smtp_url = smtp_url;
        // The tests below try many tokens from one address on purpose.
        config.invite_attempts_per_minute_per_ip = 10_000;
        configure(&mut config);
        let shutdown = CancellationToken::new();
        let server = cartroom::Server::start_with_clock(config, shutdown.clone(), clock).await?;
        let task = tokio::spawn(server.serve(listener));
        Ok(Self {
            base_url,
            shutdown,
            task,
        })
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?;
        Ok(())
    }

    async fn account(&self, name: &str) -> anyhow::Result<Account> {
        sign_up(&self.base_url, name).await
    }
}

/// A node on a fresh data dir sending to `smtp`, on the system clock.
async fn node_with_smtp(smtp: &SmtpServer) -> anyhow::Result<(Node, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let node = Node::start(dir.path(), Some(smtp.url()), Arc::new(SystemClock), |_| {}).await?;
    Ok((node, dir))
}

async fn call<T: DeserializeOwned>(
    account: &Account,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<T> {
    let value = account.request_json(method, path, body.as_ref()).await?;
    serde_json::from_value(value).with_context(|| format!("the answer of {path}"))
}

/// A request without a session.
async fn anonymous(base_url: &str, path: &str, body: Value) -> anyhow::Result<reqwest::Response> {
    Ok(reqwest::Client::new()
        .post(format!("{base_url}{path}"))
        .json(&body)
        .send()
        .await?)
}

async fn invite(
    ana: &Account,
    cart: CartId,
    email: &str,
    role: &str,
    extra: Value,
) -> anyhow::Result<Invitation> {
    let mut body =
        json!({"email": email, "role": role, "message": "Grandma, add what you like!\nLove, Ana"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    call(
        ana,
        Method::POST,
        &format!("/api/carts/{cart}/invitations"),
        Some(body),
    )
    .await
}

async fn invitations(ana: &Account, cart: CartId) -> anyhow::Result<Vec<Invitation>> {
    let answer: InvitationsResponse = call(
        ana,
        Method::GET,
        &format!("/api/carts/{cart}/invitations"),
        None,
    )
    .await?;
    Ok(answer.invitations)
}

async fn create_link(ana: &Account, cart: CartId, body: Value) -> anyhow::Result<CreatedLink> {
    call(
        ana,
        Method::POST,
        &format!("/api/carts/{cart}/links"),
        Some(body),
    )
    .await
}

async fn accept(account: &Account, token: &str) -> anyhow::Result<AcceptResponse> {
    call(
        account,
        Method::POST,
        "/api/invites/accept",
        Some(json!({ "token": token })),
    )
    .await
}

/// The stable code of a refused request.
fn code_of<T: std::fmt::Debug>(outcome: anyhow::Result<T>) -> anyhow::Result<ErrorCode> {
    match outcome {
        Ok(value) => bail!("expected a refusal, got {value:?}"),
        Err(e) => api_error(&e)
            .and_then(|e| e.error_code())
            .with_context(|| format!("not a refusal with a code: {e:#}")),
    }
}

/// The next e-mail to `to`, with its recipient checked.
async fn mail_to(smtp: &mut SmtpServer, to: &str) -> anyhow::Result<ReceivedMail> {
    let mail = smtp.next_mail(MAIL_WAIT).await?;
    if !mail.to.iter().any(|r| r == to) {
        bail!("an e-mail to {:?}, not {to}", mail.to);
    }
    Ok(mail)
}

/// Reads events until an `activity` whose text is `text` arrives.
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

async fn activity_texts(account: &Account, cart: CartId) -> anyhow::Result<Vec<String>> {
    Ok(account
        .activity(cart)
        .await?
        .into_iter()
        .map(|e| e.text)
        .collect())
}

fn add(sku: &str) -> Op {
    Op::AddLine {
        sku: sku.into(),
        quantity: 1,
    }
}

#[tokio::test]
async fn an_e_mailed_invitation_is_accepted_by_a_new_account_and_by_a_guest_who_edit_live()
-> anyhow::Result<()> {
    let mut smtp = SmtpServer::start().await?;
    let (node, _dir) = node_with_smtp(&smtp).await?;
    let ana = node.account("Ana").await?;
    let cart = ana.create_cart("Weekend BBQ").await?;
    let mut live = ana.connect().await?;
    live.subscribe(cart).await?;

    let sent = invite(&ana, cart, "Grandma@Example.com", "editor", json!({})).await?;
    assert_eq!(sent.email, "grandma@example.com");
    assert_eq!(sent.status, InvitationStatus::Pending);
    assert_eq!(
        sent.expires_at - sent.created_at,
        14 * DAY_MS,
        "14 days by default"
    );
    expect_activity(&mut live, "Ana invited grandma@example.com as an editor").await?;

    // The e-mail, as the mail server received it: who, what, the message, the link.
    let mail = mail_to(&mut smtp, "grandma@example.com").await?;
    let text = mail.decoded();
    assert!(text.contains("Ana invited you"), "{text}");
    assert!(text.contains("Weekend BBQ"), "{text}");
    assert!(
        text.contains("> Love, Ana"),
        "the message is quoted: {text}"
    );
    assert!(text.contains("text/html"), "an HTML part too: {text}");
    let link = mail.link("join")?;
    assert!(
        link.starts_with(&format!("{}/join#", node.base_url)),
        "{link}"
    );
    let token = mail.token("join")?;

    // The page behind the link, before signing in.
    let preview = anonymous(
        &node.base_url,
        "/api/invites/lookup",
        json!({"token": token}),
    )
    .await?;
    assert_eq!(preview.status(), 200);
    let preview: InvitePreview = preview.json().await?;
    assert_eq!(preview.kind, InviteKind::Invitation);
    assert_eq!(preview.cart_name, "Weekend BBQ");
    assert_eq!(preview.invited_by, "Ana");
    assert_eq!(preview.role, MemberRole::Editor);
    assert_eq!(preview.email.as_deref(), Some("grandma@example.com"));

    // Grandma signs up and accepts: an editor at once, and the room says so.
    let grandma =
        Account::sign_up(&node.base_url, "grandma@example.com", PASSWORD, "Grandma").await?;
    let joined = accept(&grandma, &token).await?;
    assert_eq!((joined.cart_id, joined.role), (cart, MemberRole::Editor));
    assert!(!joined.already_member);
    expect_activity(&mut live, "Grandma joined via Ana's invitation").await?;
    let again = accept(&grandma, &token).await?;
    assert!(again.already_member, "accepting twice changes nothing");
    assert_eq!(again.role, MemberRole::Editor);

    // She edits live; Ana sees it.
    let mut g = grandma.connect().await?;
    assert_eq!(g.subscribe(cart).await?.role, MemberRole::Editor);
    g.op(cart, add("MUG-BLUE")).await?.acked()?;
    expect_activity(&mut live, "Grandma added Blue Mug*1. Subtotal $12.00").await?;

    let listed = invitations(&ana, cart).await?;
    let first = listed.iter().find(|i| i.id == sent.id).context("listed")?;
    assert_eq!(first.status, InvitationStatus::Accepted);
    assert_eq!(
        first.accepted_by.as_ref().map(|a| a.name.as_str()),
        Some("Grandma")
    );
    assert!(first.accepted_at.is_some());
    assert_eq!(first.delivery.status, DeliveryStatus::Sent);
    assert_eq!(first.delivery.attempts, 1);
    // Someone else with the same link: it was for one person.
    let ben = node.account("Ben").await?;
    assert_eq!(
        code_of(accept(&ben, &token).await)?,
        ErrorCode::InviteUsedUp
    );

    // A viewer invitation, accepted by a guest who then suggests live.
    invite(
        &ana,
        cart,
        "kid@example.com",
        "viewer",
        json!({"message": ""}),
    )
    .await?;
    let token = mail_to(&mut smtp, "kid@example.com").await?.token("join")?;
    let kid = Account::guest(&node.base_url, "Kid").await?;
    let joined = accept(&kid, &token).await?;
    assert_eq!(joined.role, MemberRole::Viewer);
    expect_activity(&mut live, "Kid joined via Ana's invitation").await?;
    let mut k = kid.connect().await?;
    assert_eq!(k.subscribe(cart).await?.role, MemberRole::Viewer);
    let suggest = Op::Suggest {
        sku: "TEA-GREEN".into(),
        quantity: 1,
        note: None,
    };
    k.op(cart, suggest).await?.acked()?;
    assert!(
        k.op(cart, add("CHIPS")).await?.acked().is_err(),
        "a viewer may not edit lines"
    );

    let feed = activity_texts(&ana, cart).await?;
    for line in [
        "Ana invited grandma@example.com as an editor",
        "Grandma joined via Ana's invitation",
        "Ana invited kid@example.com as a viewer",
        "Kid joined via Ana's invitation",
    ] {
        assert!(feed.iter().any(|t| t == line), "{line:?} not in {feed:?}");
    }
    node.stop().await
}

#[tokio::test]
async fn expiry_is_exact_at_its_boundary() -> anyhow::Result<()> {
    let mut smtp = SmtpServer::start().await?;
    let dir = tempfile::tempdir()?;
    let start = 1_800_000_000_000;
    let clock = Arc::new(ManualClock::at(start));
    let node = Node::start(dir.path(), Some(smtp.url()), clock.clone(), |_| {}).await?;
    let ana = node.account("Ana").await?;
    let cart = ana.create_cart("Picnic").await?;

    let one_day = json!({"expires_in_days": 1});
    let a = invite(&ana, cart, "a@example.com", "editor", one_day.clone()).await?;
    let b = invite(&ana, cart, "b@example.com", "editor", one_day.clone()).await?;
    assert_eq!(a.expires_at, start + DAY_MS);
    let token_a = mail_to(&mut smtp, "a@example.com").await?.token("join")?;
    let token_b = mail_to(&mut smtp, "b@example.com").await?.token("join")?;
    let link = create_link(&ana, cart, json!({"role": "viewer", "expires_in_days": 1})).await?;
    assert_eq!(link.link.expires_at, start + DAY_MS);

    // One millisecond before: still good.
    clock.advance_ms(DAY_MS - 1);
    let amy = node.account("Amy").await?;
    assert_eq!(accept(&amy, &token_a).await?.role, MemberRole::Editor);
    let lou = node.account("Lou").await?;
    assert_eq!(accept(&lou, &link.token).await?.role, MemberRole::Viewer);

    // At the boundary: expired, with its code, and nothing is said about the cart.
    clock.advance_ms(1);
    let bea = node.account("Bea").await?;
    assert_eq!(
        code_of(accept(&bea, &token_b).await)?,
        ErrorCode::InviteExpired
    );
    assert_eq!(
        code_of(accept(&bea, &link.token).await)?,
        ErrorCode::InviteExpired
    );
    let preview = anonymous(
        &node.base_url,
        "/api/invites/lookup",
        json!({"token": token_b}),
    )
    .await?;
    assert_eq!(preview.status(), 410);
    let body: Value = preview.json().await?;
    assert_eq!(body["error"]["code"], "invite_expired");
    assert!(!body.to_string().contains("Picnic"));
    assert!(bea.cart(cart).await.is_err(), "Bea is no member");

    let listed = invitations(&ana, cart).await?;
    let status = |id| listed.iter().find(|i| i.id == id).map(|i| i.status);
    assert_eq!(status(a.id), Some(InvitationStatus::Accepted));
    assert_eq!(status(b.id), Some(InvitationStatus::Expired));
    let links: LinksResponse =
        call(&ana, Method::GET, &format!("/api/carts/{cart}/links"), None).await?;
    assert_eq!(links.links[0].status, LinkStatus::Expired);
    assert_eq!(links.links[0].uses, 1);

    // Bounds: 1 day to 1 year, a message of at most 1,000 characters, no admins.
    for extra in [
        json!({"expires_in_days": 0}),
        json!({"expires_in_days": 366}),
        json!({"message": "x".repeat(1001)}),
    ] {
        let refused = invite(&ana, cart, "c@example.com", "editor", extra).await;
        assert_eq!(code_of(refused)?, ErrorCode::InvalidField);
    }
    let refused = invite(&ana, cart, "c@example.com", "admin", json!({})).await;
    assert_eq!(code_of(refused)?, ErrorCode::InvalidField);
    let year = invite(
        &ana,
        cart,
        "c@example.com",
        "viewer",
        json!({"expires_in_days": 365}),
    )
    .await?;
    assert_eq!(year.expires_at - year.created_at, 365 * DAY_MS);
    let refused = create_link(&ana, cart, json!({"role": "editor", "max_uses": 0})).await;
    assert_eq!(code_of(refused)?, ErrorCode::InvalidField);
    node.stop().await
}

#[tokio::test]
async fn a_revoked_link_lets_nobody_else_in_and_uses_are_counted() -> anyhow::Result<()> {
    let smtp = SmtpServer::start().await?;
    let (node, _dir) = node_with_smtp(&smtp).await?;
    let ana = node.account("Ana").await?;
    let cart = ana.create_cart("Office snacks").await?;
    let mut live = ana.connect().await?;
    live.subscribe(cart).await?;
    let created = create_link(&ana, cart, json!({"role": "editor", "max_uses": 2})).await?;
    assert_eq!(
        created.url,
        format!("{}/join#{}", node.base_url, created.token)
    );
    assert_eq!(created.link.status, LinkStatus::Active);
    assert_eq!(created.link.max_uses, Some(2));

    // Ana opening her own link takes no use and keeps her an admin.
    let own = accept(&ana, &created.token).await?;
    assert!(own.already_member);
    assert_eq!(own.role, MemberRole::Admin);

    let ben = node.account("Ben").await?;
    let mut ben_phone = ben.connect().await?;
    assert_eq!(accept(&ben, &created.token).await?.role, MemberRole::Editor);
    expect_activity(&mut live, "Ben joined via Ana's share link").await?;
    // Ben's other device hears that his carts changed.
    assert_eq!(next_carts_changed(&mut ben_phone).await?, cart);
    assert!(
        accept(&ben, &created.token).await?.already_member,
        "the same use"
    );

    // Cleo has looked the link up and is about to accept when Ana revokes it.
    let cleo = Account::guest(&node.base_url, "Cleo").await?;
    let preview: InvitePreview = call(
        &cleo,
        Method::POST,
        "/api/invites/lookup",
        Some(json!({"token": created.token})),
    )
    .await?;
    assert_eq!(preview.kind, InviteKind::Link);
    let revoked: cartroom_protocol::sharing::ShareLink = call(
        &ana,
        Method::DELETE,
        &format!("/api/carts/{cart}/links/{}", created.link.id),
        None,
    )
    .await?;
    assert_eq!(revoked.status, LinkStatus::Revoked);
    assert_eq!(
        code_of(accept(&cleo, &created.token).await)?,
        ErrorCode::InviteRevoked
    );
    assert!(cleo.cart(cart).await.is_err());
    // Ben stays a member and may still edit.
    let mut b = ben.connect().await?;
    b.subscribe(cart).await?;
    b.op(cart, add("CHIPS")).await?.acked()?;

    // A link with two uses: the third person is refused.
    let two = create_link(&ana, cart, json!({"role": "viewer", "max_uses": 2})).await?;
    for name in ["Dan", "Eve"] {
        let person = node.account(name).await?;
        accept(&person, &two.token).await?;
    }
    let fay = node.account("Fay").await?;
    assert_eq!(
        code_of(accept(&fay, &two.token).await)?,
        ErrorCode::InviteUsedUp
    );
    let links: LinksResponse =
        call(&ana, Method::GET, &format!("/api/carts/{cart}/links"), None).await?;
    let listed = links
        .links
        .iter()
        .find(|l| l.id == two.link.id)
        .context("listed")?;
    assert_eq!((listed.uses, listed.status), (2, LinkStatus::UsedUp));

    // Unknown and malformed tokens: their own code.
    assert_eq!(
        code_of(accept(&fay, "nonsense").await)?,
        ErrorCode::InviteNotFound
    );
    let unknown = "A".repeat(43);
    assert_eq!(
        code_of(accept(&fay, &unknown).await)?,
        ErrorCode::InviteNotFound
    );

    // Only admins see and make links.
    let refused =
        call::<LinksResponse>(&ben, Method::GET, &format!("/api/carts/{cart}/links"), None).await;
    assert_eq!(code_of(refused)?, ErrorCode::Forbidden);
    let refused = create_link(&ben, cart, json!({"role": "editor"})).await;
    assert_eq!(code_of(refused)?, ErrorCode::Forbidden);
    let feed = activity_texts(&ana, cart).await?;
    assert!(
        feed.iter()
            .any(|t| t.starts_with("Ana revoked a share link for editors")),
        "{feed:?}"
    );
    node.stop().await
}

#[tokio::test]
async fn a_single_use_link_used_at_once_by_many_joins_exactly_one() -> anyhow::Result<()> {
    let smtp = SmtpServer::start().await?;
    let (node, _dir) = node_with_smtp(&smtp).await?;
    let ana = node.account("Ana").await?;
    let cart = ana.create_cart("Race").await?;
    let mut racers = Vec::new();
    for i in 0..8 {
        racers.push(Account::guest(&node.base_url, &format!("Racer {i}")).await?);
    }
    for round in 0..5 {
        let link = create_link(&ana, cart, json!({"role": "viewer", "max_uses": 1})).await?;
        let attempts = racers.iter().map(|r| accept(r, &link.token));
        let outcomes = futures_util::future::join_all(attempts).await;
        let mut joined = 0;
        for outcome in outcomes {
            match outcome {
                Ok(answer) if !answer.already_member => joined += 1,
                Ok(_) => {}
                Err(e) => {
                    let code = api_error(&e).and_then(|e| e.error_code());
                    assert_eq!(code, Some(ErrorCode::InviteUsedUp), "round {round}: {e:#}");
                }
            }
        }
        assert_eq!(joined, 1, "round {round}: exactly one join");
        let links: LinksResponse =
            call(&ana, Method::GET, &format!("/api/carts/{cart}/links"), None).await?;
        let uses = links
            .links
            .iter()
            .find(|l| l.id == link.link.id)
            .map(|l| l.uses);
        assert_eq!(uses, Some(1));
    }
    // One member per round beside Ana.
    assert_eq!(ana.members(cart).await?.len(), 1 + 5);
    node.stop().await
}

#[tokio::test]
async fn with_the_mail_server_down_the_invitation_shows_it_and_is_delivered_after_a_restart()
-> anyhow::Result<()> {
    // A port where no mail server listens yet.
    let smtp_addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let smtp_url = format!("smtp://{smtp_addr}");
    let dir = tempfile::tempdir()?;
    let node = Node::start(
        dir.path(),
        Some(smtp_url.clone()),
        Arc::new(SystemClock),
        |_| {},
    )
    .await?;
    let ana = node.account("Ana").await?;
    let cart = ana.create_cart("Groceries").await?;
    let sent = invite(&ana, cart, "grandma@example.com", "editor", json!({})).await?;

    // The failure is on the invitation, with the mail server's words.
    let failing = wait_for_delivery(&ana, cart, |d| d.status == DeliveryStatus::Retrying).await?;
    assert!(failing.delivery.attempts >= 1);
    let error = failing.delivery.last_error.clone().unwrap_or_default();
    assert!(!error.is_empty(), "the error is recorded");
    assert!(failing.delivery.next_attempt_at.is_some());
    assert_eq!(failing.status, InvitationStatus::Pending);
    node.stop().await?;

    // The mail server comes back while Cartroom is down; after the restart
    // the e-mail goes out from the outbox, and its link works.
    let mut smtp = SmtpServer::start_on(smtp_addr).await?;
    let node = Node::start(dir.path(), Some(smtp_url), Arc::new(SystemClock), |_| {}).await?;
    let ana = cartroom_e2e::sign_in_again(&node.base_url, &ana).await?;
    let mail = mail_to(&mut smtp, "grandma@example.com").await?;
    let grandma = node.account("Grandma").await?;
    assert_eq!(accept(&grandma, &mail.token("join")?).await?.cart_id, cart);
    let delivered = wait_for_delivery(&ana, cart, |d| d.status == DeliveryStatus::Sent).await?;
    assert_eq!(delivered.id, sent.id);
    assert!(delivered.delivery.attempts >= 2);
    assert_eq!(delivered.delivery.last_error, None);
    assert!(smtp.try_next_mail().is_none(), "sent once");
    node.stop().await
}

/// Polls the cart's only invitation until its delivery matches `done`.
async fn wait_for_delivery(
    ana: &Account,
    cart: CartId,
    done: impl Fn(&cartroom_protocol::sharing::Delivery) -> bool,
) -> anyhow::Result<Invitation> {
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    loop {
        let listed = invitations(ana, cart).await?;
        let invitation = listed.into_iter().next().context("no invitation")?;
        if done(&invitation.delivery) {
            return Ok(invitation);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the delivery stayed at {:?}", invitation.delivery);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn resend_replaces_the_link_decline_and_revoke_answer_and_are_listed() -> anyhow::Result<()> {
    let mut smtp = SmtpServer::start().await?;
    let (node, _dir) = node_with_smtp(&smtp).await?;
    let ana = node.account("Ana").await?;
    let cart = ana.create_cart("Birthday").await?;
    let mut live = ana.connect().await?;
    live.subscribe(cart).await?;

    let first = invite(&ana, cart, "uncle@example.com", "viewer", json!({})).await?;
    let old = mail_to(&mut smtp, "uncle@example.com")
        .await?
        .token("join")?;
    let path = format!("/api/carts/{cart}/invitations/{}/resend", first.id);
    let _: Invitation = call(&ana, Method::POST, &path, None).await?;
    expect_activity(
        &mut live,
        "Ana sent the invitation to uncle@example.com again",
    )
    .await?;
    let new = mail_to(&mut smtp, "uncle@example.com")
        .await?
        .token("join")?;
    assert_ne!(old, new);
    let uncle = node.account("Uncle").await?;
    assert_eq!(
        code_of(accept(&uncle, &old).await)?,
        ErrorCode::InviteNotFound
    );

    // Declined without signing in: declined, and the link is spent.
    let declined = anonymous(
        &node.base_url,
        "/api/invites/decline",
        json!({"token": new}),
    )
    .await?;
    assert_eq!(declined.status(), 204);
    expect_activity(&mut live, "uncle@example.com declined Ana's invitation").await?;
    assert_eq!(
        code_of(accept(&uncle, &new).await)?,
        ErrorCode::InviteUsedUp
    );
    let refused = call::<Invitation>(&ana, Method::POST, &path, None).await;
    assert_eq!(
        code_of(refused)?,
        ErrorCode::InviteUsedUp,
        "a declined invitation is not resent"
    );

    // Revoked before it is answered: the link says so.
    let second = invite(&ana, cart, "aunt@example.com", "editor", json!({})).await?;
    let token = mail_to(&mut smtp, "aunt@example.com")
        .await?
        .token("join")?;
    let revoked: Invitation = call(
        &ana,
        Method::DELETE,
        &format!("/api/carts/{cart}/invitations/{}", second.id),
        None,
    )
    .await?;
    assert_eq!(revoked.status, InvitationStatus::Revoked);
    expect_activity(&mut live, "Ana revoked the invitation of aunt@example.com").await?;
    let aunt = node.account("Aunt").await?;
    assert_eq!(
        code_of(accept(&aunt, &token).await)?,
        ErrorCode::InviteRevoked
    );

    let listed = invitations(&ana, cart).await?;
    let status = |id| listed.iter().find(|i| i.id == id).map(|i| i.status);
    assert_eq!(status(first.id), Some(InvitationStatus::Declined));
    assert_eq!(status(second.id), Some(InvitationStatus::Revoked));

    // Revoking an accepted invitation keeps the member.
    let third = invite(&ana, cart, "cousin@example.com", "editor", json!({})).await?;
    let token = mail_to(&mut smtp, "cousin@example.com")
        .await?
        .token("join")?;
    let cousin = node.account("Cousin").await?;
    accept(&cousin, &token).await?;
    let _: Invitation = call(
        &ana,
        Method::DELETE,
        &format!("/api/carts/{cart}/invitations/{}", third.id),
        None,
    )
    .await?;
    assert_eq!(cousin.cart(cart).await?.role, MemberRole::Editor);

    // A member of the cart is not invited again.
    let email = cousin.email.clone().context("e-mail")?;
    let refused = invite(&ana, cart, &email, "viewer", json!({})).await;
    assert_eq!(code_of(refused)?, ErrorCode::AlreadyMember);
    node.stop().await
}

#[tokio::test]
async fn a_password_reset_e_mail_works_once() -> anyhow::Result<()> {
    let mut smtp = SmtpServer::start().await?;
    let (node, _dir) = node_with_smtp(&smtp).await?;
    let ana = node.account("Ana").await?;
    let email = ana.email.clone().context("e-mail")?;

    let asked = anonymous(
        &node.base_url,
        "/api/auth/password-reset",
        json!({"email": email}),
    )
    .await?;
    assert_eq!(asked.status(), 202);
    // An address without an account gets the same answer and no e-mail.
    let nobody = anonymous(
        &node.base_url,
        "/api/auth/password-reset",
        json!({"email": "nobody@example.com"}),
    )
    .await?;
    assert_eq!(nobody.status(), 202);
    let mail = mail_to(&mut smtp, &email).await?;
    assert!(mail.decoded().contains("Reset your Cartroom password"));
    let token = mail.token("reset")?;

    // A new password follows sign-up's rules; the token stays good.
    let blank = json!({"token": token, "password": " ".repeat(8)});
    let refused = anonymous(&node.base_url, "/api/auth/password-reset/confirm", blank).await?;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await?;
    assert_eq!(body["error"]["code"], "invalid_field");

    let new_password = "a brand new password";
    let confirm = json!({"token": token, "password": new_password});
    let reset = anonymous(
        &node.base_url,
        "/api/auth/password-reset/confirm",
        confirm.clone(),
    )
    .await?;
    assert_eq!(reset.status(), 200);
    assert!(ana.me().await.is_err(), "the old session ended");
    Account::sign_in(&node.base_url, &email, new_password).await?;
    assert!(
        Account::sign_in(&node.base_url, &email, PASSWORD)
            .await
            .is_err()
    );

    // Once only.
    let again = anonymous(&node.base_url, "/api/auth/password-reset/confirm", confirm).await?;
    assert_eq!(again.status(), 404);
    let body: Value = again.json().await?;
    assert_eq!(body["error"]["code"], "invite_not_found");
    // A reset token is no join token.
    let ben = node.account("Ben").await?;
    assert_eq!(
        code_of(accept(&ben, &token).await)?,
        ErrorCode::InviteNotFound
    );
    assert!(
        smtp.try_next_mail().is_none(),
        "no e-mail to nobody@example.com"
    );
    node.stop().await
}

#[tokio::test]
async fn tokens_are_never_in_the_database_in_clear() -> anyhow::Result<()> {
    let mut smtp = SmtpServer::start().await?;
    let dir = tempfile::tempdir()?;
    let node = Node::start(dir.path(), Some(smtp.url()), Arc::new(SystemClock), |_| {}).await?;
    let ana = node.account("Ana").await?;
    let email = ana.email.clone().context("e-mail")?;
    let cart = ana.create_cart("Secrets").await?;
    invite(&ana, cart, "grandma@example.com", "editor", json!({})).await?;
    let invite_token = mail_to(&mut smtp, "grandma@example.com")
        .await?
        .token("join")?;
    let link = create_link(&ana, cart, json!({"role": "viewer"})).await?;
    anonymous(
        &node.base_url,
        "/api/auth/password-reset",
        json!({"email": email}),
    )
    .await?;
    let reset_token = mail_to(&mut smtp, &email).await?.token("reset")?;
    // Everything was used once, so every table has been written.
    let grandma = node.account("Grandma").await?;
    accept(&grandma, &invite_token).await?;
    accept(&grandma, &link.token).await?;
    node.stop().await?;

    if cartroom_e2e::backend::on_postgres() {
        // The rows are the same on Postgres; its files are not ours to read.
        eprintln!("SKIPPED on Postgres: this test reads SQLite's files");
        return Ok(());
    }
    let files = database_files(dir.path())?;
    assert!(!files.is_empty());
    for token in [&invite_token, &link.token, &reset_token] {
        for (path, bytes) in &files {
            let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
            assert!(!found, "a token is in {} in clear", path.display());
        }
    }
    Ok(())
}

/// The database file and its WAL, as bytes.
fn database_files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("cartroom.sqlite3") {
            files.push((path.clone(), std::fs::read(&path)?));
        }
    }
    Ok(files)
}

#[tokio::test]
async fn token_attempts_are_limited_per_client_address() -> anyhow::Result<()> {
    let smtp = SmtpServer::start().await?;
    let dir = tempfile::tempdir()?;
    let node = Node::start(dir.path(), Some(smtp.url()), Arc::new(SystemClock), |c| {
        c.invite_attempts_per_minute_per_ip = 3;
    })
    .await?;
    let ben = node.account("Ben").await?;
    let guess = "B".repeat(43);
    for _ in 0..3 {
        assert_eq!(
            code_of(accept(&ben, &guess).await)?,
            ErrorCode::InviteNotFound
        );
    }
    assert_eq!(code_of(accept(&ben, &guess).await)?, ErrorCode::RateLimited);
    let lookup = anonymous(
        &node.base_url,
        "/api/invites/lookup",
        json!({"token": guess}),
    )
    .await?;
    assert_eq!(lookup.status(), 429);
    node.stop().await
}

#[tokio::test]
async fn without_smtp_e_mails_land_in_the_dev_mailbox_page() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = Node::start(dir.path(), None, Arc::new(SystemClock), |_| {}).await?;
    let ana = node.account("Ana").await?;
    let cart = ana.create_cart("Dev <cart>").await?;
    invite(&ana, cart, "grandma@example.com", "editor", json!({})).await?;
    let deadline = tokio::time::Instant::now() + MAIL_WAIT;
    let page = loop {
        let page = reqwest::get(format!("{}/dev/mailbox", node.base_url)).await?;
        assert_eq!(page.status(), 200);
        let page = page.text().await?;
        if page.contains("/join#") {
            break page;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the dev mailbox stayed empty: {page}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(page.contains("grandma@example.com"));
    assert!(page.contains("Dev &lt;cart&gt;"), "escaped: {page}");
    let start = page
        .find(&format!("{}/join#", node.base_url))
        .context("the link")?;
    let token: String = page[start..]
        .split('#')
        .nth(1)
        .context("token")?
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let grandma = node.account("Grandma").await?;
    assert_eq!(accept(&grandma, &token).await?.cart_id, cart);
    assert!(dir.path().join("mailbox").is_dir());
    node.stop().await?;

    // With an SMTP server configured there is no such page.
    let smtp = SmtpServer::start().await?;
    let (node, _dir) = node_with_smtp(&smtp).await?;
    let page = reqwest::get(format!("{}/dev/mailbox", node.base_url)).await?;
    let body = page.text().await?;
    assert!(!body.contains("Dev mailbox"), "{body}");
    node.stop().await
}

#[tokio::test]
async fn tokens_never_reach_the_logs() -> anyhow::Result<()> {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let mut smtp = SmtpServer::start().await?;
    let dir = tempfile::tempdir()?;
    // The binary, logging everything it logs at its most talkative.
    let mut child = tokio::process::Command::new(cartroom_e2e::cartroom_bin()?)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args(["--smtp-url", &smtp.url()])
        .env("CARTROOM_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    // Logs are drained from the start: a full pipe would stall the server
    // before it says where it listens.
    let stderr = child.stderr.take().context("stderr")?;
    let logs = tokio::spawn(async move {
        let mut all = String::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
        .await??
        .context("no listening line")?;
    let base_url = first
        .strip_prefix("listening on ")
        .context("listening line")?
        .to_owned();

    let ana = sign_up(&base_url, "Ana").await?;
    let email = ana.email.clone().context("e-mail")?;
    let cart = ana.create_cart("Logged").await?;
    invite(&ana, cart, "grandma@example.com", "editor", json!({})).await?;
    let invite_token = mail_to(&mut smtp, "grandma@example.com")
        .await?
        .token("join")?;
    let link = create_link(&ana, cart, json!({"role": "viewer"})).await?;
    anonymous(
        &base_url,
        "/api/auth/password-reset",
        json!({"email": email}),
    )
    .await?;
    let reset_token = mail_to(&mut smtp, &email).await?.token("reset")?;
    let grandma = sign_up(&base_url, "Grandma").await?;
    for token in [&invite_token, &link.token] {
        let _: InvitePreview = call(
            &grandma,
            Method::POST,
            "/api/invites/lookup",
            Some(json!({ "token": token })),
        )
        .await?;
        accept(&grandma, token).await?;
    }
    let confirm = json!({"token": reset_token, "password": "another good password"});
    let reset = anonymous(&base_url, "/api/auth/password-reset/confirm", confirm).await?;
    assert_eq!(reset.status(), 200);

    child.start_kill()?;
    child.wait().await?;
    let logs = logs.await?;
    assert!(logs.contains("e-mail sent"), "the logs are there: {logs}");
    for token in [&invite_token, &link.token, &reset_token] {
        assert!(!logs.contains(token.as_str()), "a token is in the logs");
    }
    Ok(())
}
