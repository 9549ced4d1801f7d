//! Extractors that answer in the documented error shape: a JSON body, a
//! query, a path segment, the signed-in session, and "this cart, with this
//! capability". axum's own rejections are plain text; these turn each into
//! an [`AppError`] with a stable code.

use std::marker::PhantomData;

use axum::extract::rejection::JsonRejection;
use axum::extract::{
    FromRequest, FromRequestParts, OptionalFromRequest, OptionalFromRequestParts, Path, Query,
    RawPathParams, Request,
};
use axum::http::StatusCode;
use axum::http::request::Parts;
use cartroom_protocol::{Capability, CartId, ErrorCode, MemberRole};
use serde::de::DeserializeOwned;

use super::error::AppError;
use super::session::{TokenSource, request_token};
use crate::app::AppState;
use crate::cart::Actor;
use crate::policy;
use crate::services::Session;

/// A JSON body; malformed or missing fields are `bad_message` (400), a body
/// that is not JSON `bad_message` (415), one over the limit
/// `payload_too_large` (413).
pub struct AppJson<T>(pub T);

fn json_rejection(rejection: JsonRejection) -> AppError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::new(ErrorCode::PayloadTooLarge, "the body is over 64 KiB");
    }
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "send the body as JSON (content-type: application/json)".to_owned()
        }
        other => other.body_text(),
    };
    AppError::with_status(status, ErrorCode::BadMessage, message)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        <axum::Json<T> as FromRequest<S>>::from_request(req, state)
            .await
            .map(|axum::Json(value)| Self(value))
            .map_err(json_rejection)
    }
}

/// An optional body: none when the request has no content type.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        <axum::Json<T> as OptionalFromRequest<S>>::from_request(req, state)
            .await
            .map(|json| json.map(|axum::Json(value)| Self(value)))
            .map_err(json_rejection)
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

/// The path parameter `name`, as written in the request.
pub async fn path_param(parts: &mut Parts, name: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
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
}

/// The cart of the route's `{id}`, and the caller's role in it, checked
/// against the policy: `cart_not_found` (404) for a malformed id, an
/// unknown cart or a non-member; `forbidden` (403) without the capability.
pub struct CartAccess<N> {
    pub cart: CartId,
    pub role: MemberRole,
    pub signed_in: SignedIn,
    needs: PhantomData<N>,
}

impl<N> CartAccess<N> {
    pub fn actor(&self) -> Actor {
        self.signed_in.actor()
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
            .await
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| AppError::from(crate::refusal::Refusal::cart_not_found()))?;
        let role = state
            .services
            .carts
            .role_of(cart, &signed_in.actor())
            .await?;
        policy::check(role, N::CAPABILITY)?;
        Ok(Self {
            cart,
            role,
            signed_in,
            needs: PhantomData,
        })
    }
}
