//! `GET /api/store/analytics?store=&from=&to=`: the store owner's figures
//! for a period of days in the store's time zone (`docs/protocol.md`
//! section 16).

use axum::Json;
use axum::extract::State;
use cartroom_protocol::analytics::AnalyticsResponse;
use cartroom_protocol::http::ErrorBody;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::AppError;
use super::extract::{AppQuery, SignedIn};
use crate::app::AppState;
use crate::services::analytics::Period;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analytics))
}

/// The period and the store.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// The store (the default store when absent).
    store: Option<String>,
    /// The first day, `YYYY-MM-DD` in the store's time zone.
    from: Option<String>,
    /// The last day (included), at most 366 days after `from`.
    to: Option<String>,
}

/// The store's figures by day for a period (owners only).
#[utoipa::path(
    get,
    path = "/api/store/analytics",
    tag = "analytics",
    params(AnalyticsQuery),
    responses(
        (status = 200, description = "Every day of the period, the totals, rates, segments and share links", body = AnalyticsResponse),
        (status = 400, description = "`invalid_field`: `from` or `to` missing or not a date, `from` after `to`, or over 366 days", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an owner of the store", body = ErrorBody),
        (status = 404, description = "`store_not_found`: no such store", body = ErrorBody),
    ),
    security(("session_bearer" = []), ("session_cookie" = [])),
)]
async fn analytics(
    State(state): State<AppState>,
    signed_in: SignedIn,
    AppQuery(query): AppQuery<AnalyticsQuery>,
) -> Result<Json<AnalyticsResponse>, AppError> {
    let store = state
        .services
        .catalogs
        .resolve(query.store.as_deref())?
        .current()
        .store
        .clone();
    let period = Period::parse(query.from.as_deref(), query.to.as_deref())?;
    let report = state
        .services
        .analytics
        .report(&store, period, signed_in.session.user.id)
        .await?;
    Ok(Json(report))
}
