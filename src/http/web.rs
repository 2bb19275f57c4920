//! The front end, compiled into the binary from `web/` (no build step): the storefront plug-in
//! (`/plugin/vitrine.js`), the demo storefront built from it (`/`) and the merchandiser console
//! (`/console`, a static page that asks for the admin key and calls the admin API).
//!
//! Every file is sent with `X-Content-Type-Options: nosniff`. The console holds an admin key, so
//! its page and script also get a Content-Security-Policy ([`CONSOLE_CSP`]: scripts from this
//! origin only, never inline; calls to this origin only; no framing) and `X-Frame-Options: DENY`
//! and `Referrer-Policy: no-referrer` for browsers that predate CSP's `frame-ancestors`. The
//! storefront is a demo page meant to be copied (its inline script reads the page's query
//! string), so it gets no CSP of ours.

use axum::extract::State;
use axum::http::HeaderName;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::{Html, IntoResponse};

use super::state::AppState;

/// The console's Content-Security-Policy. `web/console/` has one external script and no inline
/// script or event-handler attribute, and calls only its own origin's API; its page and the
/// markup its script builds use `style` attributes and one `<style>` block, hence
/// `'unsafe-inline'` for styles alone (styles cannot run code). The favicon is a `data:` URL.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Every front-end file: the browser takes the declared content type, never a guess.
const NO_SNIFF: (HeaderName, &str) = (X_CONTENT_TYPE_OPTIONS, "nosniff");

/// The console's page and script: [`CONSOLE_CSP`], no framing, no referrer, no sniffing.
const CONSOLE_HEADERS: [(HeaderName, &str); 4] =
    [(CONTENT_SECURITY_POLICY, CONSOLE_CSP), (X_FRAME_OPTIONS, "DENY"), (REFERRER_POLICY, "no-referrer"), NO_SNIFF];

/// `GET /plugin/vitrine.js`: the storefront plug-in, one script.
#[utoipa::path(get, path = "/plugin/vitrine.js", operation_id = "pluginScript", tag = "pages", responses(
    (status = OK, description = "The plug-in's script.", content_type = "text/javascript", body = String),
))]
pub async fn plugin_script() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "public, max-age=300"), NO_SNIFF],
        include_str!("../../web/plugin/vitrine.js"),
    )
}

/// `GET /`: the demo storefront, built only from the plug-in. With keys configured, the page
/// carries the search key (public by design: it may search, record events and shop as a guest,
/// nothing else) in `<meta name="vitrine-search-key">`, where the plug-in finds it.
#[utoipa::path(get, path = "/", operation_id = "storefrontPage", tag = "pages", responses(
    (status = OK, description = "The demo storefront page.", content_type = "text/html", body = String),
))]
pub async fn storefront(State(state): State<AppState>) -> impl IntoResponse {
    let page = include_str!("../../web/storefront/index.html");
    let Some(key) = &state.config.keys.search else { return ([NO_SNIFF], Html(page.to_owned())) };
    let meta = format!(r#"<meta name="vitrine-search-key" content="{}">"#, escape_attribute(key));
    ([NO_SNIFF], Html(page.replacen("<head>", &format!("<head>\n  {meta}"), 1)))
}

/// `GET /docs`: the API reference, rendered in the browser from `/openapi.json` by a script of
/// its own (no CDN: it works offline); the console's headers (it calls nothing but its origin).
#[utoipa::path(get, path = "/docs", operation_id = "apiReferencePage", tag = "pages", responses(
    (status = OK, description = "The API reference page.", content_type = "text/html", body = String),
))]
pub async fn api_reference() -> impl IntoResponse {
    (CONSOLE_HEADERS, Html(include_str!("../../web/docs/index.html")))
}

/// `GET /docs/docs.js`: the API reference's script.
#[utoipa::path(get, path = "/docs/docs.js", operation_id = "apiReferenceScript", tag = "pages", responses(
    (status = OK, description = "The API reference's script.", content_type = "text/javascript", body = String),
))]
pub async fn api_reference_script() -> impl IntoResponse {
    (
        CONSOLE_HEADERS,
        [(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "no-cache")],
        include_str!("../../web/docs/docs.js"),
    )
}

/// Text safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `GET /console`: the console's page. It holds no data: everything comes from the admin API,
/// with the key the merchandiser types in.
#[utoipa::path(get, path = "/console", operation_id = "consolePage", tag = "pages", responses(
    (status = OK, description = "The merchandiser console's page.", content_type = "text/html", body = String),
))]
pub async fn console_page() -> impl IntoResponse {
    (CONSOLE_HEADERS, Html(include_str!("../../web/console/index.html")))
}

/// `GET /console/console.js`: the console's script (no build step, like the plug-in).
#[utoipa::path(get, path = "/console/console.js", operation_id = "consoleScript", tag = "pages", responses(
    (status = OK, description = "The console's script.", content_type = "text/javascript", body = String),
))]
pub async fn console_script() -> impl IntoResponse {
    (
        CONSOLE_HEADERS,
        [(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "no-cache")],
        include_str!("../../web/console/console.js"),
    )
}
