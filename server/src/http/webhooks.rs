//! `/api/store/webhooks` (the store's owners): endpoints registered,
//! changed and deleted, and each endpoint's delivery log
//! (`docs/protocol.md` section 15).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::webhooks::{
    CreateWebhookRequest, CreatedWebhook, UpdateWebhookRequest, WebhookDeliveriesResponse,
    WebhookEndpointView, WebhookEndpointsResponse,
};

use super::error::AppError;
use super::extract::{AppJson, AppPath, SignedIn, TheStore};
use crate::app::AppState;
use crate::store::webhooks::EndpointChange;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
        .routes(routes!(deliveries))
}

/// The store's webhook endpoints, oldest first (owners only).
#[utoipa::path(
    get,
    path = "/api/store/webhooks",
    tag = "webhooks",
    params(("store" = Option<String>, Query, description = "The store (the default store when absent)")),
    responses(
        (status = 200, description = "The endpoints, without their secrets", body = WebhookEndpointsResponse),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
) -> Result<Json<WebhookEndpointsResponse>, AppError> {
    let endpoints = (state.services.webhooks)
        .list(&store.id, signed_in.session.user.id)
        .await?;
    Ok(Json(WebhookEndpointsResponse { endpoints }))
}

/// Registers an endpoint; its secret is shown this once.
#[utoipa::path(
    post,
    path = "/api/store/webhooks",
    tag = "webhooks",
    params(("store" = Option<String>, Query, description = "The store (the default store when absent)")),
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "The endpoint and its secret", body = CreatedWebhook),
        (status = 400, description = "`invalid_field`: not an http(s) URL, too long, or no event", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
        (status = 409, description = "`too_many`: the store has 10 endpoints", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    AppJson(body): AppJson<CreateWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhook>), AppError> {
    let created = (state.services.webhooks)
        .create(
            &store.id,
            signed_in.session.user.id,
            &body.url,
            &body.events,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Changes an endpoint's URL, events, or whether it is enabled.
#[utoipa::path(
    patch,
    path = "/api/store/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint"), ("store" = Option<String>, Query, description = "The store (the default store when absent)")),
    request_body = UpdateWebhookRequest,
    responses(
        (status = 200, description = "The endpoint as it is now", body = WebhookEndpointView),
        (status = 400, description = "`invalid_field`: not an http(s) URL, too long, or no event", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
        (status = 404, description = "`not_found`: the store has no such endpoint; `store_not_found`: no such store", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    AppPath(id): AppPath<String>,
    AppJson(body): AppJson<UpdateWebhookRequest>,
) -> Result<Json<WebhookEndpointView>, AppError> {
    let change = EndpointChange {
        url: body.url,
        events: body.events,
        enabled: body.enabled,
    };
    let endpoint = (state.services.webhooks)
        .update(&store.id, signed_in.session.user.id, &id, change)
        .await?;
    Ok(Json(endpoint))
}

/// Deletes an endpoint, its pending deliveries and its log.
#[utoipa::path(
    delete,
    path = "/api/store/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint"), ("store" = Option<String>, Query, description = "The store (the default store when absent)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
        (status = 404, description = "`not_found`: the store has no such endpoint; `store_not_found`: no such store", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, AppError> {
    (state.services.webhooks)
        .delete(&store.id, signed_in.session.user.id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The endpoint's delivery log: its latest 200 attempts, newest first.
#[utoipa::path(
    get,
    path = "/api/store/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint"), ("store" = Option<String>, Query, description = "The store (the default store when absent)")),
    responses(
        (status = 200, description = "The attempts, newest first", body = WebhookDeliveriesResponse),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
        (status = 404, description = "`not_found`: the store has no such endpoint; `store_not_found`: no such store", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn deliveries(
    State(state): State<AppState>,
    signed_in: SignedIn,
    TheStore(store): TheStore,
    AppPath(id): AppPath<String>,
) -> Result<Json<WebhookDeliveriesResponse>, AppError> {
    let deliveries = (state.services.webhooks)
        .deliveries(&store.id, signed_in.session.user.id, &id)
        .await?;
    Ok(Json(WebhookDeliveriesResponse { deliveries }))
}
