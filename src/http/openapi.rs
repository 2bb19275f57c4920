//! The API's OpenAPI 3.1 document, generated from the code: every route is registered with its
//! handler's `#[utoipa::path]` (method, path, parameters, request and answer bodies, the error
//! statuses it can answer) through `utoipa_axum`'s router, so a route cannot exist without its
//! description; the bodies' schemas are derived from the types the handlers serialise
//! (`utoipa::ToSchema` beside `serde`'s derives).
//!
//! Two things are added here, where they are decided rather than per handler:
//! - **Authorisation**: [`require`] is how a route group gets its guard, and it writes the same
//!   facts into the document: the `bearer` scheme with the action as its scope, and the `401`,
//!   `403` and `429` answers (failed authentications are rate-limited per client on every
//!   guarded route, besides the budgets some groups spend).
//! - **Errors**: every error answer is `{message, code, type}` ([`ErrorCode`]); [`finish`] makes
//!   each error status of an operation a reference to one shared answer per status, whose
//!   description lists the codes that status carries, and adds the statuses every operation can
//!   answer (`408` after the request timeout, `500`), those of a body (`400`, `413`, `415`), of
//!   parameters (`400`) and of an `{index}` (`404`).
//!
//! The document is served at `/openapi.json` (itself in the document) and rendered at `/docs`;
//! `docs/openapi.json` is a copy the tests keep identical to it.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use utoipa::PartialSchema;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi, PathItem};
use utoipa_axum::router::OpenApiRouter;

use super::auth::Needs;
use super::error::{ErrorCode, ErrorType};
use super::state::AppState;

/// The routers route groups are built with.
pub type ApiRouter = OpenApiRouter<AppState>;

/// The name of the security scheme: `Authorization: Bearer <API key or shopper token>`.
const BEARER: &str = "bearer";

/// The extension naming the rate-limit budget an operation spends.
const BUDGET: &str = "x-vitrine-rate-limit-budget";

/// The operations of a path.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head, &mut item.options]
        .into_iter()
        .flatten()
}

/// Writes what `needs` requires into every operation of `router` (the caller adds the guard
/// itself, with the same `needs`).
pub fn require(mut router: ApiRouter, needs: Needs) -> ApiRouter {
    for item in router.get_openapi_mut().paths.paths.values_mut() {
        for operation in operations(item) {
            let scopes: Vec<&str> = needs.action.map(|action| action.as_str()).into_iter().collect();
            operation.security = Some(vec![SecurityRequirement::new(BEARER, scopes)]);
            if let Some(budget) = needs.budget {
                let mut extensions = operation.extensions.take().unwrap_or_default();
                extensions.insert(BUDGET.to_owned(), json!(budget.as_str()));
                operation.extensions = Some(extensions);
            }
        }
    }
    router
}

/// The shared answer of each error status: its component name.
fn response_name(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").split_whitespace().collect::<String>()
}

/// The document as served: `api` (the routes' descriptions) with the parts decided here.
pub fn finish(api: OpenApi) -> Value {
    let mut document = serde_json::to_value(api).unwrap_or_else(|_| json!({}));
    // The error statuses some operation answers: each gets its shared answer.
    let mut used = BTreeSet::<u16>::new();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                complete_operation(path, operation);
                if let Some(responses) = operation.get("responses").and_then(Value::as_object) {
                    used.extend(responses.keys().filter_map(|status| status.parse::<u16>().ok()));
                }
            }
        }
    }
    document["openapi"] = json!("3.1.0");
    document["tags"] = Value::Array(
        TAGS.iter().map(|(name, description)| json!({ "name": name, "description": description })).collect(),
    );
    document["info"] = json!({
        "title": "Vitrine API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": DESCRIPTION,
        "license": { "name": "MIT", "identifier": "MIT" },
    });
    let components = document
        .as_object_mut()
        .map(|object| object.entry("components").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut);
    if let Some(components) = components {
        components.insert(
            "securitySchemes".to_owned(),
            json!({ BEARER: {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (`VITRINE_ADMIN_KEY`, `VITRINE_SEARCH_KEY`, or a key made with `POST /v1/keys`) \
                                or a shopper token (`POST /v1/shopper-tokens`). The scopes of an operation name the \
                                action its key must allow. A server started without keys does not ask for one.",
            }}),
        );
        let schemas = components.entry("schemas").or_insert_with(|| json!({}));
        schemas["Error"] = error_schema();
        // Types used only as path parameters (bodies' types are collected with their routes).
        for (name, schema) in [
            ("IndexName", <vitrine_models::IndexName as PartialSchema>::schema()),
            ("ProductId", <vitrine_models::ProductId as PartialSchema>::schema()),
        ] {
            schemas[name] = serde_json::to_value(schema).unwrap_or_default();
        }
        let responses: Map<String, Value> = used
            .iter()
            .filter_map(|status| StatusCode::from_u16(*status).ok())
            .filter(|status| status.is_client_error() || status.is_server_error())
            .map(|status| (response_name(status), error_response(status)))
            .collect();
        components.insert("responses".to_owned(), Value::Object(responses));
    }
    document
}

