//! The front end, compiled into the binary from `web/` (no build step): the storefront plug-in
//! (`/plugin/vitrine.js`), the demo storefront built from it (`/`) and the merchandiser console
//! (`/console`, a static page that asks for the admin key and calls the admin API).

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{Html, IntoResponse};

/// `GET /plugin/vitrine.js`: the storefront plug-in, one script.
pub async fn plugin_script() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8"), (CACHE_CONTROL, "public, max-age=300")],
        include_str!("../../web/plugin/vitrine.js"),
    )
}

/// `GET /`: the demo storefront, built only from the plug-in.
pub async fn storefront() -> impl IntoResponse {
    Html(include_str!("../../web/storefront/index.html"))
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
