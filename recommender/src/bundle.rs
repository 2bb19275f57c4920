//! A trained model version and where versions live on disk.
//!
//! `vitrine train` writes one [`ModelBundle`] per run into `DATA_DIR/models/INDEX/MODEL_ID/`:
//! `manifest.json` (what, when, with which parameters, on how much data, how good) and one JSON
//! file per part. A version is written into a temporary folder and renamed into place, then the
//! `CURRENT` file (the active version's id) is replaced by a rename: a reader sees the old
//! version or the new one, never half of one. Older versions stay on disk, so a rollback is a
//! change of `CURRENT`; [`ModelStore::prune`] keeps the newest few.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ease::SparseEase;
use crate::ials::IalsModel;
use crate::matrix::Interactions;
use crate::neighbours::ItemNeighbours;
use crate::popularity::Popularity;

/// Version of the on-disk layout; a bundle of another version is refused at load.
pub const FORMAT_VERSION: u32 = 1;

/// What a model version is: written as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    /// Unique, sortable by training time (`YYYYMMDDTHHMMSSZ-xxxx`).
    pub model_id: String,
    /// The index the model serves.
    pub index: String,
    /// When training finished (RFC 3339, UTC).
    pub trained_at: String,
    /// The instant the training data was taken as of (RFC 3339, UTC): ages were measured from it
    /// and later rows left out. Absent in versions trained before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// Layout version ([`FORMAT_VERSION`]).
    pub format: u32,
    /// Every training parameter, as given (event weights, half-lives, model parameters).
    pub parameters: serde_json::Value,
    /// Sizes of the training data.
    pub counts: Counts,
    /// Quality and cost figures measured while training (seconds per step, losses, …).
    pub metrics: BTreeMap<String, f64>,
}

/// Sizes of the data a model was trained on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    /// Interaction rows read.
    pub interactions: u64,
    /// Distinct users (signed-in shoppers and sessions).
    pub users: u64,
    /// Items: every catalog product plus any product seen only in interactions.
    pub items: u64,
    /// Items with at least one interaction.
    pub items_with_interactions: u64,
    /// Baskets (sessions) the co-occurrences were counted on.
    pub baskets: u64,
}

/// Everything one model version holds.
#[derive(Debug, Clone)]
pub struct ModelBundle {
    /// What this version is.
    pub manifest: Manifest,
    /// Product id of each dense item id.
    pub items: Vec<String>,
    /// User id of each dense user id.
    pub users: Vec<String>,
    /// Category of each item (its top-level category), for diversification; `None` when unknown.
    pub item_groups: Vec<Option<String>>,
    /// Users × items weights the models were trained on: a user's history.
    pub history: Interactions,
    /// Time-decayed popularity and trending.
    pub popularity: Popularity,
    /// Item neighbours from baskets ("frequently bought together").
    pub cooc: ItemNeighbours,
    /// The strongest EASE weights of every item (recency-weighted); `None` when the catalog was
    /// too large to fit it, or for a version trained before it existed.
    pub ease: Option<SparseEase>,
    /// User and item vectors from implicit ALS; `None` when there were too few interactions.
    pub ials: Option<IalsModel>,
    /// Content vector of every item (unit length), from the catalog's text.
    pub content: Option<Array2<f32>>,
}

/// The files of a bundle's parts.
mod files {
    pub const MANIFEST: &str = "manifest.json";
    pub const ITEMS: &str = "items.json";
    pub const USERS: &str = "users.json";
    pub const ITEM_GROUPS: &str = "item_groups.json";
    pub const HISTORY: &str = "history.json";
    pub const POPULARITY: &str = "popularity.json";
    pub const COOC: &str = "cooc.json";
    pub const EASE: &str = "ease.json";
    pub const IALS: &str = "ials.json";
    pub const CONTENT: &str = "content.json";
}

