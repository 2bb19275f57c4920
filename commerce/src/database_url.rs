//! Database URLs, which may hold a password (`postgres://user:password@host/db`, or
//! `?password=…`): shown only with the password replaced by `***`.

use std::fmt;

/// What a password is shown as.
const HIDDEN: &str = "***";

/// A database URL that never shows its password: [`Display`](fmt::Display) and
/// [`Debug`](fmt::Debug) print it redacted ([`redact_password`]); only [`DatabaseUrl::expose`]
/// gives the URL itself, to connect with.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps `url`.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseUrl(url.into())
    }

    /// The URL with its password: for connecting, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(DatabaseUrl::new(url))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&redact_password(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_tuple("DatabaseUrl").field(&redact_password(&self.0)).finish()
    }
}

/// `url` with its password replaced by `***`: the password of the user info
/// (`scheme://user:***@host…`) and the value of a `password` query parameter
/// (`…?password=***`). The user info runs to the URL's last `@`, so a password with an unescaped
/// `/`, `?`, `#` or `@` is hidden whole (when in doubt, more is hidden, never less). A URL without
/// a password is returned as it is.
pub fn redact_password(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let mut redacted = String::with_capacity(url.len());
    if let Some(scheme) = scheme {
        redacted.push_str(scheme);
        redacted.push_str("://");
    }
    let after_user_info = match rest.rsplit_once('@').filter(|_| scheme.is_some()) {
        Some((user_info, after)) => {
            match user_info.split_once(':') {
                Some((user, _password)) => {
                    redacted.push_str(user);
                    redacted.push(':');
                    redacted.push_str(HIDDEN);
                }
                None => redacted.push_str(user_info),
            }
            redacted.push('@');
            after
        }
        None => rest,
    };
    match after_user_info.split_once('?') {
        Some((before_query, query)) => {
            redacted.push_str(before_query);
            redacted.push('?');
            let parameters: Vec<String> = query
                .split('&')
                .map(|parameter| match parameter.split_once('=') {
                    Some((name, _value)) if name.eq_ignore_ascii_case("password") => format!("{name}={HIDDEN}"),
                    _ => parameter.to_owned(),
                })
                .collect();
            redacted.push_str(&parameters.join("&"));
        }
        None => redacted.push_str(after_user_info),
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_the_rest_is_kept() {
        for (url, shown) in [
            ("postgres://shop:s3cret@db.example:5432/shop", "postgres://shop:***@db.example:5432/shop"),
            ("postgresql://shop:p%40ss:word@db/shop?sslmode=require", "postgresql://shop:***@db/shop?sslmode=require"),
            (
                "postgres://shop@db/shop?password=s3cret&sslmode=require",
                "postgres://shop@db/shop?password=***&sslmode=require",
            ),
            ("postgres://db.example/shop", "postgres://db.example/shop"),
            ("mysql://root:hunter2@localhost", "mysql://root:***@localhost"),
            ("postgres://shop:pa/ss?w#rd@db/shop", "postgres://shop:***@db/shop"),
            ("sqlite:/var/lib/vitrine/commerce.db", "sqlite:/var/lib/vitrine/commerce.db"),
            ("sqlite:commerce.db?mode=rwc", "sqlite:commerce.db?mode=rwc"),
            ("", ""),
        ] {
            assert_eq!(redact_password(url), shown, "{url}");
        }
    }

    #[test]
    fn a_database_url_prints_redacted_and_connects_with_its_password() {
        let url: DatabaseUrl = "postgres://shop:s3cret@db/shop".parse().expect("infallible");
        assert_eq!(url.to_string(), "postgres://shop:***@db/shop");
        assert!(!format!("{url:?}").contains("s3cret"), "{url:?}");
        assert_eq!(url.expose(), "postgres://shop:s3cret@db/shop");
    }
}
