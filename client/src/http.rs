//! The HTTP half of the client: accounts, carts and members.

use std::fmt;

use anyhow::Context as _;
use cartroom_protocol::http::{
    ActivityResponse, AddMemberRequest, CartResponse, CartSummary, CartsResponse,
    CreateCartRequest, ErrorBody, GuestRequest, MeResponse, Member, MembersResponse, OpAck,
    OpRequest, RoleRequest, SessionResponse, SigninRequest, SignupRequest, User,
};
use cartroom_protocol::{ActivityEvent, CartId, MemberRole, Op, OpId, UserId};
pub use reqwest::Method;
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ws::{ConnectOptions, Connection};

/// A refused HTTP request: the status and the body's stable `code`.
///
/// Returned inside `anyhow::Error`; get it back with [`api_error`] or
/// `err.downcast_ref::<ApiError>()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// The stable code of `docs/protocol.md` section 8, or `http_<status>`
    /// when the body was not the documented error shape.
    pub code: String,
    pub message: String,
}

impl ApiError {
    /// The code as the protocol enum, when it is one of the stable codes.
    pub fn error_code(&self) -> Option<cartroom_protocol::ErrorCode> {
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
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => ApiError {
            status,
            code: error.code.as_str().to_owned(),
            message: error.message,
        },
        Err(_) => ApiError {
            status,
            code: format!("http_{status}"),
            message: String::from_utf8_lossy(body).into_owned(),
        },
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
        body: impl Serialize,
        bearer: Option<&str>,
    ) -> anyhow::Result<Account> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let http = new_http();
        let mut req = http.post(format!("{base_url}{path}")).json(&body);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.with_context(|| format!("POST {path}"))?;
        let body: SessionResponse = check(resp).await?.json().await?;
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
        let body = SignupRequest {
            email: email.into(),
            password: password.into(),
            name: name.into(),
        };
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
        let body = SignupRequest {
            email: email.into(),
            password: password.into(),
            name: name.into(),
        };
        Self::start_session(&self.base_url, "/api/auth/signup", body, Some(&self.token)).await
    }

    /// `POST /api/auth/signin`.
    pub async fn sign_in(base_url: &str, email: &str, password: &str) -> anyhow::Result<Account> {
        let body = SigninRequest {
            email: email.into(),
            password: password.into(),
            code: None,
            recovery_code: None,
        };
        Self::start_session(base_url, "/api/auth/signin", body, None).await
    }

    /// `POST /api/auth/guest`: an account without e-mail or password (no
    /// argon2 on the server, so it is cheap).
    pub async fn guest(base_url: &str, name: &str) -> anyhow::Result<Account> {
        let body = GuestRequest {
            name: Some(name.into()),
        };
        Self::start_session(base_url, "/api/auth/guest", body, None).await
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

    /// A request with a typed body and a typed answer.
    pub(crate) async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        let body = body.map(serde_json::to_value).transpose()?;
        let resp = self.request(method.clone(), path, body.as_ref()).await?;
        resp.json()
            .await
            .with_context(|| format!("reading the answer of {method} {path}"))
    }

    /// `POST /api/auth/signout`.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.request(Method::POST, "/api/auth/signout", None)
            .await?;
        Ok(())
    }

    /// `GET /api/me`.
    pub async fn me(&self) -> anyhow::Result<User> {
        let me: MeResponse = self.call::<(), _>(Method::GET, "/api/me", None).await?;
        Ok(me.user)
    }

    /// `POST /api/carts`: a cart of the default store; the creator is its
    /// admin.
    pub async fn create_cart(&self, name: &str) -> anyhow::Result<CartId> {
        let body = CreateCartRequest {
            name: name.into(),
            store_id: None,
        };
        let cart: CartResponse = self.call(Method::POST, "/api/carts", Some(&body)).await?;
        Ok(cart.id)
    }

    /// `POST /api/carts` with `store_id`: a cart of that store.
    pub async fn create_cart_in(&self, store: &str, name: &str) -> anyhow::Result<CartId> {
        let body = CreateCartRequest {
            name: name.into(),
            store_id: Some(store.into()),
        };
        let cart: CartResponse = self.call(Method::POST, "/api/carts", Some(&body)).await?;
        Ok(cart.id)
    }

    /// `GET /api/carts`: the carts this account is a member of.
    pub async fn carts(&self) -> anyhow::Result<Vec<CartSummary>> {
        let carts: CartsResponse = self.call::<(), _>(Method::GET, "/api/carts", None).await?;
        Ok(carts.carts)
    }

    /// `POST /api/carts/{id}/members` (admin).
    pub async fn add_member(
        &self,
        cart: CartId,
        email: &str,
        role: MemberRole,
    ) -> anyhow::Result<Member> {
        let body = AddMemberRequest {
            email: email.into(),
            role,
        };
        let path = format!("/api/carts/{cart}/members");
        self.call(Method::POST, &path, Some(&body)).await
    }

    /// `PATCH /api/carts/{id}/members/{user}` (admin).
    pub async fn set_role(
        &self,
        cart: CartId,
        user: UserId,
        role: MemberRole,
    ) -> anyhow::Result<Member> {
        let path = format!("/api/carts/{cart}/members/{user}");
        self.call(Method::PATCH, &path, Some(&RoleRequest { role }))
            .await
    }

    /// `DELETE /api/carts/{id}/members/{user}` (admin, or the member itself).
    pub async fn remove_member(&self, cart: CartId, user: UserId) -> anyhow::Result<()> {
        let path = format!("/api/carts/{cart}/members/{user}");
        self.request(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// `GET /api/carts/{id}/members`.
    pub async fn members(&self, cart: CartId) -> anyhow::Result<Vec<Member>> {
        let path = format!("/api/carts/{cart}/members");
        let members: MembersResponse = self.call::<(), _>(Method::GET, &path, None).await?;
        Ok(members.members)
    }

    /// `GET /api/carts/{id}`: the server's view, with `heads`, the caller's
    /// role and capabilities.
    pub async fn cart(&self, cart: CartId) -> anyhow::Result<CartResponse> {
        let path = format!("/api/carts/{cart}");
        self.call::<(), _>(Method::GET, &path, None).await
    }

    /// `GET /api/carts/{id}/activity`: the latest 50 events, oldest first.
    pub async fn activity(&self, cart: CartId) -> anyhow::Result<Vec<ActivityEvent>> {
        let path = format!("/api/carts/{cart}/activity");
        let activity: ActivityResponse = self.call::<(), _>(Method::GET, &path, None).await?;
        Ok(activity.activity)
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
    pub async fn http_op(&self, cart: CartId, op_id: &OpId, op: &Op) -> anyhow::Result<OpAck> {
        let body = OpRequest {
            op_id: op_id.clone(),
            op: op.clone(),
        };
        let path = format!("/api/carts/{cart}/ops");
        self.call(Method::POST, &path, Some(&body)).await
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
