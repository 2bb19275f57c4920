use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use vitrine_models::{DataDir, IndexName, Product, ProductId};

/// Failures of the catalog store.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No index of that name exists in the data directory.
    #[error("index `{0}` not found")]
    IndexNotFound(IndexName),
    /// Reading or writing the data directory failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A stored catalog line is not a valid product: the data directory was damaged.
    #[error("{path} line {line} is damaged: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why it does not parse.
        reason: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CatalogError + '_ {
    move |source| CatalogError::Io { path: path.to_owned(), source }
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertReport {
    /// Products that were not in the catalog.
    pub inserted: u64,
    /// Products that replaced a stored one with an equal or lower version.
    pub updated: u64,
    /// Products ignored because the stored version is newer.
    pub stale: u64,
}

/// A summary of one index, for listings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IndexSummary {
    /// Its name.
    pub name: IndexName,
    /// Products in its catalog.
    pub products: u64,
    /// Interaction-log files (parquet parts) in its folder.
    pub interaction_parts: u64,
}

/// The catalogs of all indexes of a data directory.
#[derive(Debug, Clone)]
pub struct Catalog {
    data_dir: DataDir,
}

impl Catalog {
    /// The catalogs under `data_dir`.
    pub fn new(data_dir: DataDir) -> Self {
        Catalog { data_dir }
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
        self.require(name)?;
        let products = match File::open(self.data_dir.products(name)) {
            Ok(file) => {
                BufReader::new(file).lines().map_while(Result::ok).filter(|line| !line.trim().is_empty()).count()
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
            Err(error) => return Err(io_error(&self.data_dir.products(name))(error)),
        };
        let interaction_parts = match fs::read_dir(self.data_dir.interactions(name)) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "parquet"))
                .count(),
            Err(_) => 0,
        };
        Ok(IndexSummary { name: name.clone(), products: products as u64, interaction_parts: interaction_parts as u64 })
    }

    /// True if the index exists.
    pub fn exists(&self, name: &IndexName) -> bool {
        self.data_dir.index(name).is_dir()
    }

    fn require(&self, name: &IndexName) -> Result<(), CatalogError> {
        if self.exists(name) { Ok(()) } else { Err(CatalogError::IndexNotFound(name.clone())) }
    }

    /// Creates the index's folder if it does not exist.
    pub fn create(&self, name: &IndexName) -> Result<(), CatalogError> {
        let folder = self.data_dir.index(name);
        fs::create_dir_all(&folder).map_err(io_error(&folder))
    }

    /// Deletes an index and everything in its folder.
    pub fn delete(&self, name: &IndexName) -> Result<(), CatalogError> {
        self.require(name)?;
        let folder = self.data_dir.index(name);
        fs::remove_dir_all(&folder).map_err(io_error(&folder))
    }

    /// Every product of an index, by id.
    pub fn products(&self, name: &IndexName) -> Result<BTreeMap<ProductId, Product>, CatalogError> {
        self.require(name)?;
        let path = self.data_dir.products(name);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(error) => return Err(io_error(&path)(error)),
        };
        let mut products = BTreeMap::new();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(io_error(&path))?;
            if line.trim().is_empty() {
                continue;
            }
            let product: Product = serde_json::from_str(&line).map_err(|error| CatalogError::Corrupt {
                path: path.clone(),
                line: index + 1,
                reason: error.to_string(),
            })?;
            products.insert(product.id.clone(), product);
        }
        Ok(products)
    }

    /// Upserts products by id, creating the index if needed. A product replaces the stored one
    /// unless the stored version is newer. The catalog file is replaced atomically.
    pub fn upsert(
        &self,
        name: &IndexName,
        incoming: impl IntoIterator<Item = Product>,
    ) -> Result<UpsertReport, CatalogError> {
        self.create(name)?;
        let mut products = self.products(name)?;
        let mut report = UpsertReport::default();
        for product in incoming {
            match products.get(&product.id) {
                Some(stored) if stored.version > product.version => report.stale += 1,
                Some(_) => {
                    report.updated += 1;
                    products.insert(product.id.clone(), product);
                }
                None => {
                    report.inserted += 1;
                    products.insert(product.id.clone(), product);
                }
            }
        }
        self.write(name, products.values())?;
        Ok(report)
    }

    fn write<'a>(&self, name: &IndexName, products: impl Iterator<Item = &'a Product>) -> Result<(), CatalogError> {
        let path = self.data_dir.products(name);
        let temporary = path.with_extension("jsonl.tmp");
        let file = File::create(&temporary).map_err(io_error(&temporary))?;
        let mut writer = BufWriter::new(file);
        for product in products {
            serde_json::to_writer(&mut writer, product)
                .map_err(|error| io_error(&temporary)(std::io::Error::other(error)))?;
            writer.write_all(b"\n").map_err(io_error(&temporary))?;
        }
        let file = writer.into_inner().map_err(|error| io_error(&temporary)(error.into_error()))?;
        file.sync_all().map_err(io_error(&temporary))?;
        fs::rename(&temporary, &path).map_err(io_error(&path))
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
        assert_eq!(report, UpsertReport { inserted: 2, updated: 0, stale: 0 });
        let report = catalog.upsert(&shop, [product("1", "Big mug", 2), product("2", "Old cup", 4)]).expect("upsert");
        assert_eq!(report, UpsertReport { inserted: 0, updated: 1, stale: 1 });

        let products = catalog.products(&shop).expect("read");
        let titles: Vec<_> = products.values().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Big mug", "Cup"]);
        assert_eq!(catalog.list().expect("list").len(), 1);
        assert_eq!(catalog.summary(&shop).expect("summary").products, 2);

        catalog.delete(&shop).expect("delete");
        assert!(catalog.list().expect("list").is_empty());
    }

    #[test]
    fn a_damaged_catalog_is_reported_not_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let catalog = Catalog::new(DataDir::new(dir.path()));
        let shop = IndexName::new("shop").expect("name");
        catalog.upsert(&shop, [product("1", "Mug", 1)]).expect("upsert");
        fs::write(catalog.data_dir().products(&shop), "{\"id\":\"1\",\"title\":\"ok\"}\n{broken\n").expect("write");
        assert!(matches!(catalog.products(&shop), Err(CatalogError::Corrupt { line: 2, .. })));
    }
}
