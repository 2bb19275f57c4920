//! Every error the API returns, with its stable code and its one HTTP status, decided here.
//!
//! Clients get `{"message", "code", "type"}`. `code` is stable (clients may match on it), `type`
//! groups codes (`invalid_request`, `auth`, `system`, `internal`), `message` is for people and
//! may change. Internal errors are logged once, here, and never leak their details.
//!
//! Every engine crate's error is mapped to a code in this file alone (`From` impls below), by
//! its variant — never by matching message text. Errors raised below the handlers (timeouts,
//! body limits, unknown routes and methods) get the same shape from [`json_error_bodies`],
//! [`route_not_found`] and [`method_not_allowed`].

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vitrine_commerce::{CheckoutFailure, CommerceError};
use vitrine_indexer::CatalogError;
use vitrine_recommender::bundle::StoreError;
use vitrine_recommender::serve::RecommendError;

/// The stable error codes. Adding one is fine; renaming one breaks clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No route has this path.
    RouteNotFound,
    /// The route exists, but not for this method.
    MethodNotAllowed,
    /// The body is not valid JSON, or not of the expected shape.
    MalformedPayload,
    /// The body is not declared as JSON.
    InvalidContentType,
    /// The body is larger than the configured limit.
    PayloadTooLarge,
    /// A path or query parameter is not valid.
    InvalidParameter,
    /// The index name is not valid.
    InvalidIndexName,
    /// No index has this name.
    IndexNotFound,
    /// A document (product) in a request is not valid.
    InvalidDocument,
    /// No document has this id.
    DocumentNotFound,
    /// A shopper event in a request is not valid.
    InvalidEvent,
    /// The search filter is malformed.
    InvalidFilter,
    /// A filter or facet names an unknown field.
    UnknownField,
    /// A facet whose values cannot be searched (facet-value search covers the brand and the
    /// facetable attributes).
    FacetNotSearchable,
    /// The sort order is unknown.
    InvalidSort,
    /// `page` or `per_page` is out of range.
    InvalidPagination,
    /// The query is too long.
    QueryTooLong,
    /// More distinct facets than one search counts.
    TooManyFacets,
    /// More filter values than one request may hold.
    TooManyFilterValues,
    /// The settings are not valid.
    InvalidSettings,
    /// The settings (or a draft of them) change the language of an index's text (`language`,
    /// `field_languages`) while it holds products, which were analysed in the old one: reindex
    /// into a new index created with the new language.
    LanguageChangeRequiresReindex,
    /// A recommendation request lacks what its kind needs, or has an unknown kind.
    InvalidRecommendationRequest,
    /// The index has no trained recommendation model yet (`vitrine train`).
    ModelNotTrained,
    /// No model version with that id.
    ModelVersionNotFound,
    /// No such cart.
    CartNotFound,
    /// The cart token (`X-Cart-Token`) is missing or not the cart's.
    InvalidCartToken,
    /// The cart was merged or ordered.
    CartClosed,
    /// Commerce has no SKU for the product.
    ProductNotForSale,
    /// A quantity, price, stock or payment field out of range, or an empty cart.
    InvalidCommerceRequest,
    /// Not enough units available.
    OutOfStock,
    /// With stock held from add-to-cart, the cart would hold more units than the shop allows
    /// (of one product, or in all).
    HoldLimitExceeded,
    /// A checkout of the cart is already running.
    CheckoutInProgress,
    /// The card was declined (the message names the reason).
    PaymentDeclined,
    /// The cart's coupon has no use left.
    CouponExhausted,
    /// No saved settings version with that number.
    SettingsVersionNotFound,
    /// A judgments file (to evaluate a settings draft on) is not valid.
    InvalidJudgments,
    /// An experiment definition is not valid (variants, weights, drafts, model versions).
    InvalidExperiment,
    /// No experiment with this id on this index.
    ExperimentNotFound,
    /// Another experiment already runs on this index and surface.
    ExperimentAlreadyRunning,
    /// The experiment cannot do that in its state (stop a stopped one, promote twice).
    InvalidExperimentState,
    /// A snapshot of the data directory is already being made (by the server, its schedule or
    /// `vitrine snapshot create`).
    SnapshotInProgress,
    /// An alias name that is not a valid index name, or an alias of an alias.
    InvalidAlias,
    /// No alias has this name.
    AliasNotFound,
    /// The name is taken: an alias cannot have an index's name, nor an index an alias's.
    AliasConflict,
    /// The payment gateway failed; nothing was charged.
    PaymentGatewayError,
    /// No such order.
    OrderNotFound,
    /// The order cannot do that in its state.
    InvalidOrderState,
    /// A request with this `Idempotency-Key` is still running.
    IdempotencyKeyInUse,
    /// The `Idempotency-Key` was used with other parameters.
    IdempotencyKeyReused,
    /// The `Idempotency-Key` is not 1–255 printable ASCII characters.
    InvalidIdempotencyKey,
    /// A checkout sent card data (a card number, a CVC): only a payment method the provider
    /// tokenised in the browser is accepted.
    CardDataRefused,
    /// The payment method is not a provider token (`pm_…`).
    InvalidPaymentMethod,
    /// Another change of the order is under way; retry.
    OrderBusy,
    /// No such checkout.
    CheckoutNotFound,
    /// A money amount or stock figure that is not one: negative, zero where it must be
    /// positive, or finer than the currency's minor unit (`0.004` GBP).
    InvalidAmount,
    /// A currency that is not an ISO 4217 code in use, or not the product's.
    InvalidCurrency,
    /// An amount above what the shop takes (a price or a checkout total above 99,999,999
    /// minor units, the payment providers' limit).
    AmountTooLarge,
    /// A payment webhook whose signature is missing, wrong or outside the tolerance window.
    InvalidWebhookSignature,
    /// No `Authorization: Bearer` header, and the server has keys.
    MissingAuthorizationHeader,
    /// The key is not one of the server's keys.
    InvalidApiKey,
    /// The key is valid but may not call this endpoint (a search key on an admin route), reach
    /// this index, or name a shopper in the body.
    ForbiddenForKey,
    /// The key's `expires_at` has passed.
    ApiKeyExpired,
    /// The key was deleted.
    ApiKeyRevoked,
    /// The shopper token does not verify (signature, shape, signing key).
    InvalidShopperToken,
    /// The shopper token is past its `exp`.
    ShopperTokenExpired,
    /// A body names another shopper than the shopper token's.
    UserMismatch,
    /// No API key with this id.
    ApiKeyNotFound,
    /// A request over its rate limit (`Retry-After` says when to retry).
    TooManyRequests,
    /// The request took longer than the configured timeout.
    RequestTimeout,
    /// The server is not ready to serve (still loading).
    NotReady,
    /// Something failed inside the server; the details are in its log.
    Internal,
}

