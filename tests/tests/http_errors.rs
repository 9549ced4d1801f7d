//! Every malformed HTTP request is refused in the documented shape
//! (`docs/protocol.md` section 4): `{"error":{"code","message"}}`, a JSON
//! content type, the status that goes with the case and a stable code. The
//! requests are built by hand so that the test controls every header and
//! byte of the body. The cases are tables (request line, session, body,
//! expected answer) checked by one function, and every case that fails is
//! listed, with what the server answered, before the test fails.

use cartroom_e2e::TestServer;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::{ErrorBody, SessionResponse};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};

/// The HTTP body limit of `docs/protocol.md` section 7.
const LIMIT: usize = 64 * 1024;

/// What the web client's `index.html` says, so that an HTML fallback is
/// recognisable in a failure.
const INDEX_HTML: &str = "<!doctype html><title>Cartroom app</title><div id=app></div>";

/// How a request carries (or does not carry) a session.
#[derive(Clone, Debug)]
enum Auth {
    None,
    Bearer(String),
    Cookie(String),
    /// An `Authorization` header written as is.
    Header(&'static str),
}

/// The body of a request, byte for byte, and its content type.
#[derive(Clone, Debug)]
enum Body {
    /// No body and no content type.
    Empty,
    /// JSON text sent as `application/json`.
    Json(String),
    /// Any bytes with any (or no) content type.
    Raw {
        content_type: Option<&'static str>,
        bytes: Vec<u8>,
    },
}

/// What the server must answer.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Refused with this status and code, in the documented shape.
    Refused(u16, ErrorCode),
    /// A guest session is started: `201` and a `SessionResponse`.
    GuestSession,
}

#[derive(Clone, Debug)]
struct Case {
    what: &'static str,
    method: Method,
    path: String,
    auth: Auth,
    body: Body,
    expect: Expect,
}

impl Case {
    /// A case from its request line (`"POST /api/carts"`), with no session
    /// and no body.
    fn new(what: &'static str, request_line: &str, expect: Expect) -> Self {
        let (method, path) = request_line
            .split_once(' ')
            .expect("a request line is `METHOD /path`");
        Self {
            what,
            method: Method::from_bytes(method.as_bytes()).expect("a method"),
            path: path.to_owned(),
            auth: Auth::None,
            body: Body::Empty,
            expect,
        }
    }

    fn bearer(mut self, token: &str) -> Self {
        self.auth = Auth::Bearer(token.to_owned());
        self
    }

    fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    fn json(mut self, text: impl Into<String>) -> Self {
        self.body = Body::Json(text.into());
        self
    }

    fn raw(mut self, content_type: Option<&'static str>, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Raw {
            content_type,
            bytes: bytes.into(),
        };
        self
    }
}

/// Sends one case and checks the answer; `Err` describes what was wrong,
/// with the status, content type and body the server actually sent.
async fn check(http: &reqwest::Client, base_url: &str, case: &Case) -> Result<(), String> {
    let mut req = http.request(case.method.clone(), format!("{base_url}{}", case.path));
    req = match &case.auth {
        Auth::None => req,
        Auth::Bearer(token) => req.header(AUTHORIZATION, format!("Bearer {token}")),
        Auth::Cookie(token) => req.header(COOKIE, format!("cartroom_session={token}")),
        Auth::Header(value) => req.header(AUTHORIZATION, *value),
    };
    req = match &case.body {
        Body::Empty => req,
        Body::Json(text) => req
            .header(CONTENT_TYPE, "application/json")
            .body(text.clone()),
        Body::Raw {
            content_type,
            bytes,
        } => {
            let req = match content_type {
                Some(ct) => req.header(CONTENT_TYPE, *ct),
                None => req,
            };
            req.body(bytes.clone())
        }
    };
    let resp = req
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let text = resp
        .text()
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    let actual = || {
        let shown: String = text.chars().take(300).collect();
        format!("got {status}, content-type {content_type:?}, body {shown:?}")
    };
    let is_json = content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));

    match case.expect {
        Expect::Refused(want_status, want_code) => {
            let body: Option<ErrorBody> = serde_json::from_str(&text).ok();
            let code = body.as_ref().map(|b| b.error.code);
            let message_ok = body.as_ref().is_some_and(|b| !b.error.message.is_empty());
            if status == want_status && is_json && code == Some(want_code) && message_ok {
                Ok(())
            } else {
                Err(format!(
                    "expected {want_status} {want_code} as a JSON error body; {}",
                    actual()
                ))
            }
        }
        Expect::GuestSession => {
            let session: Option<SessionResponse> = serde_json::from_str(&text).ok();
            match session {
                Some(s) if status == 201 && is_json && s.user.guest && !s.token.is_empty() => {
                    Ok(())
                }
                _ => Err(format!("expected 201 with a guest session; {}", actual())),
            }
        }
    }
}

