//! The databases every commerce test runs against: a fresh SQLite file, and a fresh schema of the
//! PostgreSQL server at `VITRINE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! Without a reachable server a local run skips the PostgreSQL half (saying so); under `CI=true`
//! that is a failure.

use vitrine_commerce::Store;
use vitrine_models::{Currency, Money};

/// The default PostgreSQL of developer and CI machines.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A store and what to clean up after it.
pub struct TestStore {
    pub store: Store,
    pub name: &'static str,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestStore {
    /// Drops the PostgreSQL schema (the SQLite file goes with its folder).
    pub async fn cleanup(self) {
        if let Some(schema) = &self.schema {
            self.store.drop_schema(schema).await.expect("drop the test schema");
        }
    }
}

/// A fresh SQLite store.
pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", vitrine_models::DataDir::new(dir.path()).commerce_db().display());
    let store = Store::connect(&url, None).await.expect("SQLite opens and migrates");
    TestStore { store, name: "sqlite", schema: None, _dir: Some(dir) }
}

/// A fresh PostgreSQL schema, or `None` (local runs only) when no server answers.
pub async fn postgres(test: &str) -> Option<TestStore> {
    let url = std::env::var("VITRINE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let schema = format!("vt_{}", uuid::Uuid::now_v7().simple());
    match Store::connect(&url, Some(&schema)).await {
        Ok(store) => Some(TestStore { store, name: "postgres", schema: Some(schema), _dir: None }),
        Err(error) => {
            if std::env::var("CI").is_ok_and(|value| value == "true") {
                panic!("{test}: PostgreSQL at {url} is required under CI=true: {error}");
            }
            eprintln!("SKIPPED {test} on PostgreSQL: {url}: {error}");
            None
        }
    }
}

/// SQLite, then PostgreSQL when reachable.
pub async fn both(test: &str) -> Vec<TestStore> {
    let mut stores = vec![sqlite().await];
    stores.extend(postgres(test).await);
    stores
}

/// A guest cart holding `quantity` of `product`; its id.
pub async fn cart_with(store: &Store, product: &str, quantity: i64) -> String {
    let cart = store.create_cart(None).await.expect("cart");
    store.add_to_cart(&cart.id, product, quantity).await.expect("add");
    cart.id
}

/// An amount in pence.
pub fn gbp(pence: i64) -> Money {
    Money::from_minor_units(pence, Currency::GBP)
}
