//! Index aliases over HTTP: `PUT|GET|DELETE /v1/aliases/{alias}` and `GET /v1/aliases` (the
//! `aliases.write` action), and the layer that lets every index route take an alias.
//!
//! [`resolve`] runs before routing: a path `/v1/indexes/{name}/…` whose `{name}` is an alias is
//! rewritten to the index the alias names, at that instant, so search, suggest, recommendations,
//! events, documents, settings and experiments all take an alias, and a switch applies to the next
//! request. The answer says which index served it (`Vitrine-Index`). The key's index patterns may
//! name the alias or the index. Deleting an index through an alias is refused: delete the alias,
//! or name the index.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use serde::Deserialize;
use vitrine_models::IndexName;

use crate::aliases::{Alias, AliasError, Aliases};
use crate::http::blocking::blocking;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// The answer header naming the index that served a request made through an alias.
pub const INDEX_HEADER: &str = "vitrine-index";

/// The alias a request named, when [`resolve`] rewrote its path (the auth guard lets a key
/// scoped to the alias through).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasedFrom(pub String);

const INDEXES_PREFIX: &str = "/v1/indexes/";

/// Middleware, before routing: rewrites `/v1/indexes/{alias}/…` to the aliased index.
pub async fn resolve(State(aliases): State<Aliases>, mut request: Request, next: Next) -> Response {
    let Some((alias, index)) = aliased(&aliases, request.method(), request.uri()) else {
        return next.run(request).await;
    };
    let Some(uri) = rewritten(request.uri(), &alias, &index) else {
        return next.run(request).await;
    };
    *request.uri_mut() = uri;
    request.extensions_mut().insert(AliasedFrom(alias));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&index) {
        response.headers_mut().insert(INDEX_HEADER, value);
    }
    response
}

/// The alias a request's path names and its index, if it names one (not for deleting an index).
fn aliased(aliases: &Aliases, method: &Method, uri: &Uri) -> Option<(String, String)> {
    let rest = uri.path().strip_prefix(INDEXES_PREFIX)?;
    let (name, tail) = rest.split_once('/').map_or((rest, ""), |(name, tail)| (name, tail));
    if tail.is_empty() && method == Method::DELETE {
        return None;
    }
    let index = aliases.resolve(name)?;
    Some((name.to_owned(), index))
}

fn rewritten(uri: &Uri, alias: &str, index: &str) -> Option<Uri> {
    let rest = uri.path().strip_prefix(INDEXES_PREFIX)?.strip_prefix(alias)?;
    let path_and_query = match uri.query() {
        Some(query) => format!("{INDEXES_PREFIX}{index}{rest}?{query}"),
        None => format!("{INDEXES_PREFIX}{index}{rest}"),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    Uri::from_parts(parts).ok()
}

impl From<AliasError> for ApiError {
    fn from(error: AliasError) -> Self {
        let code = match &error {
            AliasError::Invalid(_) => ErrorCode::InvalidAlias,
            AliasError::NotFound(_) => ErrorCode::AliasNotFound,
            AliasError::Conflict(_) => ErrorCode::AliasConflict,
            AliasError::Io { .. } => return ApiError::internal(error),
        };
        ApiError::new(code, error.to_string())
    }
}

/// `PUT /v1/aliases/{alias}`: which index the alias names.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AliasTarget {
    /// An existing index (not an alias).
    index: String,
}

/// An alias after a change.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AliasSwitch {
    /// The alias.
    alias: String,
    /// The index it names now.
    index: String,
    /// The index it named before (none: the alias is new).
    previous: Option<String>,
}

/// `PUT /v1/aliases/{alias}`: creates the alias or switches it to another index, atomically.
#[utoipa::path(put, path = "/v1/aliases/{alias}", operation_id = "putAlias", tag = "operations",
    params(("alias" = String, Path, description = "The alias (an index name that no index has).")),
    request_body = AliasTarget,
    responses((status = OK, description = "The alias, and the index it named before.", body = AliasSwitch),
        (status = BAD_REQUEST, description = "`invalid_alias`: not a valid name, or the target is an alias; `malformed_payload`."),
        (status = NOT_FOUND, description = "`index_not_found`: the target index does not exist."),
        (status = CONFLICT, description = "`alias_conflict`: an index has the alias's name.")))]