/// The `type` field: which family an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// The request is wrong; fix the request.
    InvalidRequest,
    /// The request is not authorised; fix the key.
    Auth,
    /// The server could not serve it now (timeout, not ready); try again.
    System,
    /// A bug or an internal failure.
    Internal,
}

impl ErrorCode {
    /// Every code (the OpenAPI document lists them; a test checks they are unique).
    pub const ALL: [ErrorCode; 71] = [
        ErrorCode::RouteNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::MalformedPayload,
        ErrorCode::InvalidContentType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::InvalidParameter,
        ErrorCode::InvalidIndexName,
        ErrorCode::IndexNotFound,
        ErrorCode::InvalidDocument,
        ErrorCode::DocumentNotFound,
        ErrorCode::InvalidEvent,
        ErrorCode::InvalidFilter,
        ErrorCode::UnknownField,
        ErrorCode::FacetNotSearchable,
        ErrorCode::InvalidSort,
        ErrorCode::InvalidPagination,
        ErrorCode::QueryTooLong,
        ErrorCode::TooManyFacets,
        ErrorCode::TooManyFilterValues,
        ErrorCode::InvalidSettings,
        ErrorCode::LanguageChangeRequiresReindex,
        ErrorCode::InvalidRecommendationRequest,
        ErrorCode::ModelNotTrained,
        ErrorCode::ModelVersionNotFound,
        ErrorCode::CartNotFound,
        ErrorCode::InvalidCartToken,
        ErrorCode::CartClosed,
        ErrorCode::ProductNotForSale,
        ErrorCode::InvalidCommerceRequest,
        ErrorCode::OutOfStock,
        ErrorCode::HoldLimitExceeded,
        ErrorCode::CheckoutInProgress,
        ErrorCode::PaymentDeclined,
        ErrorCode::CouponExhausted,
        ErrorCode::SettingsVersionNotFound,
        ErrorCode::InvalidJudgments,
        ErrorCode::InvalidExperiment,
        ErrorCode::ExperimentNotFound,
        ErrorCode::ExperimentAlreadyRunning,
        ErrorCode::InvalidExperimentState,
        ErrorCode::SnapshotInProgress,
        ErrorCode::InvalidAlias,
        ErrorCode::AliasNotFound,
        ErrorCode::AliasConflict,
        ErrorCode::PaymentGatewayError,
        ErrorCode::OrderNotFound,
        ErrorCode::InvalidOrderState,
        ErrorCode::IdempotencyKeyInUse,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::InvalidIdempotencyKey,
        ErrorCode::CardDataRefused,
        ErrorCode::InvalidPaymentMethod,
        ErrorCode::OrderBusy,
        ErrorCode::CheckoutNotFound,
        ErrorCode::InvalidAmount,
        ErrorCode::InvalidCurrency,
        ErrorCode::AmountTooLarge,
        ErrorCode::InvalidWebhookSignature,
        ErrorCode::MissingAuthorizationHeader,
        ErrorCode::InvalidApiKey,
        ErrorCode::ForbiddenForKey,
        ErrorCode::ApiKeyExpired,
        ErrorCode::ApiKeyRevoked,
        ErrorCode::InvalidShopperToken,
        ErrorCode::ShopperTokenExpired,
        ErrorCode::UserMismatch,
        ErrorCode::ApiKeyNotFound,
        ErrorCode::TooManyRequests,
        ErrorCode::RequestTimeout,
        ErrorCode::NotReady,
        ErrorCode::Internal,
    ];