/// A JSON body of exactly `len` bytes: `{"name":"xxx…"}`.
fn name_body_of_len(len: usize) -> String {
    let overhead = r#"{"name":""}"#.len();
    format!(r#"{{"name":"{}"}}"#, "x".repeat(len - overhead))
}

#[tokio::test]
async fn every_malformed_request_gets_a_json_error_with_a_stable_code() -> anyhow::Result<()> {
    use ErrorCode::*;
    use Expect::Refused;

    // A built web client, so that unknown paths outside `/api` fall back to
    // its `index.html` and an HTML answer under `/api` would show.
    let web = tempfile::tempdir()?;
    std::fs::write(web.path().join("index.html"), INDEX_HTML)?;
    let web_dir = web.path().to_owned();
    let server = TestServer::start_with(move |c| c.web_dir = web_dir).await?;

    let ana = server.account("Ana").await?;
    let ben = server.account("Ben").await?;
    let cart =
        cartroom_e2e::shared_cart(&ana, &[(&ben, cartroom_protocol::MemberRole::Editor)]).await?;
    let ended = server.account("Eve").await?;
    ended.sign_out().await?;
    let a = ana.token.as_str();
    let ben_email = ben.email.clone().unwrap_or_default();

    let http = reqwest::Client::new();
    let base = server.base_url.as_str();

    // The web client really is served: outside `/api` an unknown path is
    // the app's page, which is what `/api` must never answer.
    let page = http.get(format!("{base}/some/app/route")).send().await?;
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await?, INDEX_HTML);

    let cart_path = format!("/api/carts/{cart}");
    let ops = format!("/api/carts/{cart}/ops");
    let members = format!("/api/carts/{cart}/members");
    let ben_path = format!("{members}/{}", ben.user_id);
    let activity = format!("/api/carts/{cart}/activity");
    let add_line = r#"{"op_id":"op-1","op":{"kind":"add_line","sku":"KETTLE","quantity":2}}"#;
    let mut cases = Vec::new();

    // 400 bad_message: a body that is not JSON, or JSON of the wrong shape
    // (missing, unknown or mistyped field, unknown op kind or role).
    let malformed = [
        (
            "not JSON",
            "POST /api/carts".into(),
            "this is not json".into(),
        ),
        (
            "truncated JSON",
            "POST /api/carts".into(),
            r#"{"name":"Gro"#.into(),
        ),
        (
            "trailing garbage",
            "POST /api/carts".into(),
            r#"{"name":"G"} x"#.into(),
        ),
        ("empty JSON body", "POST /api/carts".into(), String::new()),
        (
            "not JSON, sign-in",
            "POST /api/auth/signin".into(),
            "email=a&password=b".into(),
        ),
        ("not JSON, op", format!("POST {ops}"), "{op}".into()),
        ("missing field", "POST /api/carts".into(), "{}".into()),
        (
            "unknown field",
            "POST /api/carts".into(),
            r#"{"name":"G","colour":"red"}"#.into(),
        ),
        (
            "wrong type",
            "POST /api/carts".into(),
            r#"{"name":42}"#.into(),
        ),
        (
            "an array, not an object",
            "POST /api/carts".into(),
            r#"["Groceries"]"#.into(),
        ),
        (
            "null, not an object",
            "POST /api/carts".into(),
            "null".into(),
        ),
        (
            "sign-up without password",
            "POST /api/auth/signup".into(),
            r#"{"email":"x@example.com","name":"X"}"#.into(),
        ),
        (
            "sign-in, unknown field",
            "POST /api/auth/signin".into(),
            r#"{"email":"x@example.com","password":"p","remember":true}"#.into(),
        ),
        (
            "op, quantity as a string",
            format!("POST {ops}"),
            r#"{"op_id":"o","op":{"kind":"add_line","sku":"KETTLE","quantity":"2"}}"#.into(),
        ),
        (
            "op, no quantity",
            format!("POST {ops}"),
            r#"{"op_id":"o","op":{"kind":"add_line","sku":"KETTLE"}}"#.into(),
        ),
        (
            "op, unknown field in the op",
            format!("POST {ops}"),
            r#"{"op_id":"o","op":{"kind":"add_line","sku":"KETTLE","quantity":2,"gift":1}}"#.into(),
        ),
        (
            "op, no op_id",
            format!("POST {ops}"),
            r#"{"op":{"kind":"add_line","sku":"KETTLE","quantity":2}}"#.into(),
        ),
        (
            "op, unknown kind",
            format!("POST {ops}"),
            r#"{"op_id":"o","op":{"kind":"explode"}}"#.into(),
        ),
        (
            "op, no kind",
            format!("POST {ops}"),
            r#"{"op_id":"o","op":{"sku":"KETTLE"}}"#.into(),
        ),
        (
            "add member, unknown role",
            format!("POST {members}"),
            format!(r#"{{"email":"{ben_email}","role":"owner"}}"#),
        ),
        (
            "add member, role in the wrong case",
            format!("POST {members}"),
            format!(r#"{{"email":"{ben_email}","role":"Admin"}}"#),
        ),
        (
            "change role, unknown role",
            format!("PATCH {ben_path}"),
            r#"{"role":"superuser"}"#.into(),
        ),
    ];
    for (what, line, body) in &malformed {
        cases.push(
            Case::new(what, line, Refused(400, BadMessage))
                .bearer(a)
                .json(body),
        );
    }
    cases.push(
        Case::new("invalid UTF-8", "POST /api/carts", Refused(400, BadMessage))
            .bearer(a)
            .raw(
                Some("application/json"),
                b"{\"name\":\"\xff\xfe\"}".to_vec(),
            ),
    );

    // 415 bad_message: a body that does not say it is JSON.
    let not_json_typed = [
        (
            "no content type",
            "POST /api/carts".into(),
            None,
            r#"{"name":"G"}"#,
        ),
        (
            "text/plain",
            "POST /api/carts".into(),
            Some("text/plain"),
            r#"{"name":"G"}"#,
        ),
        (
            "a form",
            "POST /api/auth/signin".into(),
            Some("application/x-www-form-urlencoded"),
            "email=a%40b.c&password=secret12",
        ),
        (
            "op as text/plain",
            format!("POST {ops}"),
            Some("text/plain"),
            add_line,
        ),
    ];
    for (what, line, content_type, body) in &not_json_typed {
        cases.push(
            Case::new(what, line, Refused(415, BadMessage))
                .bearer(a)
                .raw(*content_type, *body),
        );
    }

    // 413 payload_too_large: a body over 64 KiB. At exactly 64 KiB it is
    // read, and refused for its too-long name instead.
    let big = |n: usize| "x".repeat(n);
    let oversized = [
        (
            "64 KiB + 1",
            "POST /api/carts".into(),
            name_body_of_len(LIMIT + 1),
            Refused(413, PayloadTooLarge),
        ),
        (
            "1 MiB",
            "POST /api/carts".into(),
            name_body_of_len(1 << 20),
            Refused(413, PayloadTooLarge),
        ),
        (
            "a 100 KiB op",
            format!("POST {ops}"),
            format!(
                r#"{{"op_id":"o","op":{{"kind":"set_cart_note","note":"{}"}}}}"#,
                big(100 << 10)
            ),
            Refused(413, PayloadTooLarge),
        ),
        (
            "a 100 KiB sign-up",
            "POST /api/auth/signup".into(),
            format!(
                r#"{{"email":"x@example.com","password":"{}","name":"X"}}"#,
                big(100 << 10)
            ),
            Refused(413, PayloadTooLarge),
        ),
        (
            "a 100 KiB guest body",
            "POST /api/auth/guest".into(),
            format!(r#"{{"name":"{}"}}"#, big(100 << 10)),
            Refused(413, PayloadTooLarge),
        ),
        (
            "exactly 64 KiB",
            "POST /api/carts".into(),
            name_body_of_len(LIMIT),
            Refused(400, InvalidField),
        ),
    ];
    for (what, line, body, expect) in oversized {
        cases.push(Case::new(what, &line, expect).bearer(a).json(body));
    }

    // Requests without a body, signed in as Ana (the cart's admin).
    let unknown_cart = uuid::Uuid::new_v4();
    let stranger = uuid::Uuid::new_v4();
    let bodiless = [
        // No such `/api/...` path: 404 not_found, as JSON.
        ("GET /api/nope".into(), Refused(404, NotFound)),
        ("POST /api/nope".into(), Refused(404, NotFound)),
        ("GET /api".into(), Refused(404, NotFound)),
        ("GET /api/".into(), Refused(404, NotFound)),
        ("GET /api/carts/".into(), Refused(404, NotFound)),
        ("GET /api/carts/x/nope".into(), Refused(404, NotFound)),
        ("POST /api/carts/x/nope".into(), Refused(404, NotFound)),
        (format!("GET {cart_path}/nope"), Refused(404, NotFound)),
        (format!("GET {ben_path}/nope"), Refused(404, NotFound)),
        ("DELETE /api/auth/nope".into(), Refused(404, NotFound)),
        ("PUT /api/v2/carts".into(), Refused(404, NotFound)),
        // A known path with a method it does not take: 405.
        ("PUT /api/carts".into(), Refused(405, MethodNotAllowed)),
        ("DELETE /api/carts".into(), Refused(405, MethodNotAllowed)),
        (format!("PUT {cart_path}"), Refused(405, MethodNotAllowed)),
        (format!("GET {ops}"), Refused(405, MethodNotAllowed)),
        (format!("DELETE {members}"), Refused(405, MethodNotAllowed)),
        (format!("GET {ben_path}"), Refused(405, MethodNotAllowed)),
        (
            "GET /api/auth/signin".into(),
            Refused(405, MethodNotAllowed),
        ),
        ("POST /api/me".into(), Refused(405, MethodNotAllowed)),
        ("POST /healthz".into(), Refused(405, MethodNotAllowed)),
        ("POST /ws".into(), Refused(405, MethodNotAllowed)),
        // A malformed (or unknown) cart id: 404 cart_not_found.
        ("GET /api/carts/x".into(), Refused(404, CartNotFound)),
        (
            "GET /api/carts/not-a-uuid".into(),
            Refused(404, CartNotFound),
        ),
        ("DELETE /api/carts/123".into(), Refused(404, CartNotFound)),
        (
            "GET /api/carts/00000000-0000-0000-0000-00000000000g".into(),
            Refused(404, CartNotFound),
        ),
        (format!("GET {cart_path}0"), Refused(404, CartNotFound)),
        // A path that is not UTF-8 once decoded names nothing: 400 bad_message.
        ("GET /api/carts/%FF%FE".into(), Refused(400, BadMessage)),
        (
            "GET /api/carts/x/members".into(),
            Refused(404, CartNotFound),
        ),
        (
            "GET /api/carts/x/activity?limit=abc".into(),
            Refused(404, CartNotFound),
        ),
        (
            "GET /api/carts/x/document".into(),
            Refused(404, CartNotFound),
        ),
        (
            format!("GET /api/carts/{unknown_cart}"),
            Refused(404, CartNotFound),
        ),
        // A malformed (or unknown) member id: 404 user_not_found.
        (format!("DELETE {members}/x"), Refused(404, UserNotFound)),
        (
            format!("DELETE {members}/not-a-uuid"),
            Refused(404, UserNotFound),
        ),
        (format!("DELETE {ben_path}0"), Refused(404, UserNotFound)),
        (format!("DELETE {members}/%FF"), Refused(400, BadMessage)),
        (
            format!("DELETE {members}/{stranger}"),
            Refused(404, UserNotFound),
        ),
        // A malformed query parameter (or one out of its bounds): 400 invalid_field.
        (
            format!("GET {activity}?limit=abc"),
            Refused(400, InvalidField),
        ),
        (
            format!("GET {activity}?limit=-1"),
            Refused(400, InvalidField),
        ),
        (
            format!("GET {activity}?limit=1.5"),
            Refused(400, InvalidField),
        ),
        (format!("GET {activity}?limit="), Refused(400, InvalidField)),
        (
            format!("GET {activity}?limit=0"),
            Refused(400, InvalidField),
        ),
        (
            format!("GET {activity}?limit=201"),
            Refused(400, InvalidField),
        ),
    ];
    for (line, expect) in &bodiless {
        cases.push(Case::new("", line, *expect).bearer(a));
    }

    // Bodies behind a malformed id in the path.
    let behind_bad_ids = [
        (
            "POST /api/carts/x/ops".to_owned(),
            add_line,
            Refused(404, CartNotFound),
        ),
        (
            "PATCH /api/carts/x".into(),
            r#"{"name":"y"}"#,
            Refused(404, CartNotFound),
        ),
        (
            format!("PATCH {members}/x"),
            r#"{"role":"viewer"}"#,
            Refused(404, UserNotFound),
        ),
        (
            format!("PATCH {members}/{stranger}"),
            r#"{"role":"viewer"}"#,
            Refused(404, UserNotFound),
        ),
    ];
    for (line, body, expect) in &behind_bad_ids {
        cases.push(Case::new("", line, *expect).bearer(a).json(*body));
    }

    // No session, or one the server does not know: 401 unauthorized.
    let ended_token = Auth::Bearer(ended.token.clone());
    let unauthorized = [
        ("no session", "GET /api/me".into(), Auth::None),
        (
            "unknown token",
            "GET /api/me".into(),
            Auth::Bearer("forged".into()),
        ),
        (
            "empty bearer",
            "GET /api/me".into(),
            Auth::Header("Bearer "),
        ),
        (
            "basic auth",
            "GET /api/me".into(),
            Auth::Header("Basic YW5hOnNlY3JldA=="),
        ),
        (
            "unknown cookie",
            "GET /api/me".into(),
            Auth::Cookie("forged".into()),
        ),
        ("signed-out token", "GET /api/me".into(), ended_token),
        ("no session", "GET /api/carts".into(), Auth::None),
        (
            "unknown token",
            "GET /api/carts".into(),
            Auth::Bearer("forged".into()),
        ),
        ("no session", format!("GET {cart_path}"), Auth::None),
        ("no session", format!("GET {members}"), Auth::None),
        ("no session", "POST /api/auth/signout".into(), Auth::None),
    ];
    for (what, line, auth) in unauthorized {
        cases.push(Case::new(what, &line, Refused(401, Unauthorized)).auth(auth));
    }
    let with_body = [
        ("POST /api/carts".to_owned(), r#"{"name":"G"}"#),
        (format!("POST {ops}"), add_line),
    ];
    for (line, body) in &with_body {
        cases.push(
            Case::new("unknown token", line, Refused(401, Unauthorized))
                .bearer("forged")
                .json(*body),
        );
    }

    // The guest endpoint: the body is optional, but one that is sent must
    // be right.
    let guest = "POST /api/auth/guest";
    cases.extend([
        Case::new("no body", guest, Expect::GuestSession),
        Case::new("{}", guest, Expect::GuestSession).json("{}"),
        Case::new("a name", guest, Expect::GuestSession).json(r#"{"name":"Gus"}"#),
        Case::new("not JSON", guest, Refused(400, BadMessage)).json("name=Gus"),
        Case::new("truncated JSON", guest, Refused(400, BadMessage)).json(r#"{"name":"#),
        Case::new("unknown field", guest, Refused(400, BadMessage)).json(r#"{"nick":"Gus"}"#),
        Case::new("wrong type", guest, Refused(400, BadMessage)).json(r#"{"name":7}"#),
        Case::new("text/plain", guest, Refused(415, BadMessage))
            .raw(Some("text/plain"), r#"{"name":"Gus"}"#),
        Case::new("no content type", guest, Refused(415, BadMessage))
            .raw(None, r#"{"name":"Gus"}"#),
    ]);

    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = check(&http, base, case).await {
            let what = match case.what {
                "" => String::new(),
                what => format!(" [{what}]"),
            };
            failures.push(format!("{} {}{what}: {why}", case.method, case.path));
        }
    }

    // None of the refused requests changed anything.
    let view = ana.cart(cart).await?.view;
    if !view.lines.is_empty() || !view.note.is_empty() {
        failures.push(format!(
            "a refused op was applied: lines {:?}, note {:?}",
            view.lines, view.note
        ));
    }
    let carts: Vec<String> = ana.carts().await?.into_iter().map(|c| c.name).collect();
    if carts.len() != 1 {
        failures.push(format!(
            "a refused request created a cart: Ana has {carts:?}"
        ));
    }
    let roles: Vec<_> = ana
        .members(cart)
        .await?
        .into_iter()
        .map(|m| m.role)
        .collect();
    if roles.len() != 2 || !roles.contains(&cartroom_protocol::MemberRole::Editor) {
        failures.push(format!("a refused request changed the members: {roles:?}"));
    }

    assert!(
        failures.is_empty(),
        "{} of {} cases answered wrongly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}
