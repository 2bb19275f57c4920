use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use vitrine_models::{DataDir, IndexName, Product, ProductId};

use crate::checkpoint::ApplyReport;
use crate::error::CatalogError;
use crate::product_index::ProductIndex;

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CatalogError + '_ {
    move |source| CatalogError::Io { path: path.to_owned(), source }
}

/// A summary of one index, for listings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct IndexSummary {
    /// Its name.
    pub name: IndexName,
    /// Products in its search index.
    pub products: u64,
    /// Interaction-log files (parquet parts) in its folder.
    pub interaction_parts: u64,
    /// How a storefront presents it (its `display` settings: title, search placeholder, facet
    /// labels), readable with the public search key.
    pub display: vitrine_models::settings::DisplaySettings,
}

/// All indexes of a data directory, opened on first use and kept open. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Catalog {
    data_dir: DataDir,
    open: Arc<RwLock<HashMap<IndexName, Arc<ProductIndex>>>>,
}

impl Catalog {
    /// The indexes under `data_dir`.
    pub fn new(data_dir: DataDir) -> Self {
        Catalog { data_dir, open: Arc::default() }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    /// All indexes, sorted by name. Folders whose name is not a valid index name are ignored.
    pub fn list(&self) -> Result<Vec<IndexSummary>, CatalogError> {
        let folder = self.data_dir.indexes();
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(io_error(&folder)(error)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error(&folder))?;
            if !entry.path().is_dir() {
                continue;
            }
            if let Some(name) = entry.file_name().to_str().and_then(|name| IndexName::new(name).ok()) {
                names.push(name);
            }
        }
        names.sort();
        names.iter().map(|name| self.summary(name)).collect()
    }

    /// One index's summary.
    pub fn summary(&self, name: &IndexName) -> Result<IndexSummary, CatalogError> {
        let index = self.get(name)?;
        let interaction_parts = match fs::read_dir(self.data_dir.interactions(name)) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "parquet"))
                .count(),
            Err(_) => 0,
        };
        Ok(IndexSummary {
            name: name.clone(),
            products: index.len(),
            interaction_parts: interaction_parts as u64,
            display: index.settings().display.clone(),
        })
    }

    /// True if the index exists.
    pub fn exists(&self, name: &IndexName) -> bool {
        self.data_dir.index(name).is_dir()
    }

    /// The open index, opening it if needed; [`CatalogError::IndexNotFound`] if it does not exist.
    pub fn get(&self, name: &IndexName) -> Result<Arc<ProductIndex>, CatalogError> {
        if let Some(index) = self.open.read().unwrap_or_else(PoisonError::into_inner).get(name) {
            return Ok(index.clone());
        }
        if !self.exists(name) {
            return Err(CatalogError::IndexNotFound(name.clone()));
        }
        self.open_index(name)
    }

    /// The open index, creating it if it does not exist.
    pub fn get_or_create(&self, name: &IndexName) -> Result<Arc<ProductIndex>, CatalogError> {
        match self.get(name) {
            Err(CatalogError::IndexNotFound(_)) => self.open_index(name),
            other => other,
        }
    }

    fn open_index(&self, name: &IndexName) -> Result<Arc<ProductIndex>, CatalogError> {
        let mut open = self.open.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = open.get(name) {
            return Ok(index.clone());
        }
        let index =
            Arc::new(ProductIndex::open_or_create(&self.data_dir.search_index(name), &self.data_dir.settings(name))?);
        open.insert(name.clone(), index.clone());
        Ok(index)
    }

    /// Deletes an index and everything in its folder.
    pub fn delete(&self, name: &IndexName) -> Result<(), CatalogError> {
        if !self.exists(name) {
            return Err(CatalogError::IndexNotFound(name.clone()));
        }
        // Close it first: its writer holds a lock file inside the folder.
        self.open.write().unwrap_or_else(PoisonError::into_inner).remove(name);
        let folder = self.data_dir.index(name);
        fs::remove_dir_all(&folder).map_err(io_error(&folder))
    }

    /// Every product of an index.
    pub fn products(&self, name: &IndexName) -> Result<Vec<Product>, CatalogError> {
        let index = self.get(name)?;
        index.all().map_err(|error| CatalogError::search(&self.data_dir.search_index(name), error))
    }

    /// One product of an index.
    pub fn product(&self, name: &IndexName, id: &ProductId) -> Result<Option<Product>, CatalogError> {
        let index = self.get(name)?;
        index.get(id).map_err(|error| CatalogError::search(&self.data_dir.search_index(name), error))
    }

    /// Upserts products by id, creating the index if needed (see [`ProductIndex::upsert`]).
    pub fn upsert(
        &self,
        name: &IndexName,
        incoming: impl IntoIterator<Item = Product>,
    ) -> Result<ApplyReport, CatalogError> {
        let index = self.get_or_create(name)?;
        index.upsert(incoming).map_err(|error| CatalogError::search(&self.data_dir.search_index(name), error))
    }
}