pub async fn put(
    State(state): State<AppState>,
    Path(alias): Path<String>,
    ApiJson(body): ApiJson<AliasTarget>,
) -> Result<Json<AliasSwitch>, ApiError> {
    let index = IndexName::new(&body.index)?;
    let (catalog, aliases) = (state.catalog.clone(), state.aliases.clone());
    blocking(move || {
        if !aliases.is_alias(index.as_str()) && !catalog.exists(&index) {
            return Err(ApiError::new(ErrorCode::IndexNotFound, format!("index `{index}` not found")));
        }
        let previous = aliases.set(&alias, &index, |name| catalog.exists(name))?;
        tracing::info!(%alias, %index, previous = previous.as_deref().unwrap_or("none"), "alias switched");
        Ok(Json(AliasSwitch { alias, index: index.to_string(), previous }))
    })
    .await
}

/// `GET /v1/aliases/{alias}`: the index an alias names.
#[utoipa::path(get, path = "/v1/aliases/{alias}", operation_id = "getAlias", tag = "operations",
    params(("alias" = String, Path, description = "The alias.")),
    responses((status = OK, body = Alias), (status = NOT_FOUND, description = "`alias_not_found`.")))]
pub async fn get(State(state): State<AppState>, Path(alias): Path<String>) -> Result<Json<Alias>, ApiError> {
    Ok(Json(state.aliases.get(&alias)?))
}

/// `DELETE /v1/aliases/{alias}`: deletes the alias (its index stays).
#[utoipa::path(delete, path = "/v1/aliases/{alias}", operation_id = "deleteAlias", tag = "operations",
    params(("alias" = String, Path, description = "The alias.")),
    responses((status = NO_CONTENT, description = "Deleted."), (status = NOT_FOUND, description = "`alias_not_found`.")))]
pub async fn delete(State(state): State<AppState>, Path(alias): Path<String>) -> Result<StatusCode, ApiError> {
    let aliases = state.aliases.clone();
    blocking(move || Ok(aliases.remove(&alias)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/aliases`: every alias.
#[utoipa::path(get, path = "/v1/aliases", operation_id = "listAliases", tag = "operations",
    responses((status = OK, body = Vec<Alias>)))]
pub async fn list(State(state): State<AppState>) -> Json<Vec<Alias>> {
    Json(state.aliases.list())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_through_an_alias_are_rewritten_and_nothing_else() {
        let folder = tempfile::tempdir().expect("temp dir");
        let aliases = Aliases::open(&vitrine_models::DataDir::new(folder.path())).expect("open");
        let v2 = IndexName::new("shop-v2").expect("name");
        aliases.set("shop", &v2, |_| false).expect("set");
        let rewrite = |method: Method, uri: &str| {
            let uri: Uri = uri.parse().expect("uri");
            aliased(&aliases, &method, &uri)
                .and_then(|(alias, index)| rewritten(&uri, &alias, &index))
                .map(|uri| uri.to_string())
        };
        assert_eq!(rewrite(Method::POST, "/v1/indexes/shop/search").as_deref(), Some("/v1/indexes/shop-v2/search"));
        assert_eq!(
            rewrite(Method::GET, "/v1/indexes/shop/suggest?q=mu").as_deref(),
            Some("/v1/indexes/shop-v2/suggest?q=mu")
        );
        assert_eq!(rewrite(Method::GET, "/v1/indexes/shop").as_deref(), Some("/v1/indexes/shop-v2"));
        assert_eq!(rewrite(Method::DELETE, "/v1/indexes/shop"), None, "an index is never deleted through an alias");
        assert_eq!(rewrite(Method::POST, "/v1/indexes/shopping/search"), None);
        assert_eq!(rewrite(Method::POST, "/v1/indexes/shop-v2/search"), None);
        assert_eq!(rewrite(Method::GET, "/v1/aliases/shop"), None);
    }
}
