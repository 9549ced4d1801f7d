//! The OpenAPI 3.1 document of the REST API, served at
//! `GET /api/openapi.json`. It is generated from the handlers'
//! `#[utoipa::path]` attributes as their routes are registered: every API
//! route goes through `utoipa_axum::routes!`, which mounts a handler at the
//! path its attribute documents, so a route cannot exist undocumented
//! (tests/tests/openapi.rs holds the few exceptions to that rule).

use axum::Extension;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use cartroom_protocol::http::ErrorBody;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr,
    ResponseBuilder,
};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::session::SESSION_COOKIE;
use crate::app::AppState;

/// The name of the shared error response every operation refers to.
const ERROR_RESPONSE: &str = "Error";

const DESCRIPTION: &str = "The REST API of Cartroom, a real-time collaborative shopping-cart \
server. docs/protocol.md is the specification: the WebSocket protocol (`/ws`, not \
described here), every endpoint's rules and bounds, and the stable error codes (section 8). \
Every refusal is `{\"error\":{\"code\",\"message\"}}`.";

/// The document before any route: its info, security schemes and the
/// shared error response.
pub fn base() -> OpenApi {
    let session_bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "The session token from sign-in, as `Authorization: Bearer <token>`.",
        ))
        .build();
    let store_key = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("crk_...")
        .description(Some(
            "A store API key, as `Authorization: Bearer crk_...`; the store is the key's.",
        ))
        .build();
    let metrics_token = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some(
            "The operator's `--metrics-token`, for `/metrics` from afar.",
        ))
        .build();
    let session_cookie = ApiKey::Cookie(ApiKeyValue::with_description(
        SESSION_COOKIE,
        "The HttpOnly session cookie set at sign-in; a request that changes something \
         must also carry an allowed `Origin`.",
    ));
    let error = ResponseBuilder::new()
        .description("A refusal: a stable code (docs/protocol.md section 8) and words.")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build();
    let mut schemas = vec![(ErrorBody::name().into_owned(), ErrorBody::schema())];
    ErrorBody::schemas(&mut schemas);
    let components = ComponentsBuilder::new()
        .security_scheme("session_bearer", SecurityScheme::Http(session_bearer))
        .security_scheme("session_cookie", SecurityScheme::ApiKey(session_cookie))
        .security_scheme("store_key", SecurityScheme::Http(store_key))
        .security_scheme("metrics_token", SecurityScheme::Http(metrics_token))
        .response(ERROR_RESPONSE, error)
        .schemas_from_iter(schemas)
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Cartroom")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .build(),
        )
        .components(Some(components))
        .build()
}

/// The finished document, serialized once; cheap to clone.
#[derive(Clone)]
pub struct Document(Bytes);

impl Document {
    /// Gives every operation the shared error response for the statuses
    /// it does not describe itself and a unique id, and serializes the
    /// result.
    pub fn new(mut doc: OpenApi) -> Self {
        for operation in operations(&mut doc) {
            add_error_responses(operation);
            qualify_operation_id(operation);
        }
        let json = serde_json::to_vec(&doc).expect("an OpenAPI document always serializes");
        Self(Bytes::from(json))
    }
}

fn operations(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// Operation ids are the handlers' names, which repeat across files
/// (`list`, `open`): each gets its tag in front (`members_list`) unless it
/// has it already, so that ids are unique and do not change when another
/// file adds a handler.
fn qualify_operation_id(operation: &mut Operation) {
    let tag = operation.tags.as_ref().and_then(|tags| tags.first());
    if let (Some(id), Some(tag)) = (&operation.operation_id, tag) {
        let prefix = format!(
            "{}_",
            tag.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        if !id.starts_with(&prefix) {
            operation.operation_id = Some(format!("{prefix}{id}"));
        }
    }
}

fn add_error_responses(operation: &mut Operation) {
    for range in ["4XX", "5XX"] {
        operation
            .responses
            .responses
            .entry(range.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(ERROR_RESPONSE)));
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document: the REST API as OpenAPI 3.1.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "system",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)),
)]
async fn openapi_json(Extension(doc): Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], doc.0).into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::openapi::HttpMethod;
    use utoipa::openapi::path::{OperationBuilder, PathItem};

    use super::*;

    #[test]
    fn operations_get_their_tag_in_their_id_and_the_shared_error_response() {
        let mut doc = base();
        let operation = |id: &str| {
            OperationBuilder::new()
                .operation_id(Some(id))
                .tag("store api")
                .build()
        };
        let paths = &mut doc.paths.paths;
        paths.insert(
            "/a".into(),
            PathItem::new(HttpMethod::Get, operation("list")),
        );
        paths.insert(
            "/b".into(),
            PathItem::new(HttpMethod::Post, operation("store_api_import")),
        );
        let json: Value = serde_json::from_slice(&Document::new(doc).0).unwrap();
        let list = &json["paths"]["/a"]["get"];
        assert_eq!(list["operationId"], "store_api_list");
        assert_eq!(
            json["paths"]["/b"]["post"]["operationId"],
            "store_api_import"
        );
        for range in ["4XX", "5XX"] {
            assert_eq!(
                list["responses"][range]["$ref"],
                "#/components/responses/Error"
            );
        }
        assert_eq!(
            json["components"]["responses"]["Error"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        for schema in ["ErrorBody", "ErrorDetail", "ErrorCode"] {
            assert!(
                json["components"]["schemas"][schema].is_object(),
                "{schema}"
            );
        }
        assert_eq!(json["openapi"], "3.1.0");
        assert_eq!(json["info"]["title"], "Cartroom");
    }
}
