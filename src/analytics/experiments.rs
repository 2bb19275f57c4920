//! The experiments' rows in the analytics database (`migrations/analytics/0002_experiments.sql`):
//! definitions and their status, exposures (which shopper saw which variant of an answer) and
//! the storefront's orders; and the reads the results are computed from.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;
use vitrine_models::IndexName;

use super::store::{AnalyticsError, Database, ExposureLog};
use crate::experiments::definition::{ExperimentSpec, Priors};

/// Whether an experiment still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Shoppers are assigned to its variants.
    Running,
    /// Stopped (or promoted): shoppers see the live settings again; its results stay.
    Stopped,
}

/// An experiment as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredExperiment {
    /// Its id (a UUIDv7).
    pub id: Uuid,
    /// The index it runs on.
    pub index: IndexName,
    /// Its definition.
    pub spec: ExperimentSpec,
    /// Running or stopped.
    pub status: ExperimentStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// The variant promoted, if one was.
    pub promoted: Option<String>,
    /// The scale of each metric's sequential test, fixed at creation.
    pub priors: Priors,
}

/// An index's rates over a window: what the priors of a new experiment come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baselines {
    /// Searches in the window.
    pub searches: u64,
    /// Click-through, add-to-cart and conversion rates (per search).
    pub rates: [f64; 3],
    /// Order revenue per search, in minor units.
    pub revenue_per_search: f64,
}

/// An exposure, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureRow {
    /// The answer's `query_id`.
    pub query_id: String,
    /// The variant served, or `interleaved`.
    pub variant: String,
    /// Who.
    pub identity: String,
    /// Interleaving: the product ids each team contributed.
    pub credits: Option<[Vec<String>; 2]>,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
}

/// A shopper event that points to an exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeRow {
    /// The exposure's `query_id`.
    pub query_id: String,
    /// `click`, `add_to_cart` or `purchase`.
    pub kind: String,
    /// The product.
    pub product_id: String,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
}

/// An order placed through the storefront's checkout.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRow {
    /// The order.
    pub order_id: String,
    /// Who placed it: `user:ID` or `session:ID`.
    pub identity: String,
    /// Its total, in minor units.
    pub total_cents: i64,
    /// Its currency.
    pub currency: String,
    /// When, in Unix milliseconds.
    pub at_ms: i64,
}

/// Everything the results of one experiment are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExperimentData {
    /// Its exposures, oldest first.
    pub exposures: Vec<ExposureRow>,
    /// The clicks, add-to-carts and purchases pointing to them.
    pub outcomes: Vec<OutcomeRow>,
    /// Orders of its shoppers placed while it ran.
    pub orders: Vec<OrderRow>,
}

fn parse_experiment(row: &sqlx::sqlite::SqliteRow) -> Result<StoredExperiment, AnalyticsError> {
    let corrupt = |what: String| AnalyticsError::Corrupt(what);
    let id: String = row.try_get("id")?;
    let index: String = row.try_get("index_name")?;
    let definition: String = row.try_get("definition")?;
    let status: String = row.try_get("status")?;
    let at = |ms: i64| DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("time {ms}")));
    Ok(StoredExperiment {
        id: Uuid::parse_str(&id).map_err(|error| corrupt(format!("experiment id `{id}`: {error}")))?,
        index: IndexName::new(&index).map_err(|error| corrupt(format!("index `{index}`: {error}")))?,
        spec: serde_json::from_str(&definition).map_err(|error| corrupt(format!("experiment {id}: {error}")))?,
        status: match status.as_str() {
            "running" => ExperimentStatus::Running,
            _ => ExperimentStatus::Stopped,
        },
        created_at: at(row.try_get("created_at_ms")?)?,
        stopped_at: row.try_get::<Option<i64>, _>("stopped_at_ms")?.map(at).transpose()?,
        promoted: row.try_get("promoted")?,
        priors: serde_json::from_str(&row.try_get::<String, _>("priors")?)
            .map_err(|error| corrupt(format!("experiment {id}'s priors: {error}")))?,
    })
}

const EXPERIMENT_COLUMNS: &str =
    "id, index_name, surface, definition, status, created_at_ms, stopped_at_ms, promoted, priors FROM experiments";

fn credits_of(text: Option<String>) -> Option<[Vec<String>; 2]> {
    text.and_then(|text| serde_json::from_str(&text).ok())
}