/// Where a store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing a file failed.
    #[error("model store: {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A part could not be encoded or decoded.
    #[error("model store: {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// The bundle is of another layout version.
    #[error("model store: {path} has format {found}, this build reads format {FORMAT_VERSION}")]
    Format {
        /// The manifest.
        path: PathBuf,
        /// Its format.
        found: u32,
    },
    /// No version with that id.
    #[error("model store: no model version `{0}`")]
    UnknownVersion(String),
    /// The parts disagree (a corrupt or hand-edited bundle).
    #[error("model store: inconsistent bundle {model_id}: {reason}")]
    Inconsistent {
        /// The version.
        model_id: String,
        /// What disagrees.
        reason: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_owned(), source }
}

/// The model versions of one index, in one folder.
#[derive(Debug, Clone)]
pub struct ModelStore {
    folder: PathBuf,
}

const CURRENT: &str = "CURRENT";

impl ModelStore {
    /// The store in `folder` (created on first save).
    pub fn new(folder: impl Into<PathBuf>) -> ModelStore {
        ModelStore { folder: folder.into() }
    }

    /// The store's folder.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The folder of version `model_id`, which must be the plain name of a complete version in
    /// this store's folder: an id with a separator, `.`, `..` or a leading dot (a hidden, partial
    /// folder) is no version, so an id from a URL (`..%2F..%2Fother%2Fmodels%2FX`) never reaches
    /// outside the folder — another index's versions included.
    ///
    /// # Errors
    /// [`StoreError::UnknownVersion`] for anything else.
    fn version_folder(&self, model_id: &str) -> Result<PathBuf, StoreError> {
        let unknown = || StoreError::UnknownVersion(model_id.to_owned());
        if !is_plain_version_id(model_id) {
            return Err(unknown());
        }
        let folder = self.folder.join(model_id);
        if !folder.join(files::MANIFEST).is_file() {
            return Err(unknown());
        }
        Ok(folder)
    }

    /// Writes `bundle` as a new version and makes it current. Returns its folder.
    pub fn save(&self, bundle: &ModelBundle) -> Result<PathBuf, StoreError> {
        bundle.check()?;
        let id = &bundle.manifest.model_id;
        if !is_plain_version_id(id) {
            return Err(StoreError::Inconsistent {
                model_id: id.clone(),
                reason: "a version id is a plain folder name".to_owned(),
            });
        }
        std::fs::create_dir_all(&self.folder).map_err(io(&self.folder))?;
        let temporary = self.folder.join(format!(".{id}.partial"));
        if temporary.exists() {
            std::fs::remove_dir_all(&temporary).map_err(io(&temporary))?;
        }
        std::fs::create_dir_all(&temporary).map_err(io(&temporary))?;
        write_json(&temporary.join(files::ITEMS), &bundle.items)?;
        write_json(&temporary.join(files::USERS), &bundle.users)?;
        write_json(&temporary.join(files::ITEM_GROUPS), &bundle.item_groups)?;
        write_json(&temporary.join(files::HISTORY), &bundle.history)?;
        write_json(&temporary.join(files::POPULARITY), &bundle.popularity)?;
        write_json(&temporary.join(files::COOC), &bundle.cooc)?;
        if let Some(ease) = &bundle.ease {
            write_json(&temporary.join(files::EASE), ease)?;
        }
        if let Some(ials) = &bundle.ials {
            write_json(&temporary.join(files::IALS), ials)?;
        }
        if let Some(content) = &bundle.content {
            write_json(&temporary.join(files::CONTENT), content)?;
        }
        // The manifest last: a folder with a manifest is complete.
        write_json(&temporary.join(files::MANIFEST), &bundle.manifest)?;
        let folder = self.folder.join(id);
        std::fs::rename(&temporary, &folder).map_err(io(&folder))?;
        self.activate(id)?;
        Ok(folder)
    }