    /// The table: each code's name, HTTP status and type.
    pub fn describe(self) -> (&'static str, StatusCode, ErrorType) {
        use ErrorType::*;
        match self {
            ErrorCode::RouteNotFound => ("route_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED, InvalidRequest),
            ErrorCode::MalformedPayload => ("malformed_payload", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidContentType => {
                ("invalid_content_type", StatusCode::UNSUPPORTED_MEDIA_TYPE, InvalidRequest)
            }
            ErrorCode::PayloadTooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE, InvalidRequest),
            ErrorCode::InvalidParameter => ("invalid_parameter", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidIndexName => ("invalid_index_name", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::IndexNotFound => ("index_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::InvalidDocument => ("invalid_document", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::DocumentNotFound => ("document_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::InvalidEvent => ("invalid_event", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidFilter => ("invalid_filter", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::UnknownField => ("unknown_field", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::FacetNotSearchable => ("facet_not_searchable", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidSort => ("invalid_sort", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidPagination => ("invalid_pagination", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::QueryTooLong => ("query_too_long", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::TooManyFacets => ("too_many_facets", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::TooManyFilterValues => ("too_many_filter_values", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidSettings => ("invalid_settings", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::LanguageChangeRequiresReindex => {
                ("language_change_requires_reindex", StatusCode::CONFLICT, InvalidRequest)
            }
            ErrorCode::InvalidRecommendationRequest => {
                ("invalid_recommendation_request", StatusCode::BAD_REQUEST, InvalidRequest)
            }
            ErrorCode::ModelNotTrained => ("model_not_trained", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::ModelVersionNotFound => ("model_version_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::CartNotFound => ("cart_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::InvalidCartToken => ("invalid_cart_token", StatusCode::FORBIDDEN, InvalidRequest),
            ErrorCode::CartClosed => ("cart_closed", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::ProductNotForSale => ("product_not_for_sale", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::InvalidCommerceRequest => ("invalid_commerce_request", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::OutOfStock => ("out_of_stock", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::HoldLimitExceeded => ("hold_limit_exceeded", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::CheckoutInProgress => ("checkout_in_progress", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::PaymentDeclined => ("payment_declined", StatusCode::PAYMENT_REQUIRED, InvalidRequest),
            ErrorCode::CouponExhausted => ("coupon_exhausted", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::SettingsVersionNotFound => ("settings_version_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::InvalidJudgments => ("invalid_judgments", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidExperiment => ("invalid_experiment", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::ExperimentNotFound => ("experiment_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::ExperimentAlreadyRunning => ("experiment_already_running", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::InvalidExperimentState => ("invalid_experiment_state", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::SnapshotInProgress => ("snapshot_in_progress", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::InvalidAlias => ("invalid_alias", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::AliasNotFound => ("alias_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::AliasConflict => ("alias_conflict", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::PaymentGatewayError => ("payment_gateway_error", StatusCode::BAD_GATEWAY, InvalidRequest),
            ErrorCode::OrderNotFound => ("order_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::InvalidOrderState => ("invalid_order_state", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::IdempotencyKeyInUse => ("idempotency_key_in_use", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::IdempotencyKeyReused => {
                ("idempotency_key_reused", StatusCode::UNPROCESSABLE_ENTITY, InvalidRequest)
            }
            ErrorCode::InvalidIdempotencyKey => ("invalid_idempotency_key", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::CardDataRefused => ("card_data_refused", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidPaymentMethod => ("invalid_payment_method", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::OrderBusy => ("order_busy", StatusCode::CONFLICT, InvalidRequest),
            ErrorCode::CheckoutNotFound => ("checkout_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::InvalidAmount => ("invalid_amount", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidCurrency => ("invalid_currency", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::AmountTooLarge => ("amount_too_large", StatusCode::BAD_REQUEST, InvalidRequest),
            ErrorCode::InvalidWebhookSignature => {
                ("invalid_webhook_signature", StatusCode::BAD_REQUEST, InvalidRequest)
            }
            ErrorCode::MissingAuthorizationHeader => ("missing_authorization_header", StatusCode::UNAUTHORIZED, Auth),
            ErrorCode::InvalidApiKey => ("invalid_api_key", StatusCode::FORBIDDEN, Auth),
            ErrorCode::ForbiddenForKey => ("forbidden_for_key", StatusCode::FORBIDDEN, Auth),
            ErrorCode::ApiKeyExpired => ("api_key_expired", StatusCode::UNAUTHORIZED, Auth),
            ErrorCode::ApiKeyRevoked => ("api_key_revoked", StatusCode::UNAUTHORIZED, Auth),
            ErrorCode::InvalidShopperToken => ("invalid_shopper_token", StatusCode::UNAUTHORIZED, Auth),
            ErrorCode::ShopperTokenExpired => ("shopper_token_expired", StatusCode::UNAUTHORIZED, Auth),
            ErrorCode::UserMismatch => ("user_mismatch", StatusCode::FORBIDDEN, Auth),
            ErrorCode::ApiKeyNotFound => ("api_key_not_found", StatusCode::NOT_FOUND, InvalidRequest),
            ErrorCode::TooManyRequests => ("too_many_requests", StatusCode::TOO_MANY_REQUESTS, System),
            ErrorCode::RequestTimeout => ("request_timeout", StatusCode::REQUEST_TIMEOUT, System),
            ErrorCode::NotReady => ("not_ready", StatusCode::SERVICE_UNAVAILABLE, System),
            ErrorCode::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR, Internal),
        }
    }

    /// The code for an error status that a layer below our handlers produced (tower-http's
    /// timeout and body limit, axum's 405), so that those answers get our shape too.
    pub fn for_bare_status(status: StatusCode) -> ErrorCode {
        match status {
            StatusCode::NOT_FOUND => ErrorCode::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::InvalidContentType,
            StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::TooManyRequests,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::NotReady,
            status if status.is_client_error() => ErrorCode::InvalidParameter,
            _ => ErrorCode::Internal,
        }
    }
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// Its code.
    pub code: ErrorCode,
    /// What the client is told.
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    code: &'static str,
    #[serde(rename = "type")]
    kind: ErrorType,
}

impl ApiError {
    /// An error with a message for the client.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }

    /// An internal failure: logged here with its details, answered with a generic message.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        ApiError::new(ErrorCode::Internal, "an internal error occurred; the server log has the details")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status, kind) = self.code.describe();
        (status, Json(ErrorBody { message: &self.message, code, kind })).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match &rejection {
            JsonRejection::MissingJsonContentType(_) => ErrorCode::InvalidContentType,
            JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ErrorCode::PayloadTooLarge
            }
            _ => ErrorCode::MalformedPayload,
        };
        ApiError::new(code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(ErrorCode::InvalidParameter, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(ErrorCode::InvalidParameter, rejection.body_text())
    }
}

impl From<vitrine_models::ValidationError> for ApiError {
    fn from(error: vitrine_models::ValidationError) -> Self {
        let code = match error.field() {
            "index" => ErrorCode::InvalidIndexName,
            _ => ErrorCode::InvalidParameter,
        };
        ApiError::new(code, error.to_string())
    }
}

impl From<vitrine_query::QueryError> for ApiError {
    fn from(error: vitrine_query::QueryError) -> Self {
        use vitrine_query::QueryError;
        let code = match &error {
            QueryError::InvalidFilter(_) => ErrorCode::InvalidFilter,
            QueryError::UnknownField(_) => ErrorCode::UnknownField,
            QueryError::FacetNotSearchable(_) => ErrorCode::FacetNotSearchable,
            QueryError::InvalidSort(_) => ErrorCode::InvalidSort,
            QueryError::InvalidPagination(_) => ErrorCode::InvalidPagination,
            QueryError::QueryTooLong { .. } => ErrorCode::QueryTooLong,
            QueryError::TooManyFacets { .. } => ErrorCode::TooManyFacets,
            QueryError::TooManyFilterValues { .. } => ErrorCode::TooManyFilterValues,
            // Nobody reads this answer: the request is gone.
            QueryError::Abandoned => ErrorCode::RequestTimeout,
            QueryError::Engine(_) => return ApiError::internal(error),
        };
        ApiError::new(code, error.to_string())
    }
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::IndexNotFound(name) => {
                ApiError::new(ErrorCode::IndexNotFound, format!("index `{name}` not found"))
            }
            CatalogError::InvalidSettings(reason) => ApiError::new(ErrorCode::InvalidSettings, reason),
            CatalogError::LanguageChangeRequiresReindex(reason) => {
                ApiError::new(ErrorCode::LanguageChangeRequiresReindex, reason)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UnknownVersion(id) => {
                ApiError::new(ErrorCode::ModelVersionNotFound, format!("no model version `{id}`"))
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<RecommendError> for ApiError {
    fn from(error: RecommendError) -> Self {
        match error {
            RecommendError::MissingField { .. } => {
                ApiError::new(ErrorCode::InvalidRecommendationRequest, error.to_string())
            }
        }
    }
}

impl From<crate::analytics::AnalyticsError> for ApiError {
    fn from(error: crate::analytics::AnalyticsError) -> Self {
        ApiError::internal(error)
    }
}

impl From<crate::snapshots::SnapshotError> for ApiError {
    fn from(error: crate::snapshots::SnapshotError) -> Self {
        match error {
            crate::snapshots::SnapshotError::InProgress => {
                ApiError::new(ErrorCode::SnapshotInProgress, error.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<vitrine_pipelines::PipelineError> for ApiError {
    fn from(error: vitrine_pipelines::PipelineError) -> Self {
        ApiError::internal(error)
    }
}

impl From<crate::access::AccessError> for ApiError {
    fn from(error: crate::access::AccessError) -> Self {
        use crate::access::AccessError;
        let code = match &error {
            AccessError::Missing => ErrorCode::MissingAuthorizationHeader,
            AccessError::InvalidKey => ErrorCode::InvalidApiKey,
            AccessError::Revoked(_) => ErrorCode::ApiKeyRevoked,
            AccessError::Expired(_) => ErrorCode::ApiKeyExpired,
            AccessError::InvalidToken(_) => ErrorCode::InvalidShopperToken,
            AccessError::TokenExpired => ErrorCode::ShopperTokenExpired,
            AccessError::Store(_) => return ApiError::internal(error),
        };
        ApiError::new(code, error.to_string())
    }
}

impl From<CommerceError> for ApiError {
    fn from(error: CommerceError) -> Self {
        let code = match &error {
            CommerceError::OutOfStock { .. } => ErrorCode::OutOfStock,
            CommerceError::HoldLimitExceeded { .. } => ErrorCode::HoldLimitExceeded,
            CommerceError::UnknownProduct(_) => ErrorCode::ProductNotForSale,
            CommerceError::CartNotFound(_) => ErrorCode::CartNotFound,
            CommerceError::CartClosed(_) => ErrorCode::CartClosed,
            CommerceError::OrderNotFound(_) => ErrorCode::OrderNotFound,
            CommerceError::OrderState(_) => ErrorCode::InvalidOrderState,
            CommerceError::OrderBusy(_) | CommerceError::Moved(_) => ErrorCode::OrderBusy,
            CommerceError::CheckoutNotFound(_) => ErrorCode::CheckoutNotFound,
            CommerceError::CheckoutInProgress(_) => ErrorCode::CheckoutInProgress,
            CommerceError::CheckoutFailed { failure, .. } => match failure {
                CheckoutFailure::OutOfStock { .. } => ErrorCode::OutOfStock,
                CheckoutFailure::CouponExhausted => ErrorCode::CouponExhausted,
                CheckoutFailure::PaymentError | CheckoutFailure::PaymentTimeout => ErrorCode::PaymentGatewayError,
                CheckoutFailure::Declined(_)
                | CheckoutFailure::Interrupted
                | CheckoutFailure::AuthenticationAbandoned => ErrorCode::PaymentDeclined,
            },
            CommerceError::Invalid(_) => ErrorCode::InvalidCommerceRequest,
            CommerceError::InvalidAmount(_) => ErrorCode::InvalidAmount,
            CommerceError::InvalidCurrency(_) => ErrorCode::InvalidCurrency,
            CommerceError::AmountTooLarge(_) => ErrorCode::AmountTooLarge,
            CommerceError::Payment(_) => ErrorCode::PaymentGatewayError,
            CommerceError::UnsupportedDatabase(_)
            | CommerceError::Database(_)
            | CommerceError::Migration(_)
            | CommerceError::Json(_) => return ApiError::internal(error),
        };
        ApiError::new(code, error.to_string())
    }
}

/// Any path no route has.
pub async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, format!("no route for `{}`", uri.path()))
}

/// A known path with a method it does not have.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("`{}` does not accept {method}", uri.path()))
}

/// Gives error answers made below our handlers (the timeout and body-limit layers, axum's
/// rejections without our extractor) the `{message, code, type}` body every client expects.
pub async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = ErrorCode::for_bare_status(status);
    let message = match code {
        ErrorCode::RequestTimeout => "the request took longer than the server's timeout".to_owned(),
        ErrorCode::PayloadTooLarge => "the request body is larger than the server's limit".to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut answer = ApiError::new(code, message).into_response();
    // Keep the status the layer chose (a 4xx we have no finer code for keeps its number).
    *answer.status_mut() = status;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let all = ErrorCode::ALL;
        let mut names: Vec<_> = all.iter().map(|code| code.describe().0).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for code in all {
            let (_, status, _) = code.describe();
            assert!(status.is_client_error() || status.is_server_error(), "{code:?}");
        }
    }
}
