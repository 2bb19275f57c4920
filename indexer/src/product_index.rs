//! One named index: a tantivy index of products, with its writer and reader.

use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};
use vitrine_models::settings::IndexSettings;
use vitrine_models::{Product, ProductId};

use crate::catalog::{CatalogError, UpsertReport};
use crate::schema::{ProductFields, register_analyzers};

/// Memory the writer may use before it flushes a segment (shared by its threads).
const WRITER_MEMORY_BYTES: usize = 128 * 1024 * 1024;

/// A product index on disk, open for reading and writing.
pub struct ProductIndex {
    index: Index,
    fields: ProductFields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    settings: RwLock<Arc<IndexSettings>>,
    settings_path: PathBuf,
}

impl std::fmt::Debug for ProductIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductIndex").field("documents", &self.len()).finish_non_exhaustive()
    }
}

impl ProductIndex {
    /// Opens the index in `folder`, creating it (and the folder) if there is none, with its
    /// settings from `settings_path` (defaults when the file does not exist).
    pub fn open_or_create(folder: &Path, settings_path: &Path) -> Result<ProductIndex, CatalogError> {
        let settings: IndexSettings = match std::fs::read(settings_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| CatalogError::Settings {
                path: settings_path.to_owned(),
                reason: error.to_string(),
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => IndexSettings::default(),
            Err(source) => return Err(CatalogError::Io { path: settings_path.to_owned(), source }),
        };
        settings.check().map_err(|reason| CatalogError::Settings { path: settings_path.to_owned(), reason })?;
        std::fs::create_dir_all(folder).map_err(|source| CatalogError::Io { path: folder.to_owned(), source })?;
        let directory = MmapDirectory::open(folder).map_err(|error| CatalogError::search(folder, error.into()))?;
        let (schema, _) = ProductFields::schema();
        let index = Index::open_or_create(directory, schema).map_err(|error| CatalogError::search(folder, error))?;
        register_analyzers(&index);
        let fields =
            ProductFields::from_schema(&index.schema()).map_err(|error| CatalogError::search(folder, error))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|error| CatalogError::search(folder, error))?;
        let writer = index.writer(WRITER_MEMORY_BYTES).map_err(|error| CatalogError::search(folder, error))?;
        Ok(ProductIndex {
            index,
            fields,
            reader,
            writer: Mutex::new(writer),
            settings: RwLock::new(Arc::new(settings)),
            settings_path: settings_path.to_owned(),
        })
    }

    /// The current settings (a snapshot: a search keeps the settings it started with).
    pub fn settings(&self) -> Arc<IndexSettings> {
        self.settings.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Checks, replaces and saves the settings (atomically: temporary file, then rename). They take
    /// effect for the next search; nothing is reindexed.
    pub fn set_settings(&self, settings: IndexSettings) -> Result<(), CatalogError> {
        settings.check().map_err(CatalogError::InvalidSettings)?;
        let path = &self.settings_path;
        let temporary = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&settings)
            .map_err(|error| CatalogError::Settings { path: path.clone(), reason: error.to_string() })?;
        std::fs::write(&temporary, bytes).map_err(|source| CatalogError::Io { path: temporary.clone(), source })?;
        std::fs::rename(&temporary, path).map_err(|source| CatalogError::Io { path: path.clone(), source })?;
        *self.settings.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(settings);
        Ok(())
    }

    /// The tantivy index (for queries and analyzers).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The schema's field handles.
    pub fn fields(&self) -> &ProductFields {
        &self.fields
    }

    /// A searcher over the last commit.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Number of products.
    pub fn len(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// True when the index holds no product.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where a product's document is, if it is indexed.
    fn address(&self, searcher: &Searcher, id: &ProductId) -> tantivy::Result<Option<DocAddress>> {
        let query = TermQuery::new(Term::from_field_text(self.fields.id, id.as_str()), IndexRecordOption::Basic);
        Ok(searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?.first().map(|(_, address)| *address))
    }

    /// The stored product of a document.
    pub fn product_at(&self, searcher: &Searcher, address: DocAddress) -> tantivy::Result<Product> {
        let document: TantivyDocument = searcher.doc(address)?;
        let bytes = document.get_first(self.fields.source).and_then(|value| value.as_bytes()).unwrap_or_default();
        serde_json::from_slice(bytes).map_err(|error| tantivy::TantivyError::InternalError(error.to_string()))
    }

    /// One product by id.
    pub fn get(&self, id: &ProductId) -> tantivy::Result<Option<Product>> {
        let searcher = self.searcher();
        match self.address(&searcher, id)? {
            Some(address) => self.product_at(&searcher, address).map(Some),
            None => Ok(None),
        }
    }

    /// Every product, in index order.
    pub fn all(&self) -> tantivy::Result<Vec<Product>> {
        let searcher = self.searcher();
        let mut products = Vec::with_capacity(searcher.num_docs() as usize);
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            for doc_id in segment.doc_ids_alive() {
                products.push(self.product_at(&searcher, DocAddress::new(segment_ord as u32, doc_id))?);
            }
        }
        Ok(products)
    }

    /// The stored version of a product, if it is indexed.
    fn stored_version(&self, searcher: &Searcher, id: &ProductId) -> tantivy::Result<Option<u64>> {
        let Some(address) = self.address(searcher, id)? else {
            return Ok(None);
        };
        let segment = searcher.segment_reader(address.segment_ord);
        let versions = segment.fast_fields().u64("version")?;
        Ok(Some(versions.first(address.doc_id).unwrap_or(0)))
    }

    /// Upserts products by id (delete the old document, add the new one), then commits and
    /// reloads readers. A product whose stored version is newer is skipped as stale; within one
    /// batch the last of the highest version wins.
    pub fn upsert(&self, incoming: impl IntoIterator<Item = Product>) -> tantivy::Result<UpsertReport> {
        let mut latest: HashMap<ProductId, Product> = HashMap::new();
        let mut report = UpsertReport::default();
        for product in incoming {
            match latest.get(&product.id) {
                Some(kept) if kept.version > product.version => report.stale += 1,
                Some(_) => {
                    report.stale += 1;
                    latest.insert(product.id.clone(), product);
                }
                None => {
                    latest.insert(product.id.clone(), product);
                }
            }
        }
        let searcher = self.searcher();
        let check_versions = searcher.num_docs() > 0;
        let mut writer = self.writer();
        for product in latest.into_values() {
            let stored = if check_versions { self.stored_version(&searcher, &product.id)? } else { None };
            match stored {
                Some(version) if version > product.version => {
                    report.stale += 1;
                    continue;
                }
                Some(_) => report.updated += 1,
                None => report.inserted += 1,
            }
            writer.delete_term(Term::from_field_text(self.fields.id, product.id.as_str()));
            writer.add_document(self.fields.document(&product))?;
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(report)
    }

    /// Deletes a product; returns whether it existed.
    pub fn delete(&self, id: &ProductId) -> tantivy::Result<bool> {
        let existed = self.address(&self.searcher(), id)?.is_some();
        if existed {
            let mut writer = self.writer();
            writer.delete_term(Term::from_field_text(self.fields.id, id.as_str()));
            writer.commit()?;
            drop(writer);
            self.reader.reload()?;
        }
        Ok(existed)
    }
}
