//! The front end, compiled into the binary from `web/` (no build step): the storefront plug-in
//! (`/plugin/vitrine.js`), the demo storefront built from it (`/`) and the merchandiser console
//! (`/console`, a static page that asks for the admin key and calls the admin API).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse};

use super::state::AppState;

/// `GET /plugin/vitrine.js`: the storefront plug-in, one script.
pub async fn plugin_script() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "public, max-age=300")],
        include_str!("../../web/plugin/vitrine.js"),
    )
}

/// `GET /`: the demo storefront, built only from the plug-in. With keys configured, the page
/// carries the search key (public by design: it may search, record events and shop as a guest,
/// nothing else) in `<meta name="vitrine-search-key">`, where the plug-in finds it.
pub async fn storefront(State(state): State<AppState>) -> Html<String> {
    let page = include_str!("../../web/storefront/index.html");
    let Some(key) = &state.config.keys.search else { return Html(page.to_owned()) };
    let meta = format!(r#"<meta name="vitrine-search-key" content="{}">"#, escape_attribute(key));
    Html(page.replacen("<head>", &format!("<head>\n  {meta}"), 1))
}

/// Text safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `GET /console`: the console's page. It holds no data: everything comes from the admin API,
/// with the key the merchandiser types in.
pub async fn console_page() -> Html<&'static str> {
    Html(include_str!("../../web/console/index.html"))
}

/// `GET /console/console.js`: the console's script (no build step, like the plug-in).
pub async fn console_script() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "no-cache")],
        include_str!("../../web/console/console.js"),
    )
}
