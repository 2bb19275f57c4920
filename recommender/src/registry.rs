//! The loaded recommendation models of every index, swapped to a new version without downtime.
//!
//! `vitrine train` writes a version and points the index's `CURRENT` file at it. A request reads
//! the loaded version (an `Arc`, so a swap never waits for requests and requests never wait for a
//! swap). At most once a second per index, a request checks `CURRENT`; when it names another
//! version, that version is loaded on a background thread (reading it and building its HNSW
//! graphs takes about a second for the demo shop) and swapped in when ready, while requests keep
//! using the old one. The first request of an index with no loaded version loads it inline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use vitrine_models::{DataDir, IndexName};

use crate::bundle::{ModelStore, StoreError};
use crate::serve::{Recommender, ServeParams};

/// How long a replaced version may stay in use by requests still running before it is dropped
/// anyway (by whichever holds it last).
const DROP_WAIT: Duration = Duration::from_secs(30);

/// Drops a replaced version on this (background) thread once the requests still using it are
/// done: freeing a large model (its HNSW graphs are millions of small allocations) takes a
/// second or more at 400,000 items, which the last request holding it would otherwise wait for.
fn drop_when_unused(replaced: Arc<Recommender>) {
    let deadline = Instant::now() + DROP_WAIT;
    while Arc::strong_count(&replaced) > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(replaced);
}

/// How often `CURRENT` is looked at, per index.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The loaded models, per index. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Recommenders {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    data_dir: DataDir,
    params: ServeParams,
    slots: Mutex<HashMap<IndexName, Slot>>,
    /// Versions other than the current one that experiments recommend with, by index and id.
    pinned: Mutex<HashMap<(IndexName, String), Arc<Recommender>>>,
}

#[derive(Debug, Default)]
struct Slot {
    loaded: Option<Arc<Recommender>>,
    checked_at: Option<Instant>,
    /// The version being loaded in the background, if any.
    loading: Option<String>,
}

