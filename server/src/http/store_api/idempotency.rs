//! `Idempotency-Key` on every POST, PATCH and DELETE of `/api/v1/store`:
//! the first request with a key runs and its answer is kept for 24 hours;
//! the same request again gets that answer (status and body) without
//! running; another request with the key, or the same one while the first
//! still runs, is `idempotency_conflict` (409). Answers worth retrying
//! (5xx, 429) are not kept. Keys belong to the store, not to one API key.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::back_office::{IDEMPOTENCY_TTL_MS, MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY_LEN};
use sha2::{Digest, Sha256};

use super::auth::{ApiKey, check_key};
use crate::app::AppState;
use crate::http::error::AppError;
use crate::store::back_office::Replay;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// Set on an answer replayed from an earlier request.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// The largest answer kept (a batch's results fit well within).
const MAX_ANSWER_BYTES: usize = 4 * MAX_BODY_BYTES;

fn too_large() -> Response {
    AppError::new(ErrorCode::PayloadTooLarge, "the body is over 1 MiB").into_response()
}

fn storage_error(e: crate::store::StoreError) -> Response {
    AppError::from(crate::services::ServiceError::from(e)).into_response()
}

/// Runs a request at most once per `Idempotency-Key`.
pub async fn once(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let changes = matches!(
        *request.method(),
        Method::POST | Method::PATCH | Method::DELETE
    );
    let Some(key) = request.headers().get(HEADER).cloned() else {
        return next.run(request).await;
    };
    if !changes {
        return next.run(request).await;
    }
    let key = match key.to_str() {
        Ok(k)
            if (1..=MAX_IDEMPOTENCY_KEY_LEN).contains(&k.len())
                && k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            k.to_owned()
        }
        _ => {
            return AppError::new(
                ErrorCode::InvalidField,
                format!("Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
            )
            .into_response();
        }
    };
    let (mut parts, body) = request.into_parts();
    let api_key = match check_key(&mut parts, &state).await {
        Ok(k) => k,
        Err(refused) => return refused,
    };
    parts.extensions.insert(ApiKey(api_key.clone()));
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return too_large();
    };
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str());
    hash.update(b"\n");
    hash.update(parts.uri.path_and_query().map_or("", |p| p.as_str()));
    hash.update(b"\n");
    hash.update(&bytes);
    let fingerprint = hex::encode(hash.finalize());
    let back_office = &state.services.back_office;
    let store = &api_key.store_id;
    let now = back_office.now_ms();
    let claim = back_office
        .store()
        .claim_idempotency(store, &key, &fingerprint, now, now + IDEMPOTENCY_TTL_MS)
        .await;
    match claim {
        Err(e) => storage_error(e),
        Ok(Replay::Conflict) => AppError::new(
            ErrorCode::IdempotencyConflict,
            "this Idempotency-Key was used with another request",
        )
        .into_response(),
        Ok(Replay::Running) => AppError::new(
            ErrorCode::IdempotencyConflict,
            "a request with this Idempotency-Key is still running; retry later",
        )
        .into_response(),
        Ok(Replay::Answered { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, body).into_response();
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
            response
        }
        Ok(Replay::Claimed) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let status = response.status();
            let (parts, body) = response.into_parts();
            let kept = match to_bytes(body, MAX_ANSWER_BYTES).await {
                Ok(body) => body,
                Err(_) => {
                    let _ = back_office.store().release_idempotency(store, &key).await;
                    return AppError::new(ErrorCode::Internal, "the answer could not be read")
                        .into_response();
                }
            };
            let retry_worthy = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
            let kept_result = if retry_worthy {
                back_office.store().release_idempotency(store, &key).await
            } else {
                back_office
                    .store()
                    .answer_idempotency(store, &key, status.as_u16(), &kept)
                    .await
            };
            if let Err(e) = kept_result {
                tracing::warn!(error = %e, "an idempotent answer was not kept");
                // Not left "running" for a day: the next try runs again.
                let _ = back_office.store().release_idempotency(store, &key).await;
            }
            Response::from_parts(parts, Body::from(kept))
        }
    }
}
