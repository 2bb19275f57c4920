//! Index aliases: a stable name (`shop`) for whichever index serves now (`shop-2026-12`), so a
//! full reindex — a new analyzer, a new schema — is built beside the live index and switched to
//! in one step (docs/operations.md).
//!
//! The aliases live in memory behind one lock and in `DATA_DIR/aliases.json` (written to a
//! temporary file, synced, renamed). A switch replaces the map under the lock: each request
//! resolves its alias once, at its start, so it runs wholly on the old index or wholly on the new
//! one, and both exist throughout. An alias cannot have an index's name; it points at an index,
//! never at another alias.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use vitrine_models::{DataDir, IndexName};

/// What can go wrong with an alias.
#[derive(Debug, thiserror::Error)]
pub enum AliasError {
    /// The alias name is not a valid index name, or the target is an alias.
    #[error("{0}")]
    Invalid(String),
    /// No alias of that name.
    #[error("alias `{0}` not found")]
    NotFound(String),
    /// The name is an index's (or, creating an index, an alias's).
    #[error("{0}")]
    Conflict(String),
    /// The aliases file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// One alias and the index it names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Alias {
    /// The alias.
    pub alias: String,
    /// The index it names.
    pub index: String,
}

/// The aliases of a data directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Aliases {
    path: PathBuf,
    map: Arc<RwLock<Arc<BTreeMap<String, String>>>>,
    /// Serialises writes (file and map change together).
    write: Arc<Mutex<()>>,
}

impl Aliases {
    /// The aliases of `data_dir` (none when it has no aliases file).
    ///
    /// # Errors
    /// The aliases file exists but cannot be read or is not an object of names.
    pub fn open(data_dir: &DataDir) -> Result<Aliases, AliasError> {
        let path = data_dir.aliases();
        let map = read(&path)?;
        Ok(Aliases { path, map: Arc::new(RwLock::new(Arc::new(map))), write: Arc::default() })
    }

    /// No aliases, saved to `data_dir`'s aliases file on the first change (which replaces an
    /// unreadable one).
    pub fn empty(data_dir: &DataDir) -> Aliases {
        Aliases { path: data_dir.aliases(), map: Arc::default(), write: Arc::default() }
    }

    fn current(&self) -> Arc<BTreeMap<String, String>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The index `name` stands for, if it is an alias.
    pub fn resolve(&self, name: &str) -> Option<String> {
        self.current().get(name).cloned()
    }

    /// True if `name` is an alias.
    pub fn is_alias(&self, name: &str) -> bool {
        self.current().contains_key(name)
    }

    /// Every alias, by name.
    pub fn list(&self) -> Vec<Alias> {
        self.current().iter().map(|(alias, index)| Alias { alias: alias.clone(), index: index.clone() }).collect()
    }

    /// One alias.
    ///
    /// # Errors
    /// [`AliasError::NotFound`].
    pub fn get(&self, alias: &str) -> Result<Alias, AliasError> {
        let index = self.resolve(alias).ok_or_else(|| AliasError::NotFound(alias.to_owned()))?;
        Ok(Alias { alias: alias.to_owned(), index })
    }

    /// The aliases naming `index`.
    pub fn naming(&self, index: &str) -> Vec<String> {
        self.current().iter().filter(|(_, target)| *target == index).map(|(alias, _)| alias.clone()).collect()
    }

    /// Points `alias` at `index` (creating or switching it) in one step; returns the index it
    /// named before. `index_exists` says whether a name is an index.
    ///
    /// # Errors
    /// An invalid alias name, an alias with an index's name, a target that is an alias
    /// ([`AliasError::Invalid`], [`AliasError::Conflict`]), or the file cannot be written.
    pub fn set(
        &self,
        alias: &str,
        index: &IndexName,
        index_exists: impl Fn(&IndexName) -> bool,
    ) -> Result<Option<String>, AliasError> {
        let name = IndexName::new(alias).map_err(|error| AliasError::Invalid(format!("alias name: {error}")))?;
        if index_exists(&name) {
            return Err(AliasError::Conflict(format!("`{alias}` is an index; an alias cannot have an index's name")));
        }
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut map = (*self.current()).clone();
        if map.contains_key(index.as_str()) {
            return Err(AliasError::Invalid(format!(
                "`{index}` is an alias; an alias names an index, not another alias"
            )));
        }
        let previous = map.insert(alias.to_owned(), index.to_string());
        self.save(map)?;
        Ok(previous)
    }

    /// Deletes `alias` (its index stays); returns the index it named.
    ///
    /// # Errors
    /// [`AliasError::NotFound`], or the file cannot be written.
    pub fn remove(&self, alias: &str) -> Result<String, AliasError> {
        let _write = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut map = (*self.current()).clone();
        let index = map.remove(alias).ok_or_else(|| AliasError::NotFound(alias.to_owned()))?;
        self.save(map)?;
        Ok(index)
    }

    /// Writes `map` (temporary file, sync, rename), then makes it current.
    fn save(&self, map: BTreeMap<String, String>) -> Result<(), AliasError> {
        let io = |source| AliasError::Io { path: self.path.clone(), source };
        let bytes = serde_json::to_vec_pretty(&map).map_err(|error| io(std::io::Error::other(error)))?;
        if let Some(folder) = self.path.parent() {
            std::fs::create_dir_all(folder).map_err(io)?;
        }
        let temporary = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(&bytes).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, &self.path).map_err(io)?;
        *self.map.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(map);
        Ok(())
    }
}

fn read(path: &Path) -> Result<BTreeMap<String, String>, AliasError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| AliasError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(AliasError::Io { path: path.to_owned(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_switch_in_one_step_survive_a_restart_and_keep_their_rules() {
        let folder = tempfile::tempdir().expect("temp dir");
        let data_dir = DataDir::new(folder.path());
        let aliases = Aliases::open(&data_dir).expect("open");
        let (v1, v2) = (IndexName::new("shop-v1").expect("name"), IndexName::new("shop-v2").expect("name"));
        let indexes = |name: &IndexName| name.as_str().starts_with("shop-v");
        assert_eq!(aliases.set("shop", &v1, indexes).expect("set"), None);
        assert_eq!(aliases.resolve("shop").as_deref(), Some("shop-v1"));
        assert_eq!(aliases.set("shop", &v2, indexes).expect("switch").as_deref(), Some("shop-v1"));
        assert_eq!(Aliases::open(&data_dir).expect("reopen").resolve("shop").as_deref(), Some("shop-v2"));
        assert_eq!(aliases.naming("shop-v2"), ["shop"]);

        assert!(matches!(aliases.set("shop-v1", &v2, indexes), Err(AliasError::Conflict(_))));
        let shop = IndexName::new("shop").expect("name");
        assert!(matches!(aliases.set("store", &shop, indexes), Err(AliasError::Invalid(_))));
        assert!(matches!(aliases.set("Bad Name!", &v1, indexes), Err(AliasError::Invalid(_))));
        assert_eq!(aliases.remove("shop").expect("removed"), "shop-v2");
        assert!(matches!(aliases.remove("shop"), Err(AliasError::NotFound(_))));
        assert!(Aliases::open(&data_dir).expect("reopen").list().is_empty());
    }
}
