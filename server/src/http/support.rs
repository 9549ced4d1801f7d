//! `/api/support/conversations`: a shopper's conversation with a store and
//! its messages (`docs/protocol.md` section 13, "Conversations"). The
//! use cases and who may do what are in `services::support`; a
//! conversation id that does not parse is `not_found`, like one that is
//! not the caller's to see.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::{Json, extract::FromRequestParts};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::http::ErrorBody;
use cartroom_protocol::support::{
    ContactRequest, Conversation, ConversationId, ConversationStatus, ConversationsResponse,
    MessagesResponse, OpenConversationRequest, PostMessageRequest, ReadRequest, StatusRequest,
    SupportMessage,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppJson, AppQuery, SignedIn, path_param};
use crate::app::AppState;
use crate::services::support::Caller;
use crate::services::support::conversations::ListQuery;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, open))
        .routes(routes!(one))
        .routes(routes!(messages, write))
        .routes(routes!(read))
        .routes(routes!(status))
        .routes(routes!(contact))
}

/// The route's `{id}`; `not_found` when it is not a conversation id.
struct ConversationPath(ConversationId);

impl<S: Send + Sync> FromRequestParts<S> for ConversationPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        path_param(parts, "id")
            .await?
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such conversation"))
    }
}

fn caller(signed_in: &SignedIn) -> Caller {
    let user = &signed_in.session.user;
    Caller {
        user: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
    }
}

/// Opens (or finds) the caller's conversation with a store.
#[utoipa::path(
    post,
    path = "/api/support/conversations",
    tag = "support",
    request_body = OpenConversationRequest,
    responses(
        (status = 200, description = "The caller's open conversation with that store", body = Conversation),
        (status = 201, description = "A new conversation", body = Conversation),
        (status = 404, description = "`store_not_found`", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn open(
    State(state): State<AppState>,
    signed_in: SignedIn,
    AppJson(body): AppJson<OpenConversationRequest>,
) -> Result<(StatusCode, Json<Conversation>), AppError> {
    let (conversation, created) = state
        .services
        .support
        .open(&caller(&signed_in), &body.store_id)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(conversation)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// The store's id; the default store when absent.
    store: Option<String>,
    /// Only conversations with this status.
    status: Option<ConversationStatus>,
    /// Conversations to skip (at most 100,000).
    #[serde(default)]
    offset: usize,
    /// 1 to 100 (default 50).
    limit: Option<usize>,
}

/// The store's conversations (its staff).
#[utoipa::path(
    get,
    path = "/api/support/conversations",
    tag = "support",
    params(ListParams),
    responses(
        (status = 200, description = "A page of the store's conversations, newest activity first", body = ConversationsResponse),
        (status = 404, description = "`not_found`: no such store, or the caller is not on its staff", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<ConversationsResponse>, AppError> {
    let query = ListQuery {
        store: params.store.as_deref(),
        status: params.status,
        offset: params.offset,
        limit: params.limit,
    };
    let (conversations, more) = state
        .services
        .support
        .list(&caller(&signed_in), query)
        .await?;
    Ok(Json(ConversationsResponse {
        conversations,
        more,
    }))
}

/// One conversation.
#[utoipa::path(
    get,
    path = "/api/support/conversations/{id}",
    tag = "support",
    params(("id" = ConversationId, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 404, description = "`not_found`: no such conversation, or not the caller's to see", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn one(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ConversationPath(id): ConversationPath,
) -> Result<Json<Conversation>, AppError> {
    let conversation = state.services.support.get(&caller(&signed_in), id).await?;
    Ok(Json(conversation))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct PageParams {
    /// Only messages after this `seq` (default 0: from the first).
    #[serde(default)]
    after: i64,
    /// 1 to 200 (default 200).
    limit: Option<usize>,
}

/// A conversation's messages.
#[utoipa::path(
    get,
    path = "/api/support/conversations/{id}/messages",
    tag = "support",
    params(("id" = ConversationId, Path, description = "The conversation"), PageParams),
    responses(
        (status = 200, description = "A page of messages, oldest first", body = MessagesResponse),
        (status = 404, description = "`not_found`: no such conversation, or not the caller's to see", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn messages(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ConversationPath(id): ConversationPath,
    AppQuery(page): AppQuery<PageParams>,
) -> Result<Json<MessagesResponse>, AppError> {
    let (messages, more) = state
        .services
        .support
        .messages(&caller(&signed_in), id, page.after, page.limit)
        .await?;
    Ok(Json(MessagesResponse { messages, more }))
}

/// Writes a message.
#[utoipa::path(
    post,
    path = "/api/support/conversations/{id}/messages",
    tag = "support",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = PostMessageRequest,
    responses(
        (status = 201, description = "The message", body = SupportMessage),
        (status = 404, description = "`not_found`: no such conversation, or not the caller's to see", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn write(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ConversationPath(id): ConversationPath,
    AppJson(body): AppJson<PostMessageRequest>,
) -> Result<(StatusCode, Json<SupportMessage>), AppError> {
    let message = state
        .services
        .support
        .write(&caller(&signed_in), id, &body.text)
        .await?;
    Ok((StatusCode::CREATED, Json(message)))
}

/// Marks a conversation read.
#[utoipa::path(
    post,
    path = "/api/support/conversations/{id}/read",
    tag = "support",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = ReadRequest,
    responses(
        (status = 200, description = "The conversation, read up to `seq`", body = Conversation),
        (status = 404, description = "`not_found`: no such conversation, or not the caller's to see", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn read(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ConversationPath(id): ConversationPath,
    AppJson(body): AppJson<ReadRequest>,
) -> Result<Json<Conversation>, AppError> {
    let conversation = state
        .services
        .support
        .mark_read(&caller(&signed_in), id, body.seq)
        .await?;
    Ok(Json(conversation))
}

/// Changes a conversation's status.
#[utoipa::path(
    post,
    path = "/api/support/conversations/{id}/status",
    tag = "support",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The conversation with its new status", body = Conversation),
        (status = 404, description = "`not_found`: no such conversation, or not the caller's to see", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn status(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ConversationPath(id): ConversationPath,
    AppJson(body): AppJson<StatusRequest>,
) -> Result<Json<Conversation>, AppError> {
    let conversation = state
        .services
        .support
        .set_status(&caller(&signed_in), id, body.status)
        .await?;
    Ok(Json(conversation))
}

/// Sets the customer's contact details (the store's staff).
#[utoipa::path(
    put,
    path = "/api/support/conversations/{id}/contact",
    tag = "support",
    params(("id" = ConversationId, Path, description = "The conversation")),
    request_body = ContactRequest,
    responses(
        (status = 200, description = "The conversation with the customer's contact details", body = Conversation),
        (status = 404, description = "`not_found`: no such conversation, or not the caller's to see", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn contact(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ConversationPath(id): ConversationPath,
    AppJson(body): AppJson<ContactRequest>,
) -> Result<Json<Conversation>, AppError> {
    let conversation = state
        .services
        .support
        .set_contact(&caller(&signed_in), id, &body)
        .await?;
    Ok(Json(conversation))
}
