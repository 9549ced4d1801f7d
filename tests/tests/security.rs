//! What an attacker tries against the HTTP API and the socket, answered as
//! `docs/protocol.md` and `docs/operations.md` ("Security") say: sign-in
//! answers that tell nothing and cannot be used to lock the owner out,
//! limits per client address and per user, e-mail addresses only for those
//! who manage members, the Origin rule for cookie sessions, security
//! headers, the `Secure` cookie, `/metrics` for the operator only, and text
//! that cannot disguise an activity line.
//!
//! Requests "from another address" use another loopback address
//! (127.0.0.2, ...) as their source: the server sees a different client.

use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

use cartroom_client::{OpOutcome, api_error};
use cartroom_e2e::{PASSWORD, ServerProcess, TestServer, shared_cart};
use cartroom_protocol::{ErrorCode, LineId, MemberRole, Op, OpId};
use serde_json::{Value, json};

/// A client whose requests come from `source`.
fn client_from(source: &str) -> anyhow::Result<reqwest::Client> {
    let source: IpAddr = source.parse()?;
    Ok(reqwest::Client::builder()
        .local_address(Some(source))
        .build()?)
}

/// The status and the body of an answer (`Null` when it has none).
async fn answer(resp: reqwest::Response) -> anyhow::Result<(u16, Value)> {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Ok((status, body))
}

/// The stable code of a refusal's body.
fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> anyhow::Result<(u16, Value)> {
    answer(http.post(url).json(&body).send().await?).await
}

async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<(u16, Value)> {
    let body = json!({ "email": email, "password": password });
    post(http, format!("{base}/api/auth/signin"), body).await
}

/// A value of the Prometheus text (0 when the series does not exist yet).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .and_then(|line| line.split_whitespace().last())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn someone_else_s_failed_sign_ins_do_not_lock_the_owner_out() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let base = server.base_url.as_str();
    let ben = server.account("Ben").await?;
    let email = ben.email.clone().unwrap();

    let attacker = client_from("127.0.0.3")?;
    let mut codes = Vec::new();
    for _ in 0..15 {
        let (_, body) = sign_in(&attacker, base, &email, "not the password").await?;
        codes.push(code(&body).to_owned());
    }
    assert!(
        codes[..10].iter().all(|c| c == "bad_credentials"),
        "{codes:?}"
    );
    assert!(
        codes[10..].iter().all(|c| c == "rate_limited"),
        "the attacker is stopped: {codes:?}"
    );

    // Right after, the owner signs in from their own address.
    let owner = client_from("127.0.0.2")?;
    let (status, body) = sign_in(&owner, base, &email, PASSWORD).await?;
    assert_eq!(status, 200, "the owner is locked out: {body}");
    assert!(body["token"].is_string(), "{body}");
    Ok(())
}

#[tokio::test]
async fn a_sign_in_tells_nothing_about_whether_the_e_mail_has_an_account() -> anyhow::Result<()> {
    // Its own process, so that its metrics count its sign-ins only.
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path()).await?;
    let base = server.base_url.as_str();
    let ben = cartroom_e2e::sign_up(base, "Ben").await?;
    let http = reqwest::Client::new();
    let verifications = || async {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        anyhow::Ok(metric(&text, "cartroom_password_verifications_total"))
    };

    let before = verifications().await?;
    let wrong = sign_in(&http, base, ben.email.as_deref().unwrap(), "not it").await?;
    let unknown = sign_in(&http, base, "nobody@example.com", "not it").await?;
    let unknown_again = sign_in(&http, base, "nobody-else@example.com", PASSWORD).await?;
    let after = verifications().await?;

    // The same answer, word for word...
    assert_eq!(wrong.0, 401);
    assert_eq!(code(&wrong.1), "bad_credentials");
    assert_eq!(unknown, wrong);
    assert_eq!(unknown_again, wrong);
    // ...after the same work: one argon2 verification each, against a
    // dummy hash when there is no account (equal time, without measuring it).
    assert_eq!(
        after - before,
        3.0,
        "an unknown e-mail must cost one password verification too"
    );
    server.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn sign_ins_are_limited_per_client_address() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.signins_per_minute_per_ip = 5).await?;
    let base = server.base_url.as_str();
    let prober = client_from("127.0.0.4")?;
    let mut codes = Vec::new();
    for i in 0..8 {
        let email = format!("probe-{i}@example.com");
        let (_, body) = sign_in(&prober, base, &email, "guess").await?;
        codes.push(code(&body).to_owned());
    }
    assert_eq!(
        codes,
        [["bad_credentials"; 5].as_slice(), &["rate_limited"; 3]].concat(),
        "many e-mails from one address meet the address's limit"
    );
    // Another address is not affected.
    let (_, body) = sign_in(&client_from("127.0.0.5")?, base, "probe-0@example.com", "x").await?;
    assert_eq!(code(&body), "bad_credentials");
    Ok(())
}

