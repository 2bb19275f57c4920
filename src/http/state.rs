//! [`AppState`]: what every handler shares — configuration, the engines' handles, metrics and
//! readiness.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use vitrine_commerce::CommerceHandle;
use vitrine_indexer::Catalog;
use vitrine_models::IndexName;
use vitrine_query::ItemNumbers;
use vitrine_recommender::registry::Recommenders;
use vitrine_recommender::serve::{Recommender, ServeParams};

use super::blocking::blocking;
use super::error::{ApiError, ErrorCode};
use super::limits::RateLimits;
use super::metrics::HttpMetrics;
use crate::access::AccessControl;
use crate::analytics::Analytics;
use crate::config::ServerConfig;
use crate::experiments::Experiments;
use crate::interactions::InteractionLog;

/// Everything the handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The resolved server configuration.
    pub config: Arc<ServerConfig>,
    /// The indexes' catalogs.
    pub catalog: Catalog,
    /// Metrics, with the registry components add theirs to.
    pub metrics: Arc<HttpMetrics>,
    /// Search analytics: the search log, shoppers' events, reports.
    pub analytics: Analytics,
    /// The interaction logs recommendations train on: shoppers' budgets and the batching writer.
    pub interactions: InteractionLog,
    /// The loaded recommendation models.
    pub recommenders: Recommenders,
    /// Which index document is which item of each loaded model (recommendation filters).
    pub item_numbering: ItemNumbering,
    /// Carts, checkout and orders (the database opens on first use).
    pub commerce: CommerceHandle,
    /// The API keys and shopper tokens.
    pub access: AccessControl,
    /// The rate limiters.
    pub limits: RateLimits,
    /// The running experiments.
    pub experiments: Experiments,
    /// The index aliases (`/v1/aliases`), resolved before routing.
    pub aliases: crate::aliases::Aliases,
    ready: Arc<AtomicBool>,
}

impl AppState {
    /// State for a server over `catalog`, with the analytics database of the catalog's data
    /// directory, opened on first use. It reports ready at once; a caller that still has
    /// start-up work to do calls [`AppState::set_ready`]`(false)` first.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the analytics and interaction-log writers are Tokio tasks).
    pub fn new(config: ServerConfig, catalog: Catalog) -> Self {
        let analytics = Analytics::new(&catalog.data_dir().analytics_db());
        AppState::with_analytics(config, catalog, analytics)
    }

    /// State for a server over `catalog` with these analytics (a server opens them with
    /// [`Analytics::open`] first, so that a database it cannot open stops it at start-up).
    pub fn with_analytics(config: ServerConfig, catalog: Catalog, analytics: Analytics) -> Self {
        let metrics = HttpMetrics::default();
        analytics.register_metrics(&mut metrics.registry());
        let interactions = InteractionLog::new(catalog.data_dir().clone(), config.event_caps);
        interactions.register_metrics(&mut metrics.registry());
        let recommenders = Recommenders::new(catalog.data_dir().clone(), ServeParams::default());
        let commerce_url = config.commerce_db.as_ref().map_or_else(
            || format!("sqlite:{}", catalog.data_dir().commerce_db().display()),
            |url| url.expose().to_owned(),
        );
        let commerce = CommerceHandle::new(commerce_url)
            .holding_at_add_to_cart(config.commerce_hold_at_add_to_cart)
            .with_hold_limits(config.commerce_hold_limits)
            .with_max_price(config.commerce_max_price)
            .with_gateway(config.payment_gateway)
            .with_deadlines(config.commerce_deadlines.stuck_after, config.commerce_deadlines.authentication_timeout)
            .sweeping_every(config.commerce_deadlines.sweep_every);
        let access =
            AccessControl::open(config.keys.admin.clone(), config.keys.search.clone(), &catalog.data_dir().access());
        if let Err(error) = access.store() {
            tracing::error!(%error, "keys made through the keys API are refused until the key store can be read");
        }
        let aliases = crate::aliases::Aliases::open(catalog.data_dir()).unwrap_or_else(|error| {
            tracing::error!(%error, "the aliases cannot be read: none apply until they can");
            crate::aliases::Aliases::empty(catalog.data_dir())
        });
        AppState {
            commerce,
            access,
            aliases,
            limits: RateLimits::new(&config.rate_limits),
            experiments: Experiments::new(analytics.clone()),
            config: Arc::new(config),
            recommenders,
            item_numbering: ItemNumbering::default(),
            catalog,
            metrics: Arc::new(metrics),
            analytics,
            interactions,
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Marks the server ready (or not) to serve traffic; `/health/ready` follows it.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Whether the server is ready to serve traffic.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Loads the current recommendation model of every index on a background thread, so that
    /// the first recommendation request does not wait for its HNSW graphs.
    pub fn warm_up_recommenders(&self) {
        let catalog = self.catalog.clone();
        self.recommenders.warm_up(move || {
            catalog.list().map(|indexes| indexes.into_iter().map(|index| index.name).collect()).unwrap_or_default()
        });
    }

    /// Fails with `index_not_found` unless the index exists (looked up off the async workers).
    /// Where snapshots of this server's data directory go (`--snapshot-dir`, else
    /// `DATA_DIR/snapshots`).
    pub fn snapshot_folder(&self) -> std::path::PathBuf {
        self.config.snapshot_dir.clone().unwrap_or_else(|| self.catalog.data_dir().snapshots())
    }

    /// Where a snapshot finds this server's commerce database.
    pub fn snapshot_commerce(&self) -> crate::snapshots::CommerceSource {
        crate::snapshots::CommerceSource::of(
            self.catalog.data_dir(),
            self.config.commerce_db.as_ref().map(vitrine_commerce::DatabaseUrl::expose),
        )
    }

    pub(crate) async fn require_index(&self, name: &IndexName) -> Result<(), ApiError> {
        let (catalog, lookup) = (self.catalog.clone(), name.clone());
        let exists = blocking(move || Ok(catalog.exists(&lookup))).await?;
        if exists { Ok(()) } else { Err(ApiError::new(ErrorCode::IndexNotFound, format!("index `{name}` not found"))) }
    }
}

impl axum::extract::FromRef<AppState> for Arc<HttpMetrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// How many models' numberings are kept per index: the current model's, and those of an
/// experiment's variants.
const NUMBERINGS_PER_INDEX: usize = 3;

/// Which index document is which item of the index's loaded models ([`ItemNumbers`]), kept per
/// index and model (the most recently used few). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ItemNumbering {
    per_index: Arc<Mutex<HashMap<IndexName, Vec<Arc<ItemNumbers>>>>>,
}

impl ItemNumbering {
    /// The numbering of `recommender`'s items for `index` (a new one for a model not seen lately).
    pub(crate) fn of(&self, index: &IndexName, recommender: &Recommender) -> Arc<ItemNumbers> {
        let mut per_index = self.per_index.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = per_index.entry(index.clone()).or_default();
        let numbers = match kept.iter().position(|numbers| numbers.model() == recommender.model_id()) {
            Some(position) => kept.remove(position),
            None => Arc::new(ItemNumbers::new(recommender.model_id(), recommender.n_items())),
        };
        kept.insert(0, numbers.clone());
        kept.truncate(NUMBERINGS_PER_INDEX);
        numbers
    }
}
