//! What the HTTP end-to-end tests share: a server over a fresh data directory, driven through
//! `app()` without a socket, and its answers.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vitrine::analytics::Analytics;
use vitrine::config::{ApiKeys, ServerConfig};
use vitrine::{AppState, app};
use vitrine_indexer::Catalog;
use vitrine_models::DataDir;

/// The admin key of keyed test servers.
pub const ADMIN: &str = "admin-key-for-tests";
/// The search key of keyed test servers.
pub const SEARCH: &str = "search-key-for-tests";

/// Both keys set.
pub fn both_keys() -> ApiKeys {
    ApiKeys { admin: Some(ADMIN.into()), search: Some(SEARCH.into()) }
}

/// A server over a fresh data directory.
pub struct Server {
    pub router: Router,
    pub state: AppState,
    _data: Option<tempfile::TempDir>,
}

/// An answer: status, headers and body text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text))
    }

    /// The status and the JSON body (`null` when empty).
    pub fn parts(&self) -> (StatusCode, Value) {
        (self.status, if self.text.is_empty() { Value::Null } else { self.json() })
    }

    /// Asserts the uniform error shape and returns the code.
    pub fn error_code(&self) -> String {
        let body = self.json();
        let object = body.as_object().unwrap_or_else(|| panic!("error body is not an object: {body}"));
        assert!(object.get("message").and_then(Value::as_str).is_some_and(|m| !m.is_empty()), "message: {body}");
        assert!(object.get("type").is_some_and(Value::is_string), "type: {body}");
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "error bodies are JSON"
        );
        object.get("code").and_then(Value::as_str).unwrap_or_else(|| panic!("no code: {body}")).to_owned()
    }
}

/// A request with an optional key and an optional JSON body.
pub fn request(method: Method, uri: &str, key: Option<&str>, body: Option<&str>) -> Request<Body> {
    request_as(method, uri, key, body.map(|body| ("application/json", body.to_owned())))
}

/// A request with an optional key and an optional body of the given content type.
pub fn request_as(method: Method, uri: &str, key: Option<&str>, body: Option<(&str, String)>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    match body {
        Some((content_type, body)) => builder.header(header::CONTENT_TYPE, content_type).body(Body::from(body)),
        None => builder.body(Body::empty()),
    }
    .expect("request")
}

impl Server {
    /// A server with the configuration `configure` leaves (analytics opened on first use).
    pub fn with(configure: impl FnOnce(&mut ServerConfig)) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::default();
        configure(&mut config);
        let state = AppState::new(config, Catalog::new(DataDir::new(data.path())));
        Server { router: app(state.clone()), state, _data: Some(data) }
    }

    /// A server without keys over `catalog` (a replica's: its indexer writes, the server reads).
    pub fn over(catalog: Catalog) -> Server {
        let state = AppState::new(ServerConfig::default(), catalog);
        Server { router: app(state.clone()), state, _data: None }
    }

    /// A server without keys.
    pub fn open() -> Server {
        Server::with(|_| {})
    }

    /// A server with both keys.
    pub fn keyed() -> Server {
        Server::with(|config| config.keys = both_keys())
    }

    /// A server with these keys and its analytics opened first, as `vitrine serve` does.
    pub async fn with_analytics(keys: ApiKeys) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        let data_dir = DataDir::new(data.path());
        let analytics = Analytics::open(&data_dir.analytics_db()).await.expect("open analytics");
        let config = ServerConfig { keys, ..ServerConfig::default() };
        let state = AppState::with_analytics(config, Catalog::new(data_dir), analytics);
        Server { router: app(state.clone()), state, _data: Some(data) }
    }

    /// Sends a request.
    pub async fn call(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.expect("infallible router");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Answer { status, headers, text: String::from_utf8(bytes.to_vec()).expect("utf-8 body") }
    }

    /// Sends a request with an optional JSON body text.
    pub async fn send(&self, method: Method, uri: &str, key: Option<&str>, body: Option<&str>) -> Answer {
        self.call(request(method, uri, key, body)).await
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str, key: Option<&str>) -> Answer {
        self.send(Method::GET, uri, key, None).await
    }

    /// `POST uri` with a JSON body.
    pub async fn post(&self, uri: &str, key: Option<&str>, body: &Value) -> Answer {
        self.send(Method::POST, uri, key, Some(&body.to_string())).await
    }

    /// `PUT uri` with a JSON body.
    pub async fn put(&self, uri: &str, key: Option<&str>, body: &Value) -> Answer {
        self.send(Method::PUT, uri, key, Some(&body.to_string())).await
    }
}