#[tokio::test]
async fn new_accounts_are_limited_per_client_address() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.accounts_per_hour_per_ip = 3).await?;
    let base = server.base_url.as_str();
    let http = client_from("127.0.0.6")?;
    let signup = |i: u32| json!({"email": format!("new-{i}@example.com"), "password": PASSWORD, "name": "New"});
    let guest = || json!({"name": "Gus"});
    let url = |path: &str| format!("{base}{path}");
    let mut statuses = Vec::new();
    statuses.push(post(&http, url("/api/auth/signup"), signup(1)).await?);
    statuses.push(post(&http, url("/api/auth/guest"), guest()).await?);
    statuses.push(post(&http, url("/api/auth/signup"), signup(2)).await?);
    let allowed: Vec<u16> = statuses.iter().map(|(s, _)| *s).collect();
    assert_eq!(allowed, [201, 201, 201]);

    for (path, body) in [
        ("/api/auth/guest", guest()),
        ("/api/auth/signup", signup(3)),
    ] {
        let (status, body) = post(&http, url(path), body).await?;
        assert_eq!((status, code(&body)), (429, "rate_limited"), "{path}");
    }
    // Nothing was created by the refused sign-up.
    let (status, _) = sign_in(&reqwest::Client::new(), base, "new-3@example.com", PASSWORD).await?;
    assert_eq!(status, 401);
    // Another address is not affected.
    let (status, _) = post(&client_from("127.0.0.7")?, url("/api/auth/guest"), guest()).await?;
    assert_eq!(status, 201);
    Ok(())
}

