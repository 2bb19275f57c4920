//! The settings endpoints (admin key): the whole settings document and each of its parts
//! (`synonyms`, `rules`, `ranking`, `typo_tolerance`, `facets`, `variants`), read, replaced or
//! reset to the defaults. Every change applies to the next search without reindexing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::Value;
use vitrine_models::IndexName;
use vitrine_models::settings::{IndexSettings, SETTINGS_PARTS};

use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson, ErrorCode};
use crate::http::routes::blocking;

/// Refuses a part name the settings do not have.
fn known_part(part: &str) -> Result<&'static str, ApiError> {
    SETTINGS_PARTS.into_iter().find(|known| *known == part).ok_or_else(|| {
        ApiError::new(
            ErrorCode::RouteNotFound,
            format!("the settings have no part `{part}`; they are: {}", SETTINGS_PARTS.join(", ")),
        )
    })
}

fn invalid(reason: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidSettings, reason.to_string())
}

/// What to do when the index does not exist.
#[derive(Clone, Copy)]
enum Missing {
    /// Create it (writing settings first is how an index is often set up).
    Create,
    /// Answer 404.
    NotFound,
}

/// Reads, changes, checks and saves an index's settings in one blocking task; returns the new
/// settings. Rule filters are checked against the index's fields before saving.
async fn update(
    state: AppState,
    index: String,
    missing: Missing,
    actor: String,
    change: impl FnOnce(IndexSettings) -> Result<IndexSettings, ApiError> + Send + 'static,
) -> Result<IndexSettings, ApiError> {
    let name = IndexName::new(index)?;
    blocking(move || {
        let index = match missing {
            Missing::Create => state.catalog.get_or_create(&name)?,
            Missing::NotFound => state.catalog.get(&name)?,
        };
        let changed = change(IndexSettings::clone(&index.settings()))?;
        vitrine_query::check_rule_filters(&changed, index.fields()).map_err(invalid)?;
        index.set_settings_as(changed.clone(), &actor, None)?;
        Ok(changed)
    })
    .await
}

/// Who makes a settings change, for the audit log: the `X-Vitrine-Actor` header (the console
/// sends the merchandiser's name as percent-encoded UTF-8, `Zo%C3%AB`; plain text is taken as it
/// is), else `admin`. At most 100 characters.
fn actor(headers: &HeaderMap) -> String {
    let Some(value) = headers.get("x-vitrine-actor") else { return "admin".to_owned() };
    // Header bytes that are not UTF-8 are Latin-1, as browsers send them.
    let raw = match std::str::from_utf8(value.as_bytes()) {
        Ok(text) => text.to_owned(),
        Err(_) => value.as_bytes().iter().map(|&byte| char::from(byte)).collect(),
    };
    let decoded =
        percent_encoding::percent_decode_str(&raw).decode_utf8().map_or(raw.clone(), |text| text.into_owned());
    let name = decoded.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return "admin".to_owned();
    }
    name.chars().take(100).collect()
}

