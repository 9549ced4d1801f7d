//! `/api/store/keys`: the store's owners list, create and revoke its API
//! keys with their session (`?store=`, like the other store routes).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cartroom_protocol::back_office::{ApiKeysResponse, CreateApiKeyRequest, CreatedApiKey};
use cartroom_protocol::http::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::AppError;
use crate::http::extract::{AppJson, AppPath, SignedIn, StoreQuery, TheStore};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

/// The store's API keys, newest first, revoked ones included (owners only).
#[utoipa::path(
    get,
    path = "/api/store/keys",
    tag = "store api keys",
    params(StoreQuery),
    responses(
        (status = 200, description = "The keys (never their secrets)", body = ApiKeysResponse),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
) -> Result<Json<ApiKeysResponse>, AppError> {
    let keys = state
        .services
        .back_office
        .list_keys(&store.id, signed_in.session.user.id)
        .await?;
    Ok(Json(ApiKeysResponse { keys }))
}

/// Creates an API key; its secret is shown this once (owners only).
#[utoipa::path(
    post,
    path = "/api/store/keys",
    tag = "store api keys",
    params(StoreQuery),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The key and its secret", body = CreatedApiKey),
        (status = 400, description = "`invalid_field`: the name is empty or too long", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
        (status = 409, description = "`too_many`: the store has 20 live keys", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    AppJson(body): AppJson<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>), AppError> {
    let created = state
        .services
        .back_office
        .create_key(&store.id, signed_in.session.user.id, &body.name)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes an API key at once; revoking again changes nothing (owners only).
#[utoipa::path(
    delete,
    path = "/api/store/keys/{id}",
    tag = "store api keys",
    params(("id" = String, Path, description = "The key's id"), StoreQuery),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
        (status = 404, description = "`not_found`: the store has no such key", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn revoke(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, AppError> {
    state
        .services
        .back_office
        .revoke_key(&store.id, signed_in.session.user.id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
