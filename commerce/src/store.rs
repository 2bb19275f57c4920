//! The commerce database: SQLite (embedded, the default) or PostgreSQL (several replicas), behind
//! one repository layer written once against sqlx's `Any` driver.
//!
//! Queries use `$1`-style parameters, which both backends accept, and portable types only: text
//! ids, `BIGINT` amounts (money in minor units, times in milliseconds since the epoch). The
//! migrations in `commerce/migrations/` apply unchanged to both.
//!
//! Concurrency: on PostgreSQL every stock change is one conditional `UPDATE … WHERE available >=
//! wanted` (the row lock and PostgreSQL's re-check of the condition make it race-free under READ
//! COMMITTED); on SQLite the pool holds one connection, so transactions run one at a time (SQLite
//! has one writer anyway), in WAL mode.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::CommerceError;
use crate::database_url::redact_password;

/// The schema, embedded in the binary.
static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The commerce database, migrated and ready.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` (`sqlite:PATH` — created if missing — or `postgres://…`) and applies the
    /// migrations. `schema`, for PostgreSQL only, sets the `search_path` (created if missing):
    /// tests give each run its own.
    ///
    /// # Errors
    /// An unsupported URL, a database that cannot be reached, or a failed migration. No error
    /// shows the URL's password (sqlx's errors do not hold the URL; ours hold it redacted).
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Store, CommerceError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            // The URL may hold a password: the error shows it redacted.
            return Err(CommerceError::UnsupportedDatabase(redact_password(url)));
        };
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
                AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(60))
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection
                                .execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                                )
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => {
                let schema = schema.map(str::to_owned);
                if let Some(schema) = &schema {
                    check_identifier(schema)?;
                    let setup = AnyPoolOptions::new().max_connections(1).connect(url).await?;
                    setup.execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str()).await?;
                    setup.close().await;
                }
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(60))
                    .after_connect(move |connection, _| {
                        let schema = schema.clone();
                        Box::pin(async move {
                            if let Some(schema) = schema {
                                connection.execute(format!("SET search_path TO {schema}").as_str()).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
        };
        MIGRATIONS.run(&pool).await?;
        Ok(Store { pool, backend })
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Drops a PostgreSQL schema made by [`Store::connect`] with everything in it (tests).
    ///
    /// # Errors
    /// A query failure.
    pub async fn drop_schema(&self, schema: &str) -> Result<(), CommerceError> {
        check_identifier(schema)?;
        if self.backend == Backend::Postgres {
            self.pool.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await?;
        }
        Ok(())
    }
}

/// A schema name is spliced into SQL: letters, digits and `_` only.
fn check_identifier(name: &str) -> Result<(), CommerceError> {
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if valid { Ok(()) } else { Err(CommerceError::Invalid(format!("`{name}` is not a schema name"))) }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
