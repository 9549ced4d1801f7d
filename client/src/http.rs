//! The HTTP half of the client: accounts, carts and members.

use std::fmt;

use anyhow::Context as _;
use cartroom_protocol::{CartId, ErrorCode, MemberRole, UserId};
pub use reqwest::Method;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ws::{ConnectOptions, Connection};

/// A refused HTTP request: the status and the body's stable `code`.
///
/// Returned inside `anyhow::Error`; get it back with [`api_error`] or
/// `err.downcast_ref::<ApiError>()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The stable code of `docs/protocol.md` section 8, or `http_<status>`
    /// when the body had none (a 413 from the body limit, for instance).
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// The code as the protocol enum, when it is one of the stable codes.
    pub fn error_code(&self) -> Option<ErrorCode> {
        serde_json::from_value(Value::String(self.code.clone())).ok()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The [`ApiError`] inside an error chain, if the failure was a refusal.
pub fn api_error(err: &anyhow::Error) -> Option<&ApiError> {
    err.downcast_ref::<ApiError>()
}

/// A signed-in user (registered or guest) and its session token.
#[derive(Clone, Debug)]
pub struct Account {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    /// The session token, sent as `Authorization: Bearer`.
    pub token: String,
    pub user_id: UserId,
    pub name: String,
    /// `None` for a guest.
    pub email: Option<String>,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct SessionBody {
    user: UserBody,
    token: String,
}

#[derive(Deserialize)]
struct UserBody {
    id: UserId,
    name: String,
    email: Option<String>,
}

#[derive(Deserialize)]
struct IdBody {
    id: CartId,
}

fn new_http() -> reqwest::Client {
    // Cookies are off on purpose: each Account speaks only with its bearer
    // token, so two accounts sharing a process never mix sessions.
    reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .expect("reqwest client builds with default TLS-less features")
}

/// Builds the [`ApiError`] of a refused request from its status and body
/// (`{"error":{"code","message"}}`, or anything else).
pub(crate) fn refusal(status: u16, body: &[u8]) -> ApiError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let err = parsed.as_ref().and_then(|v| v.get("error"));
    let field = |name: &str| {
        err.and_then(|e| e.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    ApiError {
        status,
        code: field("code").unwrap_or_else(|| format!("http_{status}")),
        message: field("message").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
    }
}

/// Turns a non-success response into an [`ApiError`].
async fn check(resp: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().await.unwrap_or_default();
    Err(refusal(status.as_u16(), &body).into())
}

impl Account {
    async fn start_session(
        base_url: &str,
        path: &str,
        body: Value,
        bearer: Option<&str>,
    ) -> anyhow::Result<Account> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let http = new_http();
        let mut req = http.post(format!("{base_url}{path}")).json(&body);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.with_context(|| format!("POST {path}"))?;
        let body: SessionBody = check(resp).await?.json().await?;
        Ok(Account {
            base_url,
            token: body.token,
            user_id: body.user.id,
            name: body.user.name,
            email: body.user.email,
            http,
        })
    }

    /// `POST /api/auth/signup`.
    pub async fn sign_up(
        base_url: &str,
        email: &str,
        password: &str,
        name: &str,
    ) -> anyhow::Result<Account> {
        let body = json!({"email": email, "password": password, "name": name});
        Self::start_session(base_url, "/api/auth/signup", body, None).await
    }

    /// Signs up while signed in as this guest: the guest becomes the account
    /// (same user id). Returns the new session.
    pub async fn upgrade_guest(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> anyhow::Result<Account> {
        let body = json!({"email": email, "password": password, "name": name});
        Self::start_session(&self.base_url, "/api/auth/signup", body, Some(&self.token)).await
    }

    /// `POST /api/auth/signin`.
    pub async fn sign_in(base_url: &str, email: &str, password: &str) -> anyhow::Result<Account> {
        let body = json!({"email": email, "password": password});
        Self::start_session(base_url, "/api/auth/signin", body, None).await
    }

    /// `POST /api/auth/guest`: an account without e-mail or password (no
    /// argon2 on the server, so it is cheap).
    pub async fn guest(base_url: &str, name: &str) -> anyhow::Result<Account> {
        Self::start_session(base_url, "/api/auth/guest", json!({"name": name}), None).await
    }

    /// Any request with this account's bearer token; refusals become
    /// [`ApiError`].
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base_url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        check(resp).await
    }

    /// A request whose answer is JSON (or nothing, as `Value::Null` for 204).
    pub async fn request_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let resp = self.request(method, path, body).await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        let bytes = resp.bytes().await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// `POST /api/auth/signout`.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.request(Method::POST, "/api/auth/signout", None)
            .await?;
        Ok(())
    }

    /// `GET /api/me`.
    pub async fn me(&self) -> anyhow::Result<Value> {
        self.request_json(Method::GET, "/api/me", None).await
    }

    /// `POST /api/carts`; the creator is its admin.
    pub async fn create_cart(&self, name: &str) -> anyhow::Result<CartId> {
        let body = json!({"name": name});
        let resp = self
            .request(Method::POST, "/api/carts", Some(&body))
            .await?;
        let cart: IdBody = resp.json().await?;
        Ok(cart.id)
    }

    /// `GET /api/carts`.
    pub async fn carts(&self) -> anyhow::Result<Value> {
        self.request_json(Method::GET, "/api/carts", None).await
    }

    /// `POST /api/carts/{id}/members` (admin).
    pub async fn add_member(
        &self,
        cart: CartId,
        email: &str,
        role: MemberRole,
    ) -> anyhow::Result<()> {
        let body = json!({"email": email, "role": role});
        let path = format!("/api/carts/{cart}/members");
        self.request(Method::POST, &path, Some(&body)).await?;
        Ok(())
    }

    /// `PATCH /api/carts/{id}/members/{user}` (admin).
    pub async fn set_role(
        &self,
        cart: CartId,
        user: UserId,
        role: MemberRole,
    ) -> anyhow::Result<()> {
        let body = json!({"role": role});
        let path = format!("/api/carts/{cart}/members/{user}");
        self.request(Method::PATCH, &path, Some(&body)).await?;
        Ok(())
    }

    /// `DELETE /api/carts/{id}/members/{user}` (admin, or the member itself).
    pub async fn remove_member(&self, cart: CartId, user: UserId) -> anyhow::Result<()> {
        let path = format!("/api/carts/{cart}/members/{user}");
        self.request(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// `GET /api/carts/{id}/members`.
    pub async fn members(&self, cart: CartId) -> anyhow::Result<Value> {
        let path = format!("/api/carts/{cart}/members");
        self.request_json(Method::GET, &path, None).await
    }

    /// `GET /api/carts/{id}`: the server's JSON view, with `heads`.
    pub async fn cart_json(&self, cart: CartId) -> anyhow::Result<Value> {
        let path = format!("/api/carts/{cart}");
        self.request_json(Method::GET, &path, None).await
    }

    /// `GET /api/carts/{id}/document`: `Automerge.save()` bytes.
    pub async fn document(&self, cart: CartId) -> anyhow::Result<Vec<u8>> {
        let path = format!("/api/carts/{cart}/document");
        let resp = self.request(Method::GET, &path, None).await?;
        Ok(resp.bytes().await?.to_vec())
    }

    /// `GET /api/carts/{id}/changes`: every change, concatenated.
    pub async fn changes(&self, cart: CartId) -> anyhow::Result<Vec<u8>> {
        let path = format!("/api/carts/{cart}/changes");
        let resp = self.request(Method::GET, &path, None).await?;
        Ok(resp.bytes().await?.to_vec())
    }

    /// `POST /api/carts/{id}/ops`: an op over HTTP.
    pub async fn http_op(
        &self,
        cart: CartId,
        op_id: &cartroom_protocol::OpId,
        op: &cartroom_protocol::Op,
    ) -> anyhow::Result<Value> {
        let body = json!({"op_id": op_id, "op": op});
        let path = format!("/api/carts/{cart}/ops");
        self.request_json(Method::POST, &path, Some(&body)).await
    }

    /// Opens the WebSocket (`/ws`) with this account's token and waits for
    /// `hello`.
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        Connection::connect(self, &ConnectOptions::default()).await
    }

    /// [`Account::connect`] with options (source address, replicas on/off).
    pub async fn connect_with(&self, options: &ConnectOptions) -> anyhow::Result<Connection> {
        Connection::connect(self, options).await
    }
}
