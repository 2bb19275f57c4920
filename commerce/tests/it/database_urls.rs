//! Database URLs hold passwords: no error of `Store::connect` shows one.

use vitrine_commerce::{CommerceError, Store};

use crate::common::DEFAULT_POSTGRES_URL;

const PASSWORD: &str = "s3cret-pw";

#[tokio::test]
async fn an_unsupported_url_is_named_without_its_password() {
    let error = Store::connect(&format!("mysql://shop:{PASSWORD}@db.example/shop"), None).await.expect_err("refused");
    assert!(matches!(error, CommerceError::UnsupportedDatabase(_)), "{error}");
    let message = error.to_string();
    assert!(!message.contains(PASSWORD), "{message}");
    assert!(message.contains("mysql://shop:***@db.example/shop"), "{message}");
}

#[tokio::test]
async fn database_errors_do_not_show_the_password() {
    // A URL sqlx cannot parse, and a server that is there with a database that is not.
    let server = std::env::var("VITRINE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let Some(host_and_port) =
        server.split_once('@').map(|(_, rest)| rest.split('/').next().unwrap_or_default().to_owned())
    else {
        panic!("VITRINE_TEST_POSTGRES_URL has no host: {server}");
    };
    let host = host_and_port.split(':').next().unwrap_or_default();
    for url in [
        format!("postgres://shop:{PASSWORD}@{host}:not-a-port/shop"),
        format!("postgres://postgres:{PASSWORD}@{host_and_port}/vitrine_no_such_database"),
    ] {
        let error = Store::connect(&url, None).await.expect_err("cannot open");
        let message = format!("{error} / {error:?}");
        assert!(!message.contains(PASSWORD), "{message}");
    }
}