impl Database {
    /// Stores a new running experiment; `false` when another one already runs on its index and
    /// surface (the database's unique index decides, so two concurrent creations cannot both win).
    pub(super) async fn insert_experiment(&self, experiment: &StoredExperiment) -> Result<bool, AnalyticsError> {
        let pool = self.pool().await?;
        let definition =
            serde_json::to_string(&experiment.spec).map_err(|error| AnalyticsError::Corrupt(error.to_string()))?;
        let priors =
            serde_json::to_string(&experiment.priors).map_err(|error| AnalyticsError::Corrupt(error.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO experiments (id, index_name, surface, definition, status, created_at_ms, priors)
             VALUES (?, ?, ?, ?, 'running', ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(experiment.id.to_string())
        .bind(experiment.index.as_str())
        .bind(experiment.spec.surface.as_str())
        .bind(definition)
        .bind(experiment.created_at.timestamp_millis())
        .bind(priors)
        .execute(pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// The experiments of `index`, newest first.
    pub(super) async fn experiments(&self, index: &IndexName) -> Result<Vec<StoredExperiment>, AnalyticsError> {
        let pool = self.pool().await?;
        let rows = sqlx::query(&format!(
            "SELECT {EXPERIMENT_COLUMNS} WHERE index_name = ? ORDER BY created_at_ms DESC, id DESC"
        ))
        .bind(index.as_str())
        .fetch_all(pool)
        .await?;
        rows.iter().map(parse_experiment).collect()
    }

    /// Every running experiment, of every index.
    pub(super) async fn running_experiments(&self) -> Result<Vec<StoredExperiment>, AnalyticsError> {
        let pool = self.pool().await?;
        let rows =
            sqlx::query(&format!("SELECT {EXPERIMENT_COLUMNS} WHERE status = 'running'")).fetch_all(pool).await?;
        rows.iter().map(parse_experiment).collect()
    }

    /// One experiment of `index`.
    pub(super) async fn experiment(
        &self,
        index: &IndexName,
        id: Uuid,
    ) -> Result<Option<StoredExperiment>, AnalyticsError> {
        let pool = self.pool().await?;
        let row = sqlx::query(&format!("SELECT {EXPERIMENT_COLUMNS} WHERE index_name = ? AND id = ?"))
            .bind(index.as_str())
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?;
        row.as_ref().map(parse_experiment).transpose()
    }

    /// Stops a running experiment (and records the variant promoted, if any); `false` when it
    /// was not running, or — promoting — already promoted.
    pub(super) async fn stop_experiment(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
        promoted: Option<&str>,
    ) -> Result<bool, AnalyticsError> {
        let pool = self.pool().await?;
        let changed = match promoted {
            None => {
                sqlx::query(
                    "UPDATE experiments SET status = 'stopped', stopped_at_ms = ? WHERE id = ? AND status = 'running'",
                )
                .bind(at.timestamp_millis())
                .bind(id.to_string())
                .execute(pool)
                .await?
            }
            Some(variant) => sqlx::query(
                "UPDATE experiments SET status = 'stopped', stopped_at_ms = COALESCE(stopped_at_ms, ?), promoted = ?
                     WHERE id = ? AND promoted IS NULL",
            )
            .bind(at.timestamp_millis())
            .bind(variant)
            .bind(id.to_string())
            .execute(pool)
            .await?,
        };
        Ok(changed.rows_affected() == 1)
    }

    /// Inserts exposures (in the transaction of the writer's batch).
    pub(super) async fn insert_exposures(
        transaction: &mut sqlx::SqliteConnection,
        exposures: &[Box<ExposureLog>],
    ) -> Result<(), AnalyticsError> {
        for exposure in exposures {
            let credits =
                exposure.credits.as_ref().map(|credits| serde_json::Value::from(credits.to_vec()).to_string());
            sqlx::query(
                "INSERT OR IGNORE INTO exposures (query_id, experiment_id, variant, identity, credits, at_ms)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(exposure.query_id.to_string())
            .bind(exposure.experiment_id.to_string())
            .bind(&exposure.variant)
            .bind(&exposure.identity)
            .bind(credits)
            .bind(exposure.at.timestamp_millis())
            .execute(&mut *transaction)
            .await?;
        }
        Ok(())
    }

    /// `index`'s rates over `[from, until)`: searches, the share of them with a click, an
    /// add-to-cart, a purchase, and order revenue per search.
    pub(super) async fn baselines(
        &self,
        index: &IndexName,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Baselines, AnalyticsError> {
        let pool = self.pool().await?;
        // Searches by the time index; outcomes from the window's events (by their time index),
        // each joined to its search by the search's key: the work follows the rows of the window,
        // never one subquery per search.
        let searches: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM searches WHERE index_name = ? AND at_ms >= ? AND at_ms < ?")
                .bind(index.as_str())
                .bind(from.timestamp_millis())
                .bind(until.timestamp_millis())
                .fetch_one(pool)
                .await?;
        let outcomes = sqlx::query(
            "SELECT e.kind AS kind, COUNT(DISTINCT e.query_id) AS answers
             FROM events e JOIN searches s ON s.query_id = e.query_id
             WHERE e.index_name = ? AND e.at_ms >= ? AND e.kind IN ('click', 'add_to_cart', 'purchase')
               AND s.index_name = ? AND s.at_ms >= ? AND s.at_ms < ?
             GROUP BY e.kind",
        )
        .bind(index.as_str())
        .bind(from.timestamp_millis())
        .bind(index.as_str())
        .bind(from.timestamp_millis())
        .bind(until.timestamp_millis())
        .fetch_all(pool)
        .await?;
        let answered = |kind: &str| -> Result<i64, sqlx::Error> {
            for row in &outcomes {
                if row.try_get::<String, _>("kind")? == kind {
                    return row.try_get("answers");
                }
            }
            Ok(0)
        };
        let revenue: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(total_cents), 0) FROM orders WHERE index_name = ? AND at_ms >= ? AND at_ms < ?",
        )
        .bind(index.as_str())
        .bind(from.timestamp_millis())
        .bind(until.timestamp_millis())
        .fetch_one(pool)
        .await?;
        let per_search = |count: i64| if searches > 0 { count as f64 / searches as f64 } else { 0.0 };
        Ok(Baselines {
            searches: u64::try_from(searches).unwrap_or_default(),
            rates: [
                per_search(answered("click")?),
                per_search(answered("add_to_cart")?),
                per_search(answered("purchase")?),
            ],
            revenue_per_search: per_search(revenue),
        })
    }

    /// Records an order of `index` placed by `identity` (once per order).
    pub(super) async fn insert_order(&self, index: &IndexName, order: &OrderRow) -> Result<(), AnalyticsError> {
        let pool = self.pool().await?;
        sqlx::query(
            "INSERT OR IGNORE INTO orders (order_id, index_name, identity, total_cents, currency, at_ms)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&order.order_id)
        .bind(index.as_str())
        .bind(&order.identity)
        .bind(order.total_cents)
        .bind(&order.currency)
        .bind(order.at_ms)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// The rows the results of `experiment` are computed from: its exposures, the events that
    /// point to them, and its shoppers' orders placed while it ran (up to `until`).
    pub(super) async fn experiment_data(
        &self,
        experiment: &StoredExperiment,
        until: DateTime<Utc>,
    ) -> Result<ExperimentData, AnalyticsError> {
        let pool = self.pool().await?;
        let id = experiment.id.to_string();
        let exposures = sqlx::query(
            "SELECT query_id, variant, identity, credits, at_ms FROM exposures WHERE experiment_id = ? ORDER BY at_ms, query_id",
        )
        .bind(&id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok(ExposureRow {
                query_id: row.try_get("query_id")?,
                variant: row.try_get("variant")?,
                identity: row.try_get("identity")?,
                credits: credits_of(row.try_get("credits")?),
                at_ms: row.try_get("at_ms")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let outcomes = sqlx::query(
            "SELECT e.query_id, e.kind, e.product_id, e.at_ms FROM events e JOIN exposures x ON x.query_id = e.query_id
             WHERE x.experiment_id = ? AND e.index_name = ? AND e.kind IN ('click', 'add_to_cart', 'purchase')
             ORDER BY e.at_ms, e.id",
        )
        .bind(&id)
        .bind(experiment.index.as_str())
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok(OutcomeRow {
                query_id: row.try_get("query_id")?,
                kind: row.try_get("kind")?,
                product_id: row.try_get("product_id")?,
                at_ms: row.try_get("at_ms")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let orders = sqlx::query(
            "SELECT order_id, identity, total_cents, currency, at_ms FROM orders
             WHERE index_name = ? AND at_ms >= ? AND at_ms <= ?
               AND identity IN (SELECT DISTINCT identity FROM exposures WHERE experiment_id = ?)
             ORDER BY at_ms, order_id",
        )
        .bind(experiment.index.as_str())
        .bind(experiment.created_at.timestamp_millis())
        .bind(until.timestamp_millis())
        .bind(&id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok(OrderRow {
                order_id: row.try_get("order_id")?,
                identity: row.try_get("identity")?,
                total_cents: row.try_get("total_cents")?,
                currency: row.try_get("currency")?,
                at_ms: row.try_get("at_ms")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(ExperimentData { exposures, outcomes, orders })
    }
}