#[cfg(test)]
mod tests {
    use vitrine_models::ProductDraft;

    use super::*;

    fn product(id: &str, title: &str, version: u64) -> Product {
        Product::try_from(ProductDraft { id: id.into(), title: title.into(), version, ..Default::default() })
            .expect("valid product")
    }

    #[test]
    fn upserts_insert_replace_and_ignore_stale_versions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let catalog = Catalog::new(DataDir::new(dir.path()));
        let shop = IndexName::new("shop").expect("name");
        assert!(matches!(catalog.summary(&shop), Err(CatalogError::IndexNotFound(_))));

        let report = catalog.upsert(&shop, [product("1", "Mug", 1), product("2", "Cup", 5)]).expect("upsert");
        assert_eq!(report, ApplyReport { inserted: 2, ..ApplyReport::default() });
        let report = catalog.upsert(&shop, [product("1", "Big mug", 2), product("2", "Old cup", 4)]).expect("upsert");
        assert_eq!(report, ApplyReport { updated: 1, stale: 1, ..ApplyReport::default() });
        let report =
            catalog.upsert(&shop, [product("3", "Plate", 1), product("3", "Plate v2", 2), product("3", "x", 1)]);
        assert_eq!(report.expect("upsert"), ApplyReport { inserted: 1, stale: 1, ..ApplyReport::default() });

        let mut titles: Vec<_> = catalog.products(&shop).expect("read").into_iter().map(|p| p.title).collect();
        titles.sort();
        assert_eq!(titles, ["Big mug", "Cup", "Plate v2"]);
        let mug = catalog.product(&shop, &ProductId::new("1").expect("id")).expect("read").expect("present");
        assert_eq!(mug.version, 2);
        assert_eq!(catalog.list().expect("list").len(), 1);
        assert_eq!(catalog.summary(&shop).expect("summary").products, 3);

        catalog.delete(&shop).expect("delete");
        assert!(catalog.list().expect("list").is_empty());
        assert!(matches!(catalog.get(&shop), Err(CatalogError::IndexNotFound(_))));
    }

    #[test]
    fn an_index_reopens_with_its_products() {
        let dir = tempfile::tempdir().expect("temp dir");
        let shop = IndexName::new("shop").expect("name");
        Catalog::new(DataDir::new(dir.path())).upsert(&shop, [product("1", "Mug", 1)]).expect("upsert");
        let reopened = Catalog::new(DataDir::new(dir.path()));
        assert_eq!(reopened.summary(&shop).expect("summary").products, 1);
        let deleted = reopened.get(&shop).expect("open").delete(&ProductId::new("1").expect("id")).expect("delete");
        assert!(deleted);
        assert_eq!(reopened.summary(&shop).expect("summary").products, 0);

        let mut settings = vitrine_models::settings::IndexSettings::default();
        settings.facets.attributes = vec!["colour".into()];
        reopened.get(&shop).expect("open").set_settings(settings.clone()).expect("save settings");
        drop(reopened); // closes the writer, as a restart would
        let again = Catalog::new(DataDir::new(dir.path()));
        assert_eq!(*again.get(&shop).expect("open").settings(), settings, "settings survive a restart");
    }
}
