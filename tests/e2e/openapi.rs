//! The OpenAPI document: the committed copy (`docs/openapi.json`) is what the code generates, the
//! server serves the same, every documented operation is a route of the server, and the document
//! holds together (unique operation ids, every `$ref` resolves, every error status refers to the
//! shared error answers). The schema-driven fuzzer (`scripts/fuzz-api`, run by the test command)
//! checks the answers against it.

use std::collections::BTreeSet;
use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::common::{ADMIN, Server, request};

/// `docs/openapi.json` as committed.
fn committed() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The document as the code generates it, as `vitrine openapi` prints it.
fn generated() -> String {
    serde_json::to_string_pretty(&vitrine::http::openapi_document()).expect("the document serialises") + "\n"
}

#[test]
fn the_committed_document_is_the_one_the_code_generates() {
    let (committed, generated) = (committed(), generated());
    if committed != generated {
        let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b).map_or(0, |line| line + 1);
        panic!(
            "docs/openapi.json is not what the code generates (first difference near line {line}); \
             regenerate it: cargo run --bin vitrine -- openapi > docs/openapi.json"
        );
    }
}

/// Every operation of the document: (method, path, operation).
fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            found.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    found
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get("$ref") {
                found.insert(reference.clone());
            }
            object.values().for_each(|value| references(value, found));
        }
        Value::Array(values) => values.iter().for_each(|value| references(value, found)),
        _ => {}
    }
}

#[test]
fn the_document_holds_together() {
    let document = vitrine::http::openapi_document();
    assert_eq!(document["openapi"], "3.1.0");
    let operations = operations(&document);
    assert!(operations.len() >= 60, "{} operations", operations.len());
    let ids: Vec<&str> =
        operations.iter().map(|(_, _, operation)| operation["operationId"].as_str().expect("an id")).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "operation ids are unique: {ids:?}");
    let mut refs = BTreeSet::new();
    references(&document, &mut refs);
    for reference in &refs {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("a local reference: {reference}"));
        assert!(document.pointer(pointer).is_some(), "{reference} resolves");
    }
    let tags: BTreeSet<&str> =
        document["tags"].as_array().expect("tags").iter().filter_map(|tag| tag["name"].as_str()).collect();
    for (method, path, operation) in &operations {
        let tag = operation["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(tag), "{method} {path}: its tag `{tag}` is one of the document's");
        let responses = operation["responses"].as_object().expect("responses");
        assert!(responses.keys().any(|status| status.starts_with('2')), "{method} {path} has a success answer");
        for (status, response) in responses {
            let error = status.starts_with('4') || status.starts_with('5');
            let shared = response.get("$ref").is_some();
            // A documented error body of its own: only /health's 503, which is its status body.
            assert!(
                !error || shared || path.starts_with("/health"),
                "{method} {path} {status} refers to the shared error"
            );
        }
        if path.starts_with("/v1/")
            && !path.starts_with("/v1/webhooks/")
            && !path.starts_with("/v1/payments/simulated/")
        {
            assert!(operation.get("security").is_some(), "{method} {path} names its credential");
        }
    }
    // Every stable error code is listed, with its status.
    let codes =
        document.pointer("/components/schemas/Error/properties/code/enum").and_then(Value::as_array).expect("codes");
    assert_eq!(codes.len(), vitrine::http::ErrorCode::ALL.len());
}

/// A path of the document with its parameters filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{index}" => "shop",
            "{provider}" => "simulated",
            "{part}" => "synonyms",
            "{version}" | "{facet}" => "1",
            segment if segment.starts_with('{') => "x",
            segment => segment,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_server_serves_the_document_and_routes_every_operation() {
    let server = Server::keyed();
    let served = server.get("/openapi.json", None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.json(), vitrine::http::openapi_document());
    let docs = server.get("/docs", None).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.text.contains("/docs/docs.js"), "{}", docs.text);

    for (method, path, _) in operations(&served.json()) {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
        let answer = server.call(request(method.clone(), &concrete(&path), Some(ADMIN), None)).await;
        let code = (answer.status.is_client_error()
            && answer.headers.get("content-type").is_some_and(|value| value == "application/json"))
        .then(|| answer.json()["code"].as_str().unwrap_or_default().to_owned());
        assert!(
            !matches!(code.as_deref(), Some("route_not_found" | "method_not_allowed")),
            "{method} {path}: the server has no such route ({})",
            answer.text
        );
    }
}