impl Recommenders {
    /// The models under `data_dir`, served with `params`.
    pub fn new(data_dir: DataDir, params: ServeParams) -> Recommenders {
        Recommenders {
            inner: Arc::new(Inner {
                data_dir,
                params,
                slots: Mutex::new(HashMap::new()),
                pinned: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The index's current model, `None` when it has never been trained. Blocking (may load).
    ///
    /// # Errors
    /// The model store cannot be read, or the current version is corrupt.
    pub fn get(&self, index: &IndexName) -> Result<Option<Arc<Recommender>>, StoreError> {
        let store = ModelStore::new(self.inner.data_dir.models(index));
        let (loaded, due) = {
            let mut slots = self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = slots.entry(index.clone()).or_default();
            let due = slot.checked_at.is_none_or(|at| at.elapsed() >= CHECK_EVERY);
            if due {
                slot.checked_at = Some(Instant::now());
            }
            (slot.loaded.clone(), due)
        };
        let Some(loaded) = loaded else {
            // Nothing loaded: load inline (the first request after start or after a first training).
            let Some(bundle) = store.load_current()? else { return Ok(None) };
            let recommender = Arc::new(Recommender::new(bundle, self.inner.params.clone()));
            let mut slots = self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.entry(index.clone()).or_default().loaded = Some(recommender.clone());
            return Ok(Some(recommender));
        };
        if due && let Some(current) = store.current()? {
            self.swap_in_background(index, &store, &current, loaded.model_id());
        }
        Ok(Some(loaded))
    }

    /// Starts loading `current` when it is not the loaded version and not being loaded already.
    fn swap_in_background(&self, index: &IndexName, store: &ModelStore, current: &str, loaded: &str) {
        if current == loaded {
            return;
        }
        {
            let mut slots = self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = slots.entry(index.clone()).or_default();
            if slot.loading.as_deref() == Some(current) {
                return;
            }
            slot.loading = Some(current.to_owned());
        }
        let (this, index, store, current) = (self.clone(), index.clone(), store.clone(), current.to_owned());
        std::thread::spawn(move || {
            let loaded =
                store.load(&current).map(|bundle| Arc::new(Recommender::new(bundle, this.inner.params.clone())));
            let replaced = {
                let mut slots = this.inner.slots.lock().unwrap_or_else(PoisonError::into_inner);
                let slot = slots.entry(index.clone()).or_default();
                slot.loading = None;
                match loaded {
                    Ok(recommender) => {
                        tracing::info!(%index, model = %current, "recommendation model swapped in");
                        slot.loaded.replace(recommender)
                    }
                    Err(error) => {
                        tracing::error!(%index, model = %current, %error, "cannot load a model version; keeping the loaded one");
                        None
                    }
                }
            };
            if let Some(replaced) = replaced {
                drop_when_unused(replaced);
            }
        });
    }

    /// Loads the current version of `index` now and waits for it (after training in-process,
    /// or a rollback). `None` when the index has no model.
    ///
    /// # Errors
    /// As [`Recommenders::get`].
    pub fn reload(&self, index: &IndexName) -> Result<Option<Arc<Recommender>>, StoreError> {
        let store = ModelStore::new(self.inner.data_dir.models(index));
        let loaded = store.load_current()?.map(|bundle| Arc::new(Recommender::new(bundle, self.inner.params.clone())));
        let mut slots = self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(index.clone()).or_default();
        slot.loaded.clone_from(&loaded);
        slot.checked_at = Some(Instant::now());
        Ok(loaded)
    }

    /// Loads the current model of each index `indexes` lists, on a background thread (the
    /// listing too), so that the first recommendation request does not wait for its HNSW graphs.
    pub fn warm_up(&self, indexes: impl FnOnce() -> Vec<IndexName> + Send + 'static) {
        let this = self.clone();
        std::thread::spawn(move || {
            for index in indexes() {
                if let Err(error) = this.get(&index) {
                    tracing::warn!(%index, %error, "cannot load the recommendation model");
                }
            }
        });
    }

    /// Re-ranks a page of `index`'s search hits for `user_id` with the current model (see
    /// [`Recommender::personalise`]). A model that cannot be read leaves the hits as they are
    /// (logged), rather than failing the search; so does an index with no model.
    pub fn personalise<T>(
        &self,
        index: &IndexName,
        user_id: &str,
        weight: f32,
        hits: &mut Vec<T>,
        id: impl Fn(&T) -> &str,
        pinned: impl Fn(&T) -> bool,
    ) {
        match self.get(index) {
            Ok(Some(recommender)) => recommender.personalise(hits, user_id, weight, id, pinned),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, %index, "search without personalisation"),
        }
    }

    /// Serves the version `model_id` of `index` from now on (a rollback, or a roll forward):
    /// points `CURRENT` at it and loads it before returning.
    ///
    /// # Errors
    /// [`StoreError::UnknownVersion`], or the version cannot be read.
    pub fn activate(&self, index: &IndexName, model_id: &str) -> Result<Option<Arc<Recommender>>, StoreError> {
        self.store(index).activate(model_id)?;
        self.reload(index)
    }

    /// The version `model_id` of `index`, whether current or not (an experiment's variant
    /// recommends with it): the loaded current version when it is that one, else loaded once
    /// (inline, blocking) and kept while `keep` says the version is still wanted. Versions no
    /// longer wanted are dropped on the next call.
    ///
    /// # Errors
    /// [`StoreError::UnknownVersion`], or the version cannot be read.
    pub fn version(
        &self,
        index: &IndexName,
        model_id: &str,
        keep: impl Fn(&IndexName, &str) -> bool,
    ) -> Result<Arc<Recommender>, StoreError> {
        if let Some(current) = self.get(index)?
            && current.model_id() == model_id
        {
            return Ok(current);
        }
        let key = (index.clone(), model_id.to_owned());
        {
            let mut pinned = self.inner.pinned.lock().unwrap_or_else(PoisonError::into_inner);
            pinned.retain(|(index, id), _| keep(index, id));
            if let Some(loaded) = pinned.get(&key) {
                return Ok(loaded.clone());
            }
        }
        let loaded = Arc::new(Recommender::new(self.store(index).load(model_id)?, self.inner.params.clone()));
        let mut pinned = self.inner.pinned.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(pinned.entry(key).or_insert(loaded).clone())
    }

    /// The model store of `index`.
    pub fn store(&self, index: &IndexName) -> ModelStore {
        ModelStore::new(self.inner.data_dir.models(index))
    }
}
