//! `GET /api/openapi.json` (docs/protocol.md section 4): the OpenAPI 3.1
//! document of the REST API, generated from the handlers. The document is
//! checked against itself (every `$ref` resolves, operation ids are unique,
//! every path parameter is declared) and against the running server (every
//! documented operation is routed; no path takes a method it does not
//! document). A route that bypasses the document is caught at the source:
//! server/src may register a plain `.route(` only for the few paths that
//! are not API endpoints.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use cartroom_e2e::TestServer;
use reqwest::Method;
use serde_json::Value;

/// The paths that may be registered without `routes!` (and so without a
/// description): the WebSocket, the unknown-path answers, the web client
/// and the dev mailbox.
const UNDOCUMENTED: &[&str] = &["/ws", "/api", "/api/", "/api/{*rest}", "/", "/dev/mailbox"];

/// The methods axum routes that the document can describe.
const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

async fn document(server: &TestServer) -> anyhow::Result<Value> {
    let response = reqwest::get(format!("{}/api/openapi.json", server.base_url)).await?;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str()?.to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    Ok(response.json().await?)
}

/// Every `$ref` in `value`, with where it was found.
fn refs<'a>(value: &'a Value, at: &str, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref"
                    && let Value::String(target) = child
                {
                    found.push((at.to_owned(), target));
                }
                refs(child, &format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                refs(child, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// Every (path, method, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(operation) = item.get(*method) {
                all.push((path.clone(), (*method).to_owned(), operation));
            }
        }
    }
    all
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_self_consistent() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let doc = document(&server).await?;

    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1."), "openapi is {version:?}");
    assert_eq!(doc["info"]["title"], "Cartroom");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let description = doc["info"]["description"].as_str().unwrap_or_default();
    assert!(description.contains("docs/protocol.md"), "{description}");
    for scheme in ["session_bearer", "session_cookie", "store_key"] {
        assert!(
            doc["components"]["securitySchemes"].get(scheme).is_some(),
            "no security scheme {scheme}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["session_cookie"]["name"],
        "cartroom_session"
    );

    let mut found = Vec::new();
    refs(&doc, "", &mut found);
    assert!(!found.is_empty(), "the document refers to no schema");
    let dangling: Vec<_> = found
        .iter()
        .filter(|(_, target)| {
            target
                .strip_prefix('#')
                .is_none_or(|pointer| doc.pointer(pointer).is_none())
        })
        .collect();
    assert!(
        dangling.is_empty(),
        "$refs that do not resolve: {dangling:#?}"
    );

    let mut ids = HashSet::new();
    let mut problems = Vec::new();
    for (path, method, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        if id.is_empty() || !ids.insert(id.to_owned()) {
            problems.push(format!(
                "{method} {path}: operationId {id:?} missing or repeated"
            ));
        }
        if operation["tags"].as_array().is_none_or(Vec::is_empty) {
            problems.push(format!("{method} {path}: no tag"));
        }
        if operation["responses"].get("4XX").is_none() {
            problems.push(format!("{method} {path}: no error response"));
        }
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        if declared != in_path {
            problems.push(format!(
                "{method} {path}: path parameters {declared:?}, the path has {in_path:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    server.stop().await?;
    Ok(())
}

/// `path` with every `{param}` filled in with something of the right shape
/// (ids are uuids).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{file}" => "nothing.svg",
            s if s.starts_with('{') => "00000000-0000-4000-8000-000000000000",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether an answer is the router's, not a handler's: no route for the
/// path (the unknown-path answer of `/api/...`, or axum's empty 404
/// elsewhere), or none for the method.
fn unrouted(status: u16, body: &str, unknown_path: &str) -> bool {
    status == 405 || status == 404 && (body.is_empty() || body == unknown_path)
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_nothing_else_is() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let doc = document(&server).await?;
    let client = reqwest::Client::new();
    let unknown_path = client
        .get(format!("{}/api/no/such/endpoint", server.base_url))
        .send()
        .await?
        .text()
        .await?;
    assert!(unknown_path.contains("not_found"), "{unknown_path}");

    let mut problems = Vec::new();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() > 50, "only {} paths", paths.len());
    for (path, item) in paths {
        let url = format!("{}{}", server.base_url, concrete(path));
        for method in METHODS {
            let documented = item.get(*method).is_some();
            let request_method = Method::from_bytes(method.to_uppercase().as_bytes())?;
            let response = client.request(request_method, &url).send().await?;
            let status = response.status().as_u16();
            let body = response.text().await?;
            let routed = !unrouted(status, &body, &unknown_path);
            if documented != routed {
                problems.push(format!(
                    "{method} {path}: documented {documented}, routed {routed} ({status} {body})"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    server.stop().await?;
    Ok(())
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The string literal that starts `text` (after blanks), if any.
fn leading_literal(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('"')?;
    rest.find('"').map(|end| &rest[..end])
}

/// Every route of the server goes through `routes!` (which needs
/// `#[utoipa::path]`), except the allow-listed non-API paths: a plain
/// `.route(` with any other path, or with a path that is not a literal, is
/// an undocumented endpoint.
#[test]
fn no_route_bypasses_the_document() -> anyhow::Result<()> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files)?;
    assert!(
        files.iter().any(|f| f.ends_with("http/openapi.rs")),
        "server/src not found at {src:?}"
    );
    let mut problems = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file)?;
        for (at, _) in source.match_indices(".route(") {
            let path = leading_literal(&source[at + ".route(".len()..]);
            if !path.is_some_and(|p| UNDOCUMENTED.contains(&p)) {
                let line = source[..at].lines().count();
                problems.push(format!("{}:{line}: .route({path:?}", file.display()));
            }
        }
        for call in [".route_service(", ".nest(", ".nest_service("] {
            for (at, _) in source.match_indices(call) {
                let path = leading_literal(&source[at + call.len()..]);
                // The web client's hashed assets.
                if path != Some("/assets") {
                    let line = source[..at].lines().count();
                    problems.push(format!("{}:{line}: {call}{path:?}", file.display()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "routes outside the OpenAPI document (register them with \
         utoipa_axum::routes! and #[utoipa::path], see /api/openapi.json): {problems:#?}"
    );
    Ok(())
}
