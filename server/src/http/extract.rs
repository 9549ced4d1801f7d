//! Extractors that answer in the documented error shape: a JSON body, a
//! query, a path segment, the client's address, the signed-in session, and
//! "this cart, with this capability". axum's own rejections are plain text;
//! these turn each into an [`AppError`] with a stable code.

use std::convert::Infallible;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequest, OptionalFromRequestParts,
    Path, Query, RawPathParams, Request,
};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use cartroom_protocol::http::StoreInfo;
use cartroom_protocol::{Capability, CartId, ErrorCode, MemberRole};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::AppError;
use super::session::{TokenSource, request_token};
use crate::app::AppState;
use crate::cart::Actor;
use crate::policy;
use crate::refusal::Refusal;
use crate::services::Session;
use crate::services::reach::CartReach;

/// A JSON object as the body: anything else is `bad_message` (400; 415
/// without `content-type: application/json`), a body over the limit is
/// `payload_too_large` (413).
pub struct AppJson<T>(pub T);

/// Whether the request says its body is JSON (`application/json`, or a
/// `+json` type).
pub(super) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence.starts_with("application/") && essence.ends_with("+json")
}

/// The body, bounded; `payload_too_large` past the limit.
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(ErrorCode::PayloadTooLarge, "the body is over 64 KiB")
        } else {
            AppError::new(ErrorCode::BadMessage, rejection.body_text())
        }
    })
}

/// Parses a body that must be one JSON object (serde would also take an
/// array in place of a struct; the protocol does not).
pub(super) fn parse_object<T: DeserializeOwned>(
    json_type: bool,
    bytes: &[u8],
) -> Result<T, AppError> {
    if !json_type {
        return Err(AppError::with_status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadMessage,
            "send the body as JSON (content-type: application/json)",
        ));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::new(
            ErrorCode::BadMessage,
            "the body is one JSON object",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let mut message = format!("the body does not fit: {e}");
        message.truncate(300);
        AppError::new(ErrorCode::BadMessage, message)
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = is_json(req.headers());
        let bytes = body_bytes(req, state).await?;
        parse_object(json_type, &bytes).map(Self)
    }
}

/// An optional body: none when the request has no content type and no body.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let typed = req.headers().contains_key(CONTENT_TYPE);
        let json_type = is_json(req.headers());
        let bytes = body_bytes(req, state).await?;
        if !typed && bytes.is_empty() {
            return Ok(None);
        }
        parse_object(json_type, &bytes).map(|value| Some(Self(value)))
    }
}

/// Query parameters; a malformed one is `invalid_field`.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        <Query<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|e| AppError::new(ErrorCode::InvalidField, e.body_text()))
    }
}

/// `?store=<id>`: which store a store route is about; the default store
/// when absent.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StoreQuery {
    /// The store's id (`GET /api/stores`); the default store when absent.
    store: Option<String>,
}

impl StoreQuery {
    pub fn store(&self) -> Option<&str> {
        self.store.as_deref()
    }
}

/// The store a store route is about (`?store=<id>`, the default store when
/// absent): `store_not_found` for an id the server does not have.
pub struct TheStore(pub StoreInfo);

impl FromRequestParts<AppState> for TheStore {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let AppQuery(query) = AppQuery::<StoreQuery>::from_request_parts(parts, state).await?;
        let catalog = state.services.catalogs.resolve(query.store())?.current();
        Ok(Self(catalog.store.clone()))
    }
}

/// One path segment; an undecodable one is `bad_message`.
pub struct AppPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        <Path<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|e| AppError::new(ErrorCode::BadMessage, e.body_text()))
    }
}

/// The path parameter `name`, if the route has it; `bad_message` when the
/// path is not valid UTF-8 once decoded.
pub async fn path_param(parts: &mut Parts, name: &str) -> Result<Option<String>, AppError> {
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|e| AppError::new(ErrorCode::BadMessage, e.body_text()))?;
    Ok(params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned()))
}

/// The address of the client's socket, as the accept loop records it
/// (`ConnectInfo`); an IPv4 client on a dual-stack socket shows as IPv4.
/// Without a record (a router served some other way) it is the unspecified
/// address: one shared key for the limits, and never loopback.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |info| {
                info.0.ip().to_canonical()
            });
        Ok(Self(ip))
    }
}

/// The signed-in session of a request; `unauthorized` (401) without one.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session: Session,
    pub source: TokenSource,
}

impl SignedIn {
    /// The user as an author of changes.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.session.user.id,
            name: self.session.user.name.clone(),
        }
    }

    /// The session of a request's headers.
    pub async fn from_headers(
        state: &AppState,
        headers: &axum::http::HeaderMap,
    ) -> Result<Self, AppError> {
        let (token, source) = request_token(headers).ok_or_else(AppError::unauthorized)?;
        let session = state
            .services
            .accounts
            .authenticate(&token)
            .await?
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::Unauthorized,
                    "the session is unknown or expired; sign in again",
                )
            })?;
        Ok(Self { session, source })
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::from_headers(state, &parts.headers).await
    }
}

impl OptionalFromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match Self::from_headers(state, &parts.headers).await {
            Ok(signed_in) => Ok(Some(signed_in)),
            Err(e) if e.code == ErrorCode::Unauthorized => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What a cart route needs of its caller.
pub trait Needs: Send + Sync {
    const CAPABILITY: Capability;
}

macro_rules! needs {
    ($($(#[$doc:meta])* $name:ident => $capability:ident;)*) => {$(
        $(#[$doc])*
        pub struct $name;
        impl Needs for $name {
            const CAPABILITY: Capability = Capability::$capability;
        }
    )*};
}

needs! {
    /// Any member.
    Member => View;
    /// A member who may rename the cart.
    MayRename => Rename;
    /// A member who may add, change and remove members.
    MayManageMembers => ManageMembers;
    /// A member who may delete the cart.
    MayDelete => DeleteCart;
    /// A member who may run the checkout (lock, settings, place the order).
    MayCheckout => Checkout;
}

/// The cart of the route's `{id}`, and the caller's role in it, checked
/// against the policy: `cart_not_found` (404) for a malformed id, an
/// unknown cart or a non-member; `forbidden` (403) without the capability.
pub struct CartAccess<N> {
    pub cart: CartId,
    pub role: MemberRole,
    pub signed_in: SignedIn,
    /// How the caller reaches the cart: as a member, or as the store's
    /// staff whose edits are made as `"<name> (support)"`.
    reach: CartReach,
    needs: PhantomData<N>,
}

impl<N> CartAccess<N> {
    /// How the caller reaches the cart.
    pub fn reach(&self) -> &CartReach {
        &self.reach
    }

    /// Who the caller's edits are made as.
    pub fn actor(&self) -> Actor {
        self.reach.actor.clone()
    }

    /// Refuses a change by staff who only watch the cart.
    pub fn check_change(&self) -> Result<(), Refusal> {
        self.reach.check_change()
    }
}

impl<N: Needs> FromRequestParts<AppState> for CartAccess<N> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let signed_in = SignedIn::from_headers(state, &parts.headers).await?;
        let cart: CartId = path_param(parts, "id")
            .await?
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| AppError::from(crate::refusal::Refusal::cart_not_found()))?;
        let reach = state.services.carts.reach(cart, &signed_in.actor()).await?;
        policy::check(reach.role, N::CAPABILITY)?;
        if N::CAPABILITY != Capability::View {
            reach.check_change()?;
        }
        Ok(Self {
            cart,
            role: reach.role,
            signed_in,
            reach,
            needs: PhantomData,
        })
    }
}
