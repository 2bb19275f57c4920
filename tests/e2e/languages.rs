//! Per-index languages over HTTP: an index created in French stems French, folds accents and
//! forgives typos; its language cannot change once it holds products, nor be tried as a draft.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{ADMIN, SEARCH, Server, request_as};

const PRODUCTS: &str = r#"{"id": "eau", "title": "Eau minérale gazeuse", "brand": "Source des Alpes"}
{"id": "limonade", "title": "Limonade pétillante", "brand": "Source des Alpes"}
{"id": "creme", "title": "Crème fraîche épaisse", "brand": "Laiterie du Val"}
{"id": "creme-dessert", "title": "Crème dessert au chocolat", "brand": "Laiterie du Val"}
{"id": "chocolat", "title": "Chocolat noir", "brand": "Cacaoyère"}
{"id": "pates", "title": "Pâtes complètes", "brand": "Moulin"}
{"id": "pate-a-tartiner", "title": "Pâte à tartiner aux noisettes", "brand": "Cacaoyère"}
"#;

fn ids(found: &Value) -> Vec<&str> {
    found["hits"].as_array().expect("hits").iter().filter_map(|hit| hit["id"].as_str()).collect()
}

#[tokio::test]
async fn a_french_index_stems_in_french_and_keeps_its_language_once_it_holds_products() {
    let server = Server::keyed();
    let answer = server.put("/v1/indexes/epicerie/settings", Some(ADMIN), &json!({"language": "fr"})).await;
    assert_eq!(answer.status, StatusCode::OK, "an index is created with its language: {}", answer.text);
    assert_eq!(answer.json()["language"], "fr");
    let upload = request_as(
        Method::POST,
        "/v1/indexes/epicerie/documents",
        Some(ADMIN),
        Some(("application/x-ndjson", PRODUCTS.into())),
    );
    let answer = server.call(upload).await;
    assert_eq!((answer.status, answer.json()["inserted"].clone()), (StatusCode::OK, json!(7)), "{}", answer.text);

    // Plurals stemmed in French (`cremes`, `fraiches`), no accents typed, a typo (`epaise`).
    let search = |q: &str| json!({"q": q});
    let found = server.post("/v1/indexes/epicerie/search", Some(SEARCH), &search("cremes fraiches epaise ")).await;
    assert_eq!(ids(&found.json()).first(), Some(&"creme"), "{}", found.text);
    // `gazeux` is `gazeuse` by its French stem alone (English stems them apart).
    let found = server.post("/v1/indexes/epicerie/search", Some(SEARCH), &search("eaux gazeux ")).await;
    assert_eq!(ids(&found.json()), ["eau"], "{}", found.text);
    // `à` and `aux` are French stop words: not required, so the spread is found without them.
    let found = server.post("/v1/indexes/epicerie/search", Some(SEARCH), &search("pate a tartiner noisette ")).await;
    assert_eq!(ids(&found.json()).first(), Some(&"pate-a-tartiner"), "{}", found.text);

    // Its language cannot change now: not alone, not with the whole settings, not as a draft.
    let refused = server.put("/v1/indexes/epicerie/settings/language", Some(ADMIN), &json!("de")).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::CONFLICT, "language_change_requires_reindex".to_owned())
    );
    let message = refused.json()["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("`title`: fr → de") && message.contains("reindex into a new index"), "{message}");
    let refused = server.put("/v1/indexes/epicerie/settings", Some(ADMIN), &json!({})).await;
    assert_eq!(refused.error_code(), "language_change_requires_reindex", "`{{}}` means English");
    let refused =
        server.put("/v1/indexes/epicerie/settings/field_languages", Some(ADMIN), &json!({"description": "de"})).await;
    assert_eq!(refused.error_code(), "language_change_requires_reindex");
    let preview = json!({"q": "creme", "draft": {"language": "en"}});
    let refused = server.post("/v1/indexes/epicerie/settings/preview", Some(ADMIN), &preview).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::CONFLICT, "language_change_requires_reindex".to_owned())
    );
    let settings = server.get("/v1/indexes/epicerie/settings", Some(ADMIN)).await.json();
    assert_eq!((settings["language"].clone(), settings["field_languages"].clone()), (json!("fr"), json!({})));
    let history = server.get("/v1/indexes/epicerie/settings/history", Some(ADMIN)).await.json();
    assert_eq!(history[0]["settings"]["language"], "fr", "no refused version was recorded: {history}");

    // Everything else still changes at once, and an unknown language is refused plainly.
    let synonyms = json!([{"type": "multi_way", "terms": ["soda", "limonade"]}]);
    let answer = server.put("/v1/indexes/epicerie/settings/synonyms", Some(ADMIN), &synonyms).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let found = server.post("/v1/indexes/epicerie/search", Some(SEARCH), &search("soda ")).await;
    assert_eq!(ids(&found.json()), ["limonade"]);
    let refused = server.put("/v1/indexes/nouvelle/settings", Some(ADMIN), &json!({"language": "pl"})).await;
    assert_eq!(refused.error_code(), "invalid_settings");
    assert!(refused.text.contains("`pl` is not a language Vitrine can analyse"), "{}", refused.text);
}
