//! Online experiments: A/B tests and team-draft interleaving of search settings and
//! recommendation model versions, on real shoppers (docs/experiments.md).
//!
//! - [`definition`]: what an experiment is (variants, surface, kind, primary metric), as created
//!   over the API and stored in the analytics database (`crate::analytics`, which also keeps the
//!   exposures — which shopper saw which variant of each answer — and the storefront's orders).
//! - [`assign`]: who sees which variant — a hash of the experiment and the shopper's identity.
//! - [`results`]: the per-variant metrics and their statistics (`vitrine_eval::experiments`):
//!   intervals, always-valid p-values, the sample-ratio-mismatch check, the interleaving
//!   preference.
//! - [`Experiments`] (this file): the running experiments, kept in memory so that a search looks
//!   its experiment up without a database read, and the variant's settings for a request.

pub mod assign;
pub mod definition;
pub mod results;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tokio::sync::OnceCell;
use vitrine_indexer::ProductIndex;
use vitrine_models::IndexName;
use vitrine_models::settings::IndexSettings;

use self::assign::{Identity, assign};
use self::definition::{ExperimentKind, Surface, VariantSettings};
use crate::analytics::{Analytics, AnalyticsError, StoredExperiment};

/// Which arm of an experiment answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    /// One variant (by position; 0 is the control).
    Variant(usize),
    /// Both rankings, interleaved.
    Interleaved,
}

/// The experiment a request takes part in.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// The experiment.
    pub running: Arc<Running>,
    /// What answers the request.
    pub arm: Arm,
    /// Who, when the request names someone: only then is the answer counted (a request without
    /// an identity is answered by the control, uncounted).
    pub identity: Option<Identity>,
}

impl Assignment {
    /// The variant's name as answers and exposures show it (`interleaved` for interleaving).
    pub fn variant_name(&self) -> &str {
        match self.arm {
            Arm::Variant(position) => &self.running.stored.spec.variants[position].name,
            Arm::Interleaved => definition::INTERLEAVED,
        }
    }
}

/// A running experiment, with its variants' settings as last resolved.
#[derive(Debug)]
pub struct Running {
    /// The experiment as stored.
    pub stored: StoredExperiment,
    /// Per variant: the live settings the draft was laid over, and the result.
    drafts: Mutex<Vec<Option<ResolvedDraft>>>,
}

/// A draft resolved over the live settings it was laid on: (those live settings, the result).
type ResolvedDraft = (Arc<IndexSettings>, Arc<IndexSettings>);

/// The running experiments by index and surface.
type RunningByPlace = HashMap<(IndexName, Surface), Arc<Running>>;

impl Running {
    fn new(stored: StoredExperiment) -> Running {
        let variants = stored.spec.variants.len();
        Running { stored, drafts: Mutex::new(vec![None; variants]) }
    }

    /// The settings variant `position` answers with on `index`: the live settings, or its draft
    /// laid over them (resolved again whenever the live settings change).
    ///
    /// # Errors
    /// The draft no longer fits the live settings or the index (the caller serves the live
    /// settings, uncounted).
    pub fn settings(&self, position: usize, index: &ProductIndex) -> Result<Arc<IndexSettings>, String> {
        let live = index.settings();
        let Some(variant) = self.stored.spec.variants.get(position) else { return Ok(live) };
        if matches!(variant.settings, VariantSettings::Live(_)) {
            return Ok(live);
        }
        let mut drafts = self.drafts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(Some((over, resolved))) = drafts.get(position)
            && Arc::ptr_eq(over, &live)
        {
            return Ok(resolved.clone());
        }
        let resolved = Arc::new(variant.draft_over(index)?.unwrap_or_else(|| IndexSettings::clone(&live)));
        if let Some(slot) = drafts.get_mut(position) {
            *slot = Some((live, resolved.clone()));
        }
        Ok(resolved)
    }
}

/// The running experiments of every index, loaded from the analytics database on first use and
/// kept up to date by [`Experiments::started`] and [`Experiments::stopped`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Experiments {
    analytics: Analytics,
    loaded: Arc<OnceCell<()>>,
    running: Arc<RwLock<RunningByPlace>>,
}

impl Experiments {
    /// The experiments stored in `analytics`.
    pub fn new(analytics: Analytics) -> Experiments {
        Experiments { analytics, loaded: Arc::default(), running: Arc::default() }
    }

    /// The analytics database the experiments live in.
    pub fn analytics(&self) -> &Analytics {
        &self.analytics
    }

    async fn load(&self) -> Result<(), AnalyticsError> {
        self.loaded
            .get_or_try_init(|| async {
                let stored = self.analytics.running_experiments().await?;
                let mut running = self.running.write().unwrap_or_else(PoisonError::into_inner);
                for experiment in stored {
                    running.insert(
                        (experiment.index.clone(), experiment.spec.surface),
                        Arc::new(Running::new(experiment)),
                    );
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// The experiment running on `index` and `surface`, if any. A database that cannot be read
    /// leaves requests outside experiments (logged), never failing them.
    pub async fn running(&self, index: &IndexName, surface: Surface) -> Option<Arc<Running>> {
        if let Err(error) = self.load().await {
            tracing::warn!(%error, "experiments cannot be read; answering without them");
            return None;
        }
        let running = self.running.read().unwrap_or_else(PoisonError::into_inner);
        running.get(&(index.clone(), surface)).cloned()
    }

    /// The arm that answers a request of `identity` on `index` and `surface`, if an experiment
    /// runs there.
    pub async fn assign(&self, index: &IndexName, surface: Surface, identity: Option<Identity>) -> Option<Assignment> {
        let running = self.running(index, surface).await?;
        let arm = match (&identity, running.stored.spec.kind) {
            (None, _) => Arm::Variant(0),
            (Some(_), ExperimentKind::Interleaving) => Arm::Interleaved,
            (Some(identity), ExperimentKind::Ab) => {
                let weights: Vec<f64> = running.stored.spec.variants.iter().map(|variant| variant.weight).collect();
                Arm::Variant(assign(&running.stored.id.to_string(), identity, &weights))
            }
        };
        Some(Assignment { running, arm, identity })
    }

    /// Starts serving a new experiment (stored already).
    pub async fn started(&self, experiment: StoredExperiment) {
        // Loaded first, so that the load cannot overwrite it with an older picture.
        if let Err(error) = self.load().await {
            tracing::warn!(%error, "experiments cannot be read");
        }
        let mut running = self.running.write().unwrap_or_else(PoisonError::into_inner);
        running.insert((experiment.index.clone(), experiment.spec.surface), Arc::new(Running::new(experiment)));
    }

    /// Stops serving the experiment `id` (stored as stopped already).
    pub fn stopped(&self, id: uuid::Uuid) {
        let mut running = self.running.write().unwrap_or_else(PoisonError::into_inner);
        running.retain(|_, experiment| experiment.stored.id != id);
    }

    /// Whether a running experiment of `index` recommends with the model version `model_id`.
    pub fn uses_model(&self, index: &IndexName, model_id: &str) -> bool {
        let running = self.running.read().unwrap_or_else(PoisonError::into_inner);
        running.iter().any(|((name, _), experiment)| {
            name == index
                && experiment
                    .stored
                    .spec
                    .variants
                    .iter()
                    .any(|variant| variant.model_version.as_deref() == Some(model_id))
        })
    }

    /// Forgets the experiments of a deleted index.
    pub fn index_deleted(&self, index: &IndexName) {
        let mut running = self.running.write().unwrap_or_else(PoisonError::into_inner);
        running.retain(|(name, _), _| name != index);
    }
}