/// `GET /v1/indexes/{index}/settings/history`: every saved version, newest first.
pub async fn history(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<Json<Vec<vitrine_indexer::SettingsVersion>>, ApiError> {
    let name = IndexName::new(index)?;
    let mut versions = blocking(move || Ok(state.catalog.get(&name)?.settings_history()?)).await?;
    versions.reverse();
    Ok(Json(versions))
}

/// `POST /v1/indexes/{index}/settings/history/{version}/restore`: brings an older version back
/// (recorded as a new version that says so).
pub async fn restore(
    State(state): State<AppState>,
    Path((index, version)): Path<(String, u64)>,
    headers: HeaderMap,
) -> Result<Json<IndexSettings>, ApiError> {
    let name = IndexName::new(index)?;
    let actor = actor(&headers);
    let settings = blocking(move || {
        let index = state.catalog.get(&name)?;
        let old = index.settings_history()?.into_iter().find(|saved| saved.version == version).ok_or_else(|| {
            ApiError::new(ErrorCode::SettingsVersionNotFound, format!("`{name}` has no settings version {version}"))
        })?;
        vitrine_query::check_rule_filters(&old.settings, index.fields()).map_err(invalid)?;
        index.set_settings_as(old.settings.clone(), &actor, Some(version))?;
        Ok(old.settings)
    })
    .await?;
    Ok(Json(settings))
}

async fn current(state: AppState, index: String) -> Result<IndexSettings, ApiError> {
    let name = IndexName::new(index)?;
    let settings = blocking(move || Ok(state.catalog.get(&name)?.settings())).await?;
    Ok(IndexSettings::clone(&settings))
}

/// One part of the settings as JSON.
fn part_of(settings: &IndexSettings, part: &str) -> Result<Value, ApiError> {
    let whole = serde_json::to_value(settings).map_err(ApiError::internal)?;
    Ok(whole.get(part).cloned().unwrap_or(Value::Null))
}

/// The settings with one part replaced, checked like a whole document.
fn with_part(settings: &IndexSettings, part: &str, value: Value) -> Result<IndexSettings, ApiError> {
    settings.with_parts(&serde_json::Map::from_iter([(part.to_owned(), value)])).map_err(invalid)
}

/// `GET /v1/indexes/{index}/settings`.
pub async fn get_settings(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<Json<IndexSettings>, ApiError> {
    Ok(Json(current(state, index).await?))
}

/// `PUT /v1/indexes/{index}/settings`: replaces the whole settings (creating the index if
/// needed); missing parts take their defaults.
pub async fn put_settings(
    State(state): State<AppState>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Result<ApiJson<IndexSettings>, ApiError>,
) -> Result<Json<IndexSettings>, ApiError> {
    let ApiJson(settings) = body.map_err(|error| match error.code {
        ErrorCode::MalformedPayload => invalid(error.message),
        _ => error,
    })?;
    Ok(Json(update(state, index, Missing::Create, actor(&headers), move |_| Ok(settings)).await?))
}

/// `DELETE /v1/indexes/{index}/settings`: every part back to its default.
pub async fn reset_settings(
    State(state): State<AppState>,
    Path(index): Path<String>,
    headers: HeaderMap,
) -> Result<Json<IndexSettings>, ApiError> {
    Ok(Json(update(state, index, Missing::NotFound, actor(&headers), |_| Ok(IndexSettings::default())).await?))
}

/// `GET /v1/indexes/{index}/settings/{part}`.
pub async fn get_part(
    State(state): State<AppState>,
    Path((index, part)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let part = known_part(&part)?;
    Ok(Json(part_of(&current(state, index).await?, part)?))
}

/// `PUT /v1/indexes/{index}/settings/{part}`: replaces one part, keeping the others.
pub async fn put_part(
    State(state): State<AppState>,
    Path((index, part)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<ApiJson<Value>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let part = known_part(&part)?;
    let ApiJson(value) = body.map_err(|error| match error.code {
        ErrorCode::MalformedPayload => invalid(error.message),
        _ => error,
    })?;
    let settings =
        update(state, index, Missing::Create, actor(&headers), move |settings| with_part(&settings, part, value))
            .await?;
    Ok(Json(part_of(&settings, part)?))
}

/// `DELETE /v1/indexes/{index}/settings/{part}`: one part back to its default.
pub async fn reset_part(
    State(state): State<AppState>,
    Path((index, part)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let part = known_part(&part)?;
    let default = part_of(&IndexSettings::default(), part)?;
    let settings =
        update(state, index, Missing::NotFound, actor(&headers), move |settings| with_part(&settings, part, default))
            .await?;
    Ok(Json(part_of(&settings, part)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_replaced_alone_and_checked_like_the_whole() {
        let mut settings = IndexSettings::default();
        settings.facets.attributes = vec!["colour".into()];
        let synonyms = serde_json::json!([{"type": "multi_way", "terms": ["tv", "television"]}]);
        let changed = with_part(&settings, "synonyms", synonyms).expect("valid part");
        assert_eq!(changed.synonyms.len(), 1);
        assert_eq!(changed.facets, settings.facets, "other parts are kept");
        let error = with_part(&settings, "ranking", serde_json::json!({"titel": 2})).expect_err("unknown key");
        assert_eq!(error.code, ErrorCode::InvalidSettings);
        assert!(known_part("rules").is_ok() && known_part("colours").is_err());
    }

    #[test]
    fn the_author_of_a_change_is_read_in_any_encoding_a_browser_sends() {
        let name = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert("x-vitrine-actor", axum::http::HeaderValue::from_bytes(value).expect("a header value"));
            actor(&headers)
        };
        assert_eq!(name(b"Ada Lovelace"), "Ada Lovelace");
        assert_eq!(name(b"Zo%C3%AB %C5%81ukasz"), "Zo\u{eb} \u{141}ukasz", "percent-encoded UTF-8");
        assert_eq!(name(b"Zo\xeb"), "Zo\u{eb}", "Latin-1");
        assert_eq!(name(b"100% sure"), "100% sure", "a lone percent sign stays");
        assert_eq!(name(b"  "), "admin");
        assert_eq!(name(b"a%0Ab"), "admin", "no control characters in the log");
        assert_eq!(actor(&HeaderMap::new()), "admin");
    }
}
