//! `/v1/indexes/{index}/settings…` (admin key): the whole settings document and each of its
//! parts (`synonyms`, `rules`, `ranking`, `typo_tolerance`, `facets`, `variants`, `language`, …),
//! read, replaced or reset to the defaults; every saved version (`…/history`) and rolling back to
//! one. Every change applies to the next search without reindexing, except a change of the text's
//! language (`language`, `field_languages`), which an index holding products refuses
//! (`language_change_requires_reindex`). Drafts tried without saving are in [`drafts`].

pub mod drafts;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde_json::Value;
use vitrine_models::IndexName;
use vitrine_models::settings::{IndexSettings, SETTINGS_PARTS};

use crate::http::blocking::blocking;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, ChangeAuthor};
use crate::http::state::AppState;

/// Refuses a part name the settings do not have.
fn known_part(part: &str) -> Result<&'static str, ApiError> {
    SETTINGS_PARTS.into_iter().find(|known| *known == part).ok_or_else(|| {
        ApiError::new(
            ErrorCode::RouteNotFound,
            format!("the settings have no part `{part}`; they are: {}", SETTINGS_PARTS.join(", ")),
        )
    })
}

/// The parts of the settings (the `{part}` of `…/settings/{part}`), for the OpenAPI document.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum SettingsPart {
    TypoTolerance,
    Ranking,
    Facets,
    Synonyms,
    Rules,
    Variants,
    DefaultCurrency,
    Display,
    Language,
    FieldLanguages,
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

/// `GET /v1/indexes/{index}/settings/history`: every saved version, newest first.
#[utoipa::path(get, path = "/v1/indexes/{index}/settings/history", operation_id = "settingsHistory", tag = "settings", params(("index" = IndexName, Path)),
    responses((status = OK, description = "Newest first.", body = Vec<vitrine_indexer::SettingsVersion>)))]
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
#[utoipa::path(post, path = "/v1/indexes/{index}/settings/history/{version}/restore", operation_id = "restoreSettings", tag = "settings", params(("index" = IndexName, Path), ("version" = u64, Path, minimum = 1), ("X-Vitrine-Actor" = Option<String>, Header, description = "Who makes the change, for the settings history (default `admin`).")),
    responses((status = OK, body = IndexSettings), (status = NOT_FOUND, description = "`settings_version_not_found`."), (status = BAD_REQUEST, description = "`invalid_settings`: its rules no longer fit the index."), (status = CONFLICT, description = "`language_change_requires_reindex`: it had another language, and the index holds products.")))]
pub async fn restore(
    State(state): State<AppState>,
    path: Result<Path<(String, u64)>, PathRejection>,
    ChangeAuthor(actor): ChangeAuthor,
) -> Result<Json<IndexSettings>, ApiError> {
    // A version that is not a number is named in the answer (axum's own rejection says only
    // "Bad Request").
    let Path((index, version)) = path?;
    let name = IndexName::new(index)?;
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
#[utoipa::path(get, path = "/v1/indexes/{index}/settings", operation_id = "getSettings", tag = "settings", params(("index" = IndexName, Path)),
    responses((status = OK, body = IndexSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<Json<IndexSettings>, ApiError> {
    Ok(Json(current(state, index).await?))
}

/// `PUT /v1/indexes/{index}/settings`: replaces the whole settings (creating the index if
/// needed); missing parts take their defaults.
#[utoipa::path(put, path = "/v1/indexes/{index}/settings", operation_id = "putSettings", tag = "settings", params(("index" = IndexName, Path), ("X-Vitrine-Actor" = Option<String>, Header, description = "Who makes the change, for the settings history (default `admin`).")), request_body = IndexSettings,
    responses((status = OK, body = IndexSettings), (status = BAD_REQUEST, description = "`invalid_settings`."), (status = CONFLICT, description = "`language_change_requires_reindex`: the language of an index holding products.")))]
pub async fn put_settings(
    State(state): State<AppState>,
    Path(index): Path<String>,
    ChangeAuthor(actor): ChangeAuthor,
    body: Result<ApiJson<IndexSettings>, ApiError>,
) -> Result<Json<IndexSettings>, ApiError> {
    let ApiJson(settings) = body.map_err(|error| match error.code {
        ErrorCode::MalformedPayload => invalid(error.message),
        _ => error,
    })?;
    Ok(Json(update(state, index, Missing::Create, actor, move |_| Ok(settings)).await?))
}

/// `DELETE /v1/indexes/{index}/settings`: every part back to its default.
#[utoipa::path(delete, path = "/v1/indexes/{index}/settings", operation_id = "resetSettings", tag = "settings", params(("index" = IndexName, Path), ("X-Vitrine-Actor" = Option<String>, Header, description = "Who makes the change, for the settings history (default `admin`).")),
    responses((status = OK, body = IndexSettings), (status = CONFLICT, description = "`language_change_requires_reindex`: the index holds products analysed in another language than the default.")))]