#[tokio::test]
async fn member_additions_are_limited_per_user() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.member_additions_per_hour = 3).await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cleo = server.account("Cleo").await?;
    let cart = ana.create_cart("Probed").await?;
    ana.add_member(cart, ben.email.as_deref().unwrap(), MemberRole::Viewer)
        .await?;
    let probe = ana
        .add_member(cart, "someone@example.com", MemberRole::Viewer)
        .await
        .unwrap_err();
    assert_eq!(api_error(&probe).unwrap().code, "user_not_found");
    ana.add_member(cart, cleo.email.as_deref().unwrap(), MemberRole::Editor)
        .await?;

    // The fourth, even of an e-mail that has an account, is refused.
    let dan = server.account("Dan").await?;
    let refused = ana
        .add_member(cart, dan.email.as_deref().unwrap(), MemberRole::Viewer)
        .await
        .unwrap_err();
    let refused = api_error(&refused).unwrap();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (429, "rate_limited")
    );
    assert_eq!(ana.members(cart).await?.len(), 3, "Dan was not added");

    // Another admin has a budget of their own.
    let other_cart = ben.create_cart("Ben's").await?;
    ben.add_member(
        other_cart,
        dan.email.as_deref().unwrap(),
        MemberRole::Viewer,
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn only_those_who_manage_members_see_their_e_mails() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let ana = server.account("Ana").await?;
    let editor = server.account("Eddie").await?;
    let viewer = server.account("Vi").await?;
    let cart = shared_cart(
        &ana,
        &[(&editor, MemberRole::Editor), (&viewer, MemberRole::Viewer)],
    )
    .await?;

    let seen_by_admin = ana.members(cart).await?;
    assert_eq!(seen_by_admin.len(), 3);
    assert!(
        seen_by_admin.iter().all(|m| m.email.is_some()),
        "{seen_by_admin:?}"
    );
    for member in [&editor, &viewer] {
        let seen = member.members(cart).await?;
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter().all(|m| m.email.is_none()),
            "{} sees e-mails: {seen:?}",
            member.name
        );
        // Not even as the raw JSON.
        let raw = member
            .request_json(
                reqwest::Method::GET,
                &format!("/api/carts/{cart}/members"),
                None,
            )
            .await?;
        assert!(
            raw["members"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["email"].is_null()),
            "{raw}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn cookie_writes_need_an_allowed_origin() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        c.allowed_origins = vec!["https://shop.example".into()];
    })
    .await?;
    let base = server.base_url.as_str();
    let ana = server.account("Ana").await?;
    let cart = ana.create_cart("Mine").await?;
    let http = reqwest::Client::new();
    let cookie = format!("cartroom_session={}", ana.token);
    let send = |method: reqwest::Method, path: &str, origin: Option<&str>, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .header("cookie", &cookie);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move { answer(req.send().await?).await }
    };
    use reqwest::Method;
    let evil = Some("http://evil.example");
    let add_line =
        json!({"op_id": "x-1", "op": {"kind": "add_line", "sku": "KETTLE", "quantity": 1}});
    let refused = [
        (
            "create",
            Method::POST,
            "/api/carts".to_owned(),
            evil,
            Some(json!({"name": "Evil"})),
        ),
        (
            "create without Origin",
            Method::POST,
            "/api/carts".into(),
            None,
            Some(json!({"name": "Evil"})),
        ),
        (
            "op",
            Method::POST,
            format!("/api/carts/{cart}/ops"),
            evil,
            Some(add_line.clone()),
        ),
        (
            "rename",
            Method::PATCH,
            format!("/api/carts/{cart}"),
            evil,
            Some(json!({"name": "Evil"})),
        ),
        (
            "add member",
            Method::POST,
            format!("/api/carts/{cart}/members"),
            evil,
            Some(json!({"email": "eve@example.com", "role": "admin"})),
        ),
        (
            "delete",
            Method::DELETE,
            format!("/api/carts/{cart}"),
            evil,
            None,
        ),
        (
            "sign-out",
            Method::POST,
            "/api/auth/signout".into(),
            evil,
            None,
        ),
        (
            "a look-alike origin",
            Method::POST,
            "/api/carts".into(),
            Some("http://127.0.0.1.evil.example"),
            Some(json!({"name": "Evil"})),
        ),
    ];
    for (what, method, path, origin, body) in refused {
        let (status, body) = send(method, &path, origin, body).await?;
        assert_eq!((status, code(&body)), (403, "forbidden"), "{what}: {body}");
    }
    // Nothing happened: the session lives, the cart is as it was.
    let view = ana.cart(cart).await?.view;
    assert_eq!((view.name.as_str(), view.lines.len()), ("Mine", 0));
    assert_eq!(ana.carts().await?.len(), 1);
    assert_eq!(ana.members(cart).await?.len(), 1);

    // Reading needs no Origin; the server's own and an allowed one may write.
    let (status, _) = send(Method::GET, "/api/me", evil, None).await?;
    assert_eq!(status, 200);
    let (status, _) = send(
        Method::POST,
        "/api/carts",
        Some(base),
        Some(json!({"name": "Own"})),
    )
    .await?;
    assert_eq!(status, 201);
    let (status, _) = send(
        Method::POST,
        &format!("/api/carts/{cart}/ops"),
        Some("https://shop.example"),
        Some(add_line),
    )
    .await?;
    assert_eq!(status, 200);

    // A bearer token cannot be sent by another site's page: not affected.
    let (status, _) = answer(
        http.post(format!("{base}/api/carts"))
            .bearer_auth(&ana.token)
            .header("origin", "http://evil.example")
            .json(&json!({"name": "By token"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 201);

    let (status, _) = send(Method::POST, "/api/auth/signout", Some(base), None).await?;
    assert_eq!(status, 204);
    assert_eq!(api_error(&ana.me().await.unwrap_err()).unwrap().status, 401);
    Ok(())
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() -> anyhow::Result<()> {
    let web = tempfile::tempdir()?;
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>t</title>",
    )?;
    let web_dir = web.path().to_owned();
    let server = TestServer::start_with(move |c| c.web_dir = web_dir).await?;
    let base = server.base_url.as_str();
    let http = reqwest::Client::new();
    let answers = [
        http.get(format!("{base}/")).send().await?,
        http.get(format!("{base}/carts/some-route")).send().await?,
        http.get(format!("{base}/api/store")).send().await?,
        http.get(format!("{base}/api/no-such-thing")).send().await?,
        http.get(format!("{base}/api/me")).send().await?,
        http.get(format!("{base}/healthz")).send().await?,
        http.get(format!("{base}/images/KETTLE.svg")).send().await?,
    ];
    for resp in answers {
        let url = resp.url().to_string();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{url}: {csp:?}");
        assert!(csp.contains("default-src 'self'"), "{url}: {csp:?}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{url}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{url}");
    }
    Ok(())
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_asked() -> anyhow::Result<()> {
    let cookie_of = |resp: &reqwest::Response| {
        resp.headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let http = reqwest::Client::new();
    let plain = TestServer::start().await?;
    let resp = http
        .post(format!("{}/api/auth/guest", plain.base_url))
        .send()
        .await?;
    let cookie = cookie_of(&resp);
    assert!(cookie.starts_with("cartroom_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && !cookie.contains("Secure"),
        "{cookie}"
    );

    let dir = tempfile::tempdir()?;
    let secure = ServerProcess::start_with_args(dir.path(), &["--secure-cookies"]).await?;
    let resp = http
        .post(format!("{}/api/auth/guest", secure.base_url))
        .send()
        .await?;
    let cookie = cookie_of(&resp);
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Secure"),
        "{cookie}"
    );
    let token = resp.json::<Value>().await?["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = http
        .post(format!("{}/api/auth/signout", secure.base_url))
        .header("cookie", format!("cartroom_session={token}"))
        .header("origin", &secure.base_url)
        .send()
        .await?;
    assert_eq!(resp.status(), 204);
    assert!(
        cookie_of(&resp).contains("Secure"),
        "the clearing cookie too"
    );
    secure.terminate().await?;
    Ok(())
}

/// A non-loopback address of this machine (the one its default route
/// leaves from), if it has one; no packet is sent.
fn non_loopback_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("203.0.113.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn metrics_answer_the_operator_only() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let url = format!("{}/metrics", server.base_url);
    let (status, _) = answer(reqwest::get(&url).await?).await?;
    assert_eq!(status, 200, "loopback may read them");
    // From this machine's network address, the client is not loopback.
    // (Only a machine without a network, where nobody else can connect
    // either, skips this part.)
    match non_loopback_address() {
        Some(ip) => {
            let remote = client_from(&ip.to_string())?;
            let (status, body) = answer(remote.get(&url).send().await?).await?;
            assert_eq!(
                (status, code(&body)),
                (403, "forbidden"),
                "from {ip}: {body}"
            );
        }
        None => eprintln!("SKIPPED the non-loopback part: this machine has no network address"),
    }

    // With a token, it is needed from everywhere, loopback included.
    let dir = tempfile::tempdir()?;
    let guarded =
        ServerProcess::start_with_args(dir.path(), &["--metrics-token", "s3cret"]).await?;
    let url = format!("{}/metrics", guarded.base_url);
    let http = reqwest::Client::new();
    for authorization in [
        None,
        Some("Bearer wrong"),
        Some("Bearer s3cre"),
        Some("s3cret"),
    ] {
        let mut req = http.get(&url);
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        let (status, body) = answer(req.send().await?).await?;
        assert_eq!(
            (status, code(&body)),
            (403, "forbidden"),
            "{authorization:?}"
        );
    }
    let resp = http.get(&url).bearer_auth("s3cret").send().await?;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await?.contains("cartroom_"));
    guarded.terminate().await?;
    Ok(())
}

#[tokio::test]
async fn http_ops_are_rate_limited_per_user() -> anyhow::Result<()> {
    // One op a second, bursts of two: the third of a quick run is refused.
    let server = TestServer::start_with(|c| c.http_ops_per_second = 1).await?;
    let (ana, ben, cart) =
        cartroom_e2e::admin_and_member(&server, "Ben", MemberRole::Editor).await?;
    let add = Op::AddLine {
        sku: "KETTLE".into(),
        quantity: 1,
    };
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..10 {
        match ana.http_op(cart, &OpId(format!("flood-{i}")), &add).await {
            Ok(_) => accepted += 1,
            Err(e) => {
                let refusal = api_error(&e).unwrap();
                assert_eq!(
                    (refusal.status, refusal.code.as_str()),
                    (429, "rate_limited")
                );
                limited += 1;
            }
        }
    }
    assert!(limited > 0, "{accepted} accepted, none limited");
    // Refused ops were not applied.
    let kettle = |view: &cartroom_protocol::http::CartResponse| {
        view.view
            .lines
            .iter()
            .find(|l| l.sku == "KETTLE")
            .map_or(0, |l| l.quantity)
    };
    assert_eq!(kettle(&ana.cart(cart).await?), accepted);
    // Another user's budget is their own.
    ben.http_op(cart, &OpId("ben-1".into()), &add).await?;
    assert_eq!(kettle(&ana.cart(cart).await?), accepted + 1);
    Ok(())
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_sockets() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.max_connections_per_user = 2).await?;
    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let first = ana.connect().await?;
    let mut second = ana.connect().await?;
    second.ping().await?;
    let Err(refused) = ana.connect().await else {
        panic!("a third socket of one user was let in");
    };
    let refused = api_error(&refused).unwrap();
    assert_eq!(
        (refused.status, refused.code.as_str()),
        (429, "rate_limited")
    );
    // Another user is not affected.
    ben.connect().await?.ping().await?;

    // Closing one frees its place (once the server has seen it close).
    first.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match ana.connect().await {
            Ok(mut third) => {
                third.ping().await?;
                break;
            }
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert_eq!(api_error(&e).map(|a| a.status), Some(429), "{e:#}");
                tokio::task::yield_now().await;
            }
            Err(e) => return Err(e.context("the closed socket's place was never freed")),
        }
    }
    Ok(())
}

#[tokio::test]
async fn text_that_could_disguise_an_activity_line_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let base = server.base_url.as_str();
    let http = reqwest::Client::new();

    // Display names, at sign-up and for guests.
    for name in ["Ana\u{202E}nimda", "Ana\u{200B}", "Ana\0", "Ana\nAdmin"] {
        let signup = json!({"email": "x@example.com", "password": PASSWORD, "name": name});
        let (status, body) = post(&http, format!("{base}/api/auth/signup"), signup).await?;
        assert_eq!((status, code(&body)), (400, "invalid_field"), "{name:?}");
        let guest = json!({ "name": name });
        let (status, body) = post(&http, format!("{base}/api/auth/guest"), guest).await?;
        assert_eq!((status, code(&body)), (400, "invalid_field"), "{name:?}");
    }

    // Cart names, at creation and renaming.
    let ana = server.account("Ana").await?;
    for name in ["BBQ\u{2066}", "BBQ\u{FEFF}", "BBQ\u{7}"] {
        let created = ana
            .request_json(
                reqwest::Method::POST,
                "/api/carts",
                Some(&json!({ "name": name })),
            )
            .await
            .unwrap_err();
        assert_eq!(
            api_error(&created).unwrap().code,
            "invalid_field",
            "{name:?}"
        );
    }
    let cart = ana.create_cart("BBQ").await?;
    let renamed = ana
        .request_json(
            reqwest::Method::PATCH,
            &format!("/api/carts/{cart}"),
            Some(&json!({"name": "BBQ\u{202D}"})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(&renamed).unwrap().code, "invalid_field");

    // Notes, over HTTP and over the socket; a note keeps its line breaks.
    let mut conn = ana.connect().await?;
    conn.subscribe(cart).await?;
    conn.op(
        cart,
        Op::AddLine {
            sku: "KETTLE".into(),
            quantity: 1,
        },
    )
    .await?
    .acked()?;
    let bad_notes = [
        Op::SetCartNote {
            note: "paid\u{202E}".into(),
        },
        Op::SetCartNote {
            note: "line\r\nbreak".into(),
        },
        Op::SetLineNote {
            line_id: LineId("KETTLE".into()),
            note: "x\u{2060}y".into(),
        },
        Op::Suggest {
            sku: "KETTLE".into(),
            quantity: 1,
            note: Some("\u{200F}".into()),
        },
    ];
    for (i, op) in bad_notes.iter().enumerate() {
        let over_http = ana
            .http_op(cart, &OpId(format!("bad-{i}")), op)
            .await
            .unwrap_err();
        assert_eq!(
            api_error(&over_http).unwrap().code,
            "invalid_field",
            "{op:?}"
        );
        let over_ws = conn.op(cart, op.clone()).await?;
        assert!(
            matches!(
                &over_ws,
                OpOutcome::Refused {
                    code: ErrorCode::InvalidField,
                    ..
                }
            ),
            "{op:?}: {over_ws:?}"
        );
    }
    conn.op(
        cart,
        Op::SetCartNote {
            note: "eggs\nmilk".into(),
        },
    )
    .await?
    .acked()?;
    let view = ana.cart(cart).await?.view;
    assert_eq!(
        (view.name.as_str(), view.note.as_str()),
        ("BBQ", "eggs\nmilk")
    );
    assert!(view.suggestions.is_empty() && view.lines[0].note.is_empty());
    Ok(())
}
