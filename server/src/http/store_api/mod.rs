//! The store API (`docs/protocol.md` section 14): the owners' API keys
//! (`/api/store/keys`, [`keys`]) and what a back office does with one
//! (`/api/v1/store/*`): [`ping`], [`products`], [`customers`], [`orders`].
//! Every `/api/v1/store` route takes the key ([`auth`]); every change may
//! carry an `Idempotency-Key` ([`idempotency`]); bodies may reach 1 MiB
//! (the rest of the API stops at 64 KiB).

pub mod auth;
pub mod customers;
pub mod idempotency;
pub mod keys;
pub mod orders;
pub mod products;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::StatusCode;
use axum::{Extension, Json, middleware};
use bytes::Bytes;
use cartroom_protocol::ErrorCode;
use cartroom_protocol::back_office::{MAX_BODY_BYTES, PingResponse};
use cartroom_protocol::http::ErrorBody;
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use self::auth::{ApiKey, KeyLimits, StoreParam};
use super::error::AppError;
use super::extract::{is_json, parse_object};
use crate::app::AppState;

pub fn routes(state: &AppState) -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(products::list, products::upsert))
        .routes(routes!(products::patch, products::unlist))
        .routes(routes!(customers::list, customers::import))
        .routes(routes!(orders::list))
        .routes(routes!(orders::status))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::once,
        ))
        .layer(Extension(Arc::new(KeyLimits::default())))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    keys::routes().merge(api)
}

/// A JSON object as the body, as `AppJson` takes it but up to 1 MiB:
/// `payload_too_large` (413) past it, `bad_message` (415 without
/// `content-type: application/json`, else 400) for anything but an object
/// of the right shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = is_json(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::new(ErrorCode::PayloadTooLarge, "the body is over 1 MiB")
            } else {
                AppError::new(ErrorCode::BadMessage, rejection.body_text())
            }
        })?;
        parse_object(json_type, &bytes).map(Self)
    }
}

/// Tests the connection: the key works, for this store.
#[utoipa::path(
    get,
    path = "/api/v1/store/ping",
    tag = "store api",
    params(StoreParam),
    responses(
        (status = 200, description = "The key's store and the key", body = PingResponse),
        (status = 401, description = "`unauthorized`: no key, an unknown or a revoked one", body = ErrorBody),
        (status = 403, description = "`forbidden`: `?store=` names another store", body = ErrorBody),
        (status = 429, description = "`rate_limited`: over the key's rate (`Retry-After` says when to retry)", body = ErrorBody),
    ),
    security(("store_key" = [])),
)]
async fn ping(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiKey(key): ApiKey,
) -> Result<Json<PingResponse>, AppError> {
    let store = state
        .services
        .catalogs
        .resolve(Some(&key.store_id))?
        .current()
        .store
        .clone();
    Ok(Json(PingResponse {
        store,
        key: key.info(),
    }))
}