    /// Makes version `model_id` current (a rollback when it is an older one).
    ///
    /// # Errors
    /// [`StoreError::UnknownVersion`] unless `model_id` names a complete version of this store
    /// (see `version_folder`), or `CURRENT` cannot be written.
    pub fn activate(&self, model_id: &str) -> Result<(), StoreError> {
        self.version_folder(model_id)?;
        let temporary = self.folder.join(format!(".{CURRENT}.partial"));
        std::fs::write(&temporary, model_id).map_err(io(&temporary))?;
        let current = self.folder.join(CURRENT);
        std::fs::rename(&temporary, &current).map_err(io(&current))
    }

    /// The current version's id, if any.
    pub fn current(&self) -> Result<Option<String>, StoreError> {
        let path = self.folder.join(CURRENT);
        match std::fs::read_to_string(&path) {
            Ok(id) => Ok(Some(id.trim().to_owned())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StoreError::Io { path, source: error }),
        }
    }

    /// The manifests of every complete version, oldest first.
    pub fn versions(&self) -> Result<Vec<Manifest>, StoreError> {
        let entries = match std::fs::read_dir(&self.folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(StoreError::Io { path: self.folder.clone(), source: error }),
        };
        let mut manifests = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&self.folder))?;
            let manifest = entry.path().join(files::MANIFEST);
            if entry.file_name().to_string_lossy().starts_with('.') || !manifest.is_file() {
                continue;
            }
            manifests.push(read_manifest(&manifest)?);
        }
        manifests.sort_by(|a, b| a.model_id.cmp(&b.model_id));
        Ok(manifests)
    }

    /// Loads version `model_id`.
    pub fn load(&self, model_id: &str) -> Result<ModelBundle, StoreError> {
        let folder = self.version_folder(model_id)?;
        let manifest_path = folder.join(files::MANIFEST);
        let manifest = read_manifest(&manifest_path)?;
        let bundle = ModelBundle {
            items: read_json(&folder.join(files::ITEMS))?,
            users: read_json(&folder.join(files::USERS))?,
            item_groups: read_json(&folder.join(files::ITEM_GROUPS))?,
            history: read_json(&folder.join(files::HISTORY))?,
            popularity: read_json(&folder.join(files::POPULARITY))?,
            cooc: read_json(&folder.join(files::COOC))?,
            ease: read_optional_json(&folder.join(files::EASE))?,
            ials: read_optional_json(&folder.join(files::IALS))?,
            content: read_optional_json(&folder.join(files::CONTENT))?,
            manifest,
        };
        bundle.check()?;
        Ok(bundle)
    }

    /// Loads the current version, if any.
    pub fn load_current(&self) -> Result<Option<ModelBundle>, StoreError> {
        match self.current()? {
            Some(id) => self.load(&id).map(Some),
            None => Ok(None),
        }
    }

    /// Deletes all but the newest `keep` versions (never the current one). Returns how many went.
    pub fn prune(&self, keep: usize) -> Result<usize, StoreError> {
        let current = self.current()?;
        let versions = self.versions()?;
        let mut removed = 0;
        for manifest in versions.iter().rev().skip(keep) {
            if current.as_deref() == Some(manifest.model_id.as_str()) {
                continue;
            }
            // A manifest names its own version: only a plain name of this folder is deleted.
            let Ok(folder) = self.version_folder(&manifest.model_id) else { continue };
            std::fs::remove_dir_all(&folder).map_err(io(&folder))?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// Whether `model_id` can be a version's folder name: one path component, not `.` or `..`, not
/// hidden (partial versions are written to `.ID.partial`), without a separator of any platform.
fn is_plain_version_id(model_id: &str) -> bool {
    let mut components = Path::new(model_id).components();
    let one_normal_component = matches!(
        (components.next(), components.next()),
        (Some(std::path::Component::Normal(name)), None) if name == model_id
    );
    one_normal_component && !model_id.starts_with('.') && !model_id.contains(['/', '\\', '\0'])
}

impl ModelBundle {
    /// Checks that the parts agree on the number of users and items.
    fn check(&self) -> Result<(), StoreError> {
        let items = self.items.len();
        let users = self.users.len();
        let mut problems = Vec::new();
        if self.history.n_rows() != users || self.history.n_cols() != items {
            problems.push(format!(
                "history is {}×{}, expected {users}×{items}",
                self.history.n_rows(),
                self.history.n_cols()
            ));
        }
        if self.item_groups.len() != items {
            problems.push(format!("{} item groups for {items} items", self.item_groups.len()));
        }
        if self.cooc.n_items() != items {
            problems.push(format!("co-occurrences of {} items for {items}", self.cooc.n_items()));
        }
        if let Some(ease) = &self.ease
            && (ease.weights.n_items() != items || ease.recency.n_rows() != users || ease.recency.n_cols() != items)
        {
            problems.push(format!(
                "EASE of {} items ({}×{} recencies) for {users}×{items}",
                ease.weights.n_items(),
                ease.recency.n_rows(),
                ease.recency.n_cols()
            ));
        }
        if self.popularity.popular().len() != items {
            problems.push(format!("popularity of {} items for {items}", self.popularity.popular().len()));
        }
        if let Some(ials) = &self.ials
            && (ials.n_users() != users || ials.n_items() != items)
        {
            problems.push(format!("ALS factors of {}×{} for {users}×{items}", ials.n_users(), ials.n_items()));
        }
        if let Some(content) = &self.content
            && content.nrows() != items
        {
            problems.push(format!("{} content vectors for {items} items", content.nrows()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Inconsistent { model_id: self.manifest.model_id.clone(), reason: problems.join("; ") })
        }
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), StoreError> {
    let file = std::fs::File::create(path).map_err(io(path))?;
    let mut writer = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut writer, value).map_err(|source| StoreError::Json { path: path.to_owned(), source })?;
    let file =
        writer.into_inner().map_err(|error| StoreError::Io { path: path.to_owned(), source: error.into_error() })?;
    file.sync_all().map_err(io(path))
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|source| StoreError::Json { path: path.to_owned(), source })
}

fn read_optional_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    if path.is_file() { read_json(path).map(Some) } else { Ok(None) }
}

fn read_manifest(path: &Path) -> Result<Manifest, StoreError> {
    let manifest: Manifest = read_json(path)?;
    if manifest.format != FORMAT_VERSION {
        return Err(StoreError::Format { path: path.to_owned(), found: manifest.format });
    }
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_of_versions_in_the_folder_can_be_activated() {
        let data = tempfile::tempdir().expect("temp dir");
        // Two indexes' model folders side by side; `other` has a complete version.
        let other = data.path().join("other/models");
        std::fs::create_dir_all(other.join("v1")).expect("folder");
        std::fs::write(other.join("v1").join(files::MANIFEST), "{}").expect("manifest");
        std::fs::create_dir_all(other.join(".v2.partial")).expect("folder");
        std::fs::write(other.join(".v2.partial").join(files::MANIFEST), "{}").expect("manifest");
        let shop = ModelStore::new(data.path().join("shop/models"));
        std::fs::create_dir_all(shop.folder()).expect("folder");
        let absolute = other.join("v1").display().to_string();
        for id in ["../other/models/v1", "../../other/models/v1", absolute.as_str(), "..", ".", "", "v1/", "./v1"] {
            assert!(matches!(shop.activate(id), Err(StoreError::UnknownVersion(_))), "{id:?}");
        }
        assert!(shop.current().expect("read").is_none(), "nothing was activated");
        let other = ModelStore::new(other);
        assert!(other.activate("v1").is_ok(), "a version of the folder");
        assert_eq!(other.current().expect("read").as_deref(), Some("v1"));
        assert!(matches!(other.activate(".v2.partial"), Err(StoreError::UnknownVersion(_))), "partial versions");
        assert!(matches!(other.load("../other/models/v1"), Err(StoreError::UnknownVersion(_))));
    }
}