pub async fn reset_settings(
    State(state): State<AppState>,
    Path(index): Path<String>,
    ChangeAuthor(actor): ChangeAuthor,
) -> Result<Json<IndexSettings>, ApiError> {
    Ok(Json(update(state, index, Missing::NotFound, actor, |_| Ok(IndexSettings::default())).await?))
}

/// `GET /v1/indexes/{index}/settings/{part}`.
#[utoipa::path(get, path = "/v1/indexes/{index}/settings/{part}", operation_id = "getSettingsPart", tag = "settings", params(("index" = IndexName, Path), ("part" = inline(SettingsPart), Path)),
    responses((status = OK, description = "The part, as in the whole settings document.", body = Value)))]
pub async fn get_part(
    State(state): State<AppState>,
    Path((index, part)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let part = known_part(&part)?;
    Ok(Json(part_of(&current(state, index).await?, part)?))
}

/// `PUT /v1/indexes/{index}/settings/{part}`: replaces one part, keeping the others.
#[utoipa::path(put, path = "/v1/indexes/{index}/settings/{part}", operation_id = "putSettingsPart", tag = "settings", params(("index" = IndexName, Path), ("part" = inline(SettingsPart), Path), ("X-Vitrine-Actor" = Option<String>, Header, description = "Who makes the change, for the settings history (default `admin`).")), request_body(content = Value, description = "The part's new value, as in the whole settings document."),
    responses((status = OK, description = "The part as saved.", body = Value), (status = BAD_REQUEST, description = "`invalid_settings`."), (status = CONFLICT, description = "`language_change_requires_reindex`: the language of an index holding products.")))]
pub async fn put_part(
    State(state): State<AppState>,
    Path((index, part)): Path<(String, String)>,
    ChangeAuthor(actor): ChangeAuthor,
    body: Result<ApiJson<Value>, ApiError>,
) -> Result<Json<Value>, ApiError> {
    let part = known_part(&part)?;
    let ApiJson(value) = body.map_err(|error| match error.code {
        ErrorCode::MalformedPayload => invalid(error.message),
        _ => error,
    })?;
    let settings =
        update(state, index, Missing::Create, actor, move |settings| with_part(&settings, part, value)).await?;
    Ok(Json(part_of(&settings, part)?))
}

/// `DELETE /v1/indexes/{index}/settings/{part}`: one part back to its default.
#[utoipa::path(delete, path = "/v1/indexes/{index}/settings/{part}", operation_id = "resetSettingsPart", tag = "settings", params(("index" = IndexName, Path), ("part" = inline(SettingsPart), Path), ("X-Vitrine-Actor" = Option<String>, Header, description = "Who makes the change, for the settings history (default `admin`).")),
    responses((status = OK, description = "The part, back to its default.", body = Value), (status = CONFLICT, description = "`language_change_requires_reindex`: the index holds products analysed in another language than the default.")))]
pub async fn reset_part(
    State(state): State<AppState>,
    Path((index, part)): Path<(String, String)>,
    ChangeAuthor(actor): ChangeAuthor,
) -> Result<Json<Value>, ApiError> {
    let part = known_part(&part)?;
    let default = part_of(&IndexSettings::default(), part)?;
    let settings =
        update(state, index, Missing::NotFound, actor, move |settings| with_part(&settings, part, default)).await?;
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
}