/// Adds the statuses every operation of its kind can answer, and makes every error status a
/// reference to its shared answer (keeping the handler's note as the description).
fn complete_operation(path: &str, operation: &mut Map<String, Value>) {
    let has_body = operation.contains_key("requestBody");
    let parameters = operation.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    let has_query = parameters.iter().any(|parameter| parameter["in"] == "query");
    let guarded = operation.get("security").is_some();
    let mut statuses = vec![StatusCode::REQUEST_TIMEOUT, StatusCode::INTERNAL_SERVER_ERROR];
    if has_body {
        statuses.extend([StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE, StatusCode::UNSUPPORTED_MEDIA_TYPE]);
    }
    if has_query || path.contains('{') {
        statuses.push(StatusCode::BAD_REQUEST);
    }
    if path.contains("{index}") {
        statuses.push(StatusCode::NOT_FOUND);
    }
    if guarded {
        statuses.extend([StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::TOO_MANY_REQUESTS]);
    }
    let responses = operation.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    for status in statuses {
        responses.entry(status.as_u16().to_string()).or_insert_with(|| json!({}));
    }
    for (status, response) in responses.iter_mut() {
        let Some(status) = status.parse().ok().and_then(|status| StatusCode::from_u16(status).ok()) else { continue };
        // An error status whose body the handler describes itself (`/health`'s 503) stays.
        if !(status.is_client_error() || status.is_server_error()) || response.get("content").is_some() {
            continue;
        }
        let mut reference = json!({ "$ref": format!("#/components/responses/{}", response_name(status)) });
        if let Some(note) = response.get("description").and_then(Value::as_str).filter(|note| !note.is_empty()) {
            reference["description"] = json!(note);
        }
        *response = reference;
    }
}

/// The error body's schema: `code` is one of the stable codes, `type` its family.
fn error_schema() -> Value {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.describe().0).collect();
    let types: Vec<Value> = [ErrorType::InvalidRequest, ErrorType::Auth, ErrorType::System, ErrorType::Internal]
        .iter()
        .filter_map(|kind| serde_json::to_value(kind).ok())
        .collect();
    json!({
        "type": "object",
        "description": "Every error answer. `code` is stable (match on it); `message` is for people and may change.",
        "required": ["message", "code", "type"],
        "additionalProperties": false,
        "properties": {
            "message": { "type": "string" },
            "code": { "type": "string", "enum": codes },
            "type": { "type": "string", "enum": types },
        },
    })
}

/// The shared answer of an error status: the codes it carries, and `Retry-After` for `429`.
fn error_response(status: StatusCode) -> Value {
    let codes: Vec<String> = ErrorCode::ALL
        .iter()
        .filter(|code| code.describe().1 == status)
        .map(|code| format!("`{}`", code.describe().0))
        .collect();
    let codes = match codes.is_empty() {
        true => "`invalid_parameter`".to_owned(),
        false => codes.join(", "),
    };
    let mut response = json!({
        "description": format!("{} {}: {codes}.", status.as_u16(), status.canonical_reason().unwrap_or("")),
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
    });
    if status == StatusCode::TOO_MANY_REQUESTS {
        response["headers"] = json!({ "Retry-After": {
            "description": "Seconds until the budget allows a request again.",
            "schema": { "type": "integer", "minimum": 0 },
        }});
    }
    response
}

/// The operations' groups, in the order a reader meets them.
const TAGS: [(&str, &str); 18] = [
    ("search", "Search, autocomplete and facet-value search (the public search key)."),
    ("recommendations", "Recommendations from the index's current model version."),
    ("events", "Shoppers' views, clicks, add-to-carts and purchases."),
    ("carts", "Carts: a guest's (with its token) or a signed-in shopper's."),
    ("checkout", "Checkout: the cart priced, stock held and the payment authorised, in one saga."),
    ("orders", "Orders, refunds and returns."),
    ("indexes", "Indexes and their sizes and display settings."),
    ("documents", "Products, upserted by id."),
    ("settings", "Typo tolerance, ranking, facets, synonyms, rules, variants, display; versions and drafts."),
    ("analytics", "Search analytics."),
    ("models", "Recommendation model versions."),
    ("experiments", "Online A/B tests and interleaving of search settings and recommendation models."),
    ("commerce admin", "Stock, prices, coupons and fulfilment."),
    ("payments", "The payment provider's webhooks and the simulated provider's 3-D Secure page."),
    ("keys", "API keys and shopper tokens."),
    ("operations", "Metrics, snapshots of the data directory, index aliases."),
    ("health", "Liveness and readiness."),
    ("pages", "The storefront plug-in, the demo storefront and the console."),
];

/// The document's introduction.
const DESCRIPTION: &str = "Search, recommendations and checkout for online shops.\n\n\
**Keys.** The search key is public (storefront pages embed it): it searches, suggests, recommends, \
records shopper events and shops as a guest. The admin key, and keys made with `POST /v1/keys`, \
do the rest, each limited to its actions (an operation's security scopes) and index patterns. A \
shopper token (`POST /v1/shopper-tokens`, signed with a key) acts for one shopper.\n\n\
**Errors.** Every error is `{\"message\", \"code\", \"type\"}` with the status its `code` always \
has; the responses of each status list its codes.";
