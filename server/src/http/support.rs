//! `/api/support/conversations`: a shopper's conversation with a store and
//! its messages (`docs/protocol.md` section 13, "Conversations"). The
//! use cases and who may do what are in `services::support`; a
//! conversation id that does not parse is `not_found`, like one that is
//! not the caller's to see.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router, extract::FromRequestParts};
use cartroom_protocol::ErrorCode;
use cartroom_protocol::support::{
    ContactRequest, Conversation, ConversationId, ConversationStatus, ConversationsResponse,
    MessagesResponse, OpenConversationRequest, PostMessageRequest, ReadRequest, StatusRequest,
    SupportMessage,
};
use serde::Deserialize;

use super::error::AppError;
use super::extract::{AppJson, AppQuery, SignedIn, path_param};
use crate::app::AppState;
use crate::services::support::Caller;
use crate::services::support::conversations::ListQuery;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/support/conversations", get(list).post(open))
        .route("/api/support/conversations/{id}", get(one))
        .route(
            "/api/support/conversations/{id}/messages",
            get(messages).post(write),
        )
        .route("/api/support/conversations/{id}/read", post(read))
        .route("/api/support/conversations/{id}/status", post(status))
        .route(
            "/api/support/conversations/{id}/contact",
            axum::routing::put(contact),
        )
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    store: Option<String>,
    status: Option<ConversationStatus>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

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

async fn one(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ConversationPath(id): ConversationPath,
) -> Result<Json<Conversation>, AppError> {
    let conversation = state.services.support.get(&caller(&signed_in), id).await?;
    Ok(Json(conversation))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageParams {
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
}

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
