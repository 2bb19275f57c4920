//! One named index: a tantivy index of products, with its writer and reader.

use std::path::Path;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use chrono::Utc;
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::index::SegmentId;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};
use vitrine_models::settings::IndexSettings;
use vitrine_models::{Change, DataDir, Product, ProductEvent, ProductId};

use crate::analysis::{analyzers, language_change, register_analyzers};
use crate::checkpoint::{ApplyReport, Checkpoint};
use crate::error::CatalogError;
use crate::schema::ProductFields;

/// Indexing threads of the writer. Each thread that got documents writes its own segment at a
/// commit, and every file of a segment is fsynced: with one thread a Kafka batch of a hundred
/// events costs half the fsyncs (and half the later merges) of two, which is most of the time
/// from produced to searchable; bulk loads stay well above 10,000 products/s on it.
const WRITER_THREADS: usize = 1;

/// Memory the writer may use before it flushes a segment (shared by its threads).
const WRITER_MEMORY_BYTES: usize = 128 * 1024 * 1024;

/// Uncompressed size of a doc store block. Showing a hit decompresses the whole block that holds
/// it; tantivy's default (16 KiB) is about 80 products of a small catalog, so a page of 20 hits
/// decompressed ~1,600 products. Smaller blocks compress a little less. Applies to indexes created
/// from now on (an index keeps the settings it was created with).
const DOC_STORE_BLOCK_BYTES: usize = 4 * 1024;

/// A product index on disk, open for reading and writing.
pub struct ProductIndex {
    index: Index,
    fields: ProductFields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    settings: RwLock<Arc<IndexSettings>>,
    settings_path: PathBuf,
    /// Serialises settings writes and their history lines.
    settings_write: Mutex<()>,
    /// The payload of the last commit: Kafka offsets and tombstones.
    checkpoint: Mutex<Checkpoint>,
}

/// The author of version 1 of a settings history: the settings as they were before the first
/// recorded change.
pub const BASELINE_ACTOR: &str = "vitrine";

/// One saved version of an index's settings: the audit log and the rollback points.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SettingsVersion {
    /// 1, 2, …
    pub version: u64,
    /// When it was saved.
    pub at: chrono::DateTime<Utc>,
    /// Who saved it (the console sends the merchandiser's name; `admin` otherwise).
    pub actor: String,
    /// The parts that differ from the settings before (`synonyms`, `rules`, …).
    pub changed: Vec<String>,
    /// The version it brought back, for a rollback.
    pub restored_from: Option<u64>,
    /// The whole settings of this version.
    pub settings: IndexSettings,
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
        let exists = Index::exists(&directory).map_err(|error| CatalogError::search(folder, error.into()))?;
        let index = if exists {
            // With the schema it was created with: an index from before text fields had their own
            // languages has one analyzer name for all its stemmed fields.
            Index::open(directory)
        } else {
            let (schema, _) = ProductFields::schema();
            let index_settings =
                tantivy::IndexSettings { docstore_blocksize: DOC_STORE_BLOCK_BYTES, ..Default::default() };
            Index::create(directory, schema, index_settings)
        }
        .map_err(|error| CatalogError::search(folder, error))?;
        register_analyzers(&index, &settings)
            .map_err(|reason| CatalogError::Settings { path: settings_path.to_owned(), reason })?;
        let fields =
            ProductFields::from_schema(&index.schema()).map_err(|error| CatalogError::search(folder, error))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|error| CatalogError::search(folder, error))?;
        let writer = index
            .writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BYTES)
            .map_err(|error| CatalogError::search(folder, error))?;
        let metas = index.load_metas().map_err(|error| CatalogError::search(folder, error))?;
        let checkpoint = match metas.payload.as_deref() {
            Some(payload) => serde_json::from_str(payload).map_err(|error| {
                CatalogError::search(folder, tantivy::TantivyError::InternalError(format!("commit payload: {error}")))
            })?,
            None => Checkpoint::default(),
        };
        Ok(ProductIndex {
            index,
            fields,
            reader,
            writer: Mutex::new(writer),
            settings: RwLock::new(Arc::new(settings)),
            settings_path: settings_path.to_owned(),
            settings_write: Mutex::new(()),
            checkpoint: Mutex::new(checkpoint),
        })
    }

    /// The current settings (a snapshot: a search keeps the settings it started with).
    pub fn settings(&self) -> Arc<IndexSettings> {
        self.settings.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Checks, replaces and saves the settings (atomically: temporary file, then rename). They take
    /// effect for the next search; nothing is reindexed.
    ///
    /// # Errors
    /// Settings that fail their check; settings that change the language of a text field while
    /// the index holds products, which were analysed in the old one
    /// ([`CatalogError::LanguageChangeRequiresReindex`]); a file that cannot be written.
    pub fn set_settings(&self, settings: IndexSettings) -> Result<(), CatalogError> {
        settings.check().map_err(CatalogError::InvalidSettings)?;
        let _writer = self.writer_if_language_changes(&settings);
        self.refuse_language_change(&settings)?;
        self.put_in_force(settings)
    }

    /// The writer, held while settings that change the language of a text field are checked and
    /// put in force: no batch is indexed meanwhile, and the next batch's segment is created with
    /// the analyzers registered by then (tantivy reads them when it creates a segment).
    fn writer_if_language_changes(&self, settings: &IndexSettings) -> Option<MutexGuard<'_, IndexWriter>> {
        language_change(&self.settings(), settings).map(|_| self.writer())
    }

    /// Refuses settings that change the language of a text field of an index that holds products,
    /// or that its schema cannot analyse (fields sharing one analyzer in different languages).
    fn refuse_language_change(&self, settings: &IndexSettings) -> Result<(), CatalogError> {
        let Some(change) = language_change(&self.settings(), settings) else {
            return Ok(());
        };
        let products = self.len();
        if products > 0 {
            let noun = if products == 1 { "product was" } else { "products were" };
            return Err(CatalogError::LanguageChangeRequiresReindex(format!(
                "the language of an index's text cannot change once it holds products ({change}): its \
                 {products} {noun} analysed in the old language; reindex into a new index created with the \
                 new language (or set the language while the index is empty)"
            )));
        }
        analyzers(&self.index, settings).map(|_| ()).map_err(CatalogError::LanguageChangeRequiresReindex)
    }

    /// Saves checked settings and puts them in force, with the analyzers of their languages when
    /// these change (see [`ProductIndex::refuse_language_change`]; the caller holds the writer).
    fn put_in_force(&self, settings: IndexSettings) -> Result<(), CatalogError> {
        let changes_language = language_change(&self.settings(), &settings).is_some();
        if changes_language {
            register_analyzers(&self.index, &settings).map_err(CatalogError::LanguageChangeRequiresReindex)?;
        }
        if let Err(error) = self.save_settings(&settings) {
            if changes_language {
                // The settings still in force keep their analyzers.
                register_analyzers(&self.index, &self.settings()).map_err(CatalogError::InvalidSettings)?;
            }
            return Err(error);
        }
        *self.settings.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(settings);
        Ok(())
    }

    /// Writes settings to the settings file.
    fn save_settings(&self, settings: &IndexSettings) -> Result<(), CatalogError> {
        let path = &self.settings_path;
        let temporary = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(settings)
            .map_err(|error| CatalogError::Settings { path: path.clone(), reason: error.to_string() })?;
        std::fs::write(&temporary, bytes).map_err(|source| CatalogError::Io { path: temporary.clone(), source })?;
        std::fs::rename(&temporary, path).map_err(|source| CatalogError::Io { path: path.clone(), source })
    }

    /// Saves `settings` as a new version in the index's settings history (the audit log: who, when,
    /// which parts changed; `restored_from` when it brings an older version back), then applies
    /// them. The history is `settings.history.jsonl` beside `settings.json`, one version a line.
    /// The first recorded change is preceded by version 1: the settings as they were until then
    /// (by [`BASELINE_ACTOR`], nothing changed), so that the first change can be rolled back too.
    ///
    /// # Errors
    /// As [`ProductIndex::set_settings`].
    pub fn set_settings_as(
        &self,
        settings: IndexSettings,
        actor: &str,
        restored_from: Option<u64>,
    ) -> Result<SettingsVersion, CatalogError> {
        settings.check().map_err(CatalogError::InvalidSettings)?;
        let _writing = self.settings_write.lock().unwrap_or_else(PoisonError::into_inner);
        // A refused language change leaves no version behind.
        let _writer = self.writer_if_language_changes(&settings);
        self.refuse_language_change(&settings)?;
        let current = self.settings();
        let before = serde_json::to_value(&*current).unwrap_or_default();
        let after = serde_json::to_value(&settings).unwrap_or_default();
        let changed = vitrine_models::settings::SETTINGS_PARTS
            .iter()
            .filter(|part| before.get(**part) != after.get(**part))
            .map(|part| (*part).to_owned())
            .collect();
        let mut last = self.settings_history()?.last().map(|last| last.version);
        if last.is_none() {
            let baseline = SettingsVersion {
                version: 1,
                at: Utc::now(),
                actor: BASELINE_ACTOR.to_owned(),
                changed: Vec::new(),
                restored_from: None,
                settings: IndexSettings::clone(&current),
            };
            self.append_version(&baseline)?;
            last = Some(1);
        }
        let version = SettingsVersion {
            version: last.map_or(1, |last| last + 1),
            at: Utc::now(),
            actor: actor.to_owned(),
            changed,
            restored_from,
            settings: settings.clone(),
        };
        self.append_version(&version)?;
        self.put_in_force(settings)?;
        Ok(version)
    }

    /// Appends one version to the settings history, synced to disk.
    fn append_version(&self, version: &SettingsVersion) -> Result<(), CatalogError> {
        let path = self.history_path();
        let mut line = serde_json::to_vec(version)
            .map_err(|error| CatalogError::Settings { path: path.clone(), reason: error.to_string() })?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| CatalogError::Io { path: path.clone(), source })?;
        std::io::Write::write_all(&mut file, &line)
            .map_err(|source| CatalogError::Io { path: path.clone(), source })?;
        file.sync_data().map_err(|source| CatalogError::Io { path, source })
    }

    /// Every saved settings version, oldest first (empty before the first recorded write).
    ///
    /// # Errors
    /// A history file that cannot be read or has a line that is not a version.
    pub fn settings_history(&self) -> Result<Vec<SettingsVersion>, CatalogError> {
        let path = self.history_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(CatalogError::Io { path, source }),
        };
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line)
                    .map_err(|error| CatalogError::Settings { path: path.clone(), reason: error.to_string() })
            })
            .collect()
    }

    fn history_path(&self) -> PathBuf {
        DataDir::settings_history_of(&self.settings_path)
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

    /// The writer; holding it serialises changes.
    pub(crate) fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the last commit recorded: Kafka offsets and tombstones.
    pub fn checkpoint(&self) -> Checkpoint {
        self.checkpoint.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn set_checkpoint(&self, checkpoint: Checkpoint) {
        *self.checkpoint.lock().unwrap_or_else(PoisonError::into_inner) = checkpoint;
    }

    /// Merges the segments the last commit created (one per indexing thread that got documents)
    /// into one, so that a commit adds one segment, not one per thread: a search walks the term
    /// dictionary of every segment for each typo-tolerant word, and on a catalog loaded in one
    /// batch that walk was a quarter of the search time. The commit payload is kept. A failed
    /// merge loses nothing (the commit stands, in several segments), so it is only logged.
    pub(crate) fn merge_new_segments(&self, writer: &mut IndexWriter, before: &[SegmentId]) {
        let new_segments = match self.index.searchable_segment_ids() {
            Ok(segments) => segments.into_iter().filter(|segment| !before.contains(segment)).collect::<Vec<_>>(),
            Err(error) => {
                tracing::warn!(%error, "cannot list the segments of a commit");
                return;
            }
        };
        if new_segments.len() < 2 {
            return;
        }
        if let Err(error) = writer.merge(&new_segments).wait() {
            tracing::warn!(%error, segments = new_segments.len(), "cannot merge the segments of a commit");
        }
    }

    /// Makes the last commit visible to new searchers.
    pub(crate) fn reload(&self) -> tantivy::Result<()> {
        self.reader.reload()
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

    /// Merges every segment into one when some hold deleted documents, so that relevance
    /// statistics (BM25 document frequencies) count live products only: two replicas that applied
    /// the same events in different batches then score alike. The commit payload is kept. Returns
    /// whether it merged.
    pub fn compact(&self) -> tantivy::Result<bool> {
        let searcher = self.searcher();
        if searcher.segment_readers().iter().all(|segment| segment.num_deleted_docs() == 0) {
            return Ok(false);
        }
        let segments = self.index.searchable_segment_ids()?;
        let mut writer = self.writer();
        writer.merge(&segments).wait()?;
        drop(writer);
        self.reload()?;
        Ok(true)
    }

    /// Upserts products by id as `product_upserted` events (see [`ProductIndex::apply`]): one
    /// commit, readers reloaded. A product whose known version is newer, or equal and not 0, is
    /// skipped as stale.
    pub fn upsert(&self, incoming: impl IntoIterator<Item = Product>) -> tantivy::Result<ApplyReport> {
        let now = Utc::now();
        self.apply(incoming.into_iter().map(|product| ProductEvent::upserted(product, String::new(), now)), None)
    }

    /// Deletes a product as a `product_deleted` event (unversioned: its last version is kept as
    /// the tombstone); returns whether it existed.
    pub fn delete(&self, id: &ProductId) -> tantivy::Result<bool> {
        let event = ProductEvent {
            event_id: String::new(),
            product_id: id.clone(),
            version: 0,
            occurred_at: Utc::now(),
            change: Change::Deleted,
        };
        Ok(self.apply([event], None)?.deleted > 0)
    }
}

#[cfg(test)]
mod tests {
    use vitrine_models::ProductDraft;
    use vitrine_models::settings::Language;

    use super::*;
    use crate::schema::{STEMMED_ANALYZER, TextField};

    fn product(id: &str, title: &str) -> Product {
        Product::try_from(ProductDraft { id: id.into(), title: title.into(), ..Default::default() }).expect("product")
    }

    fn in_language(language: Language) -> IndexSettings {
        IndexSettings { language, ..IndexSettings::default() }
    }

    /// How many products have `term` in their stemmed title.
    fn stemmed_titles_with(index: &ProductIndex, term: &str) -> u64 {
        let term = Term::from_field_text(index.fields().stemmed(TextField::Title), term);
        index.searcher().doc_freq(&term).expect("doc freq")
    }

    fn open(dir: &Path) -> ProductIndex {
        ProductIndex::open_or_create(&dir.join("search"), &dir.join("settings.json")).expect("open")
    }

    #[test]
    fn an_empty_index_takes_a_language_and_keeps_it_once_it_holds_products() {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = open(dir.path());
        index.set_settings_as(in_language(Language::French), "test", None).expect("an empty index may change");
        index.upsert([product("1", "Animaux en chocolat")]).expect("index");
        assert_eq!(stemmed_titles_with(&index, "animal"), 1, "analysed in French: `animaux` is `animal`");

        let history = index.settings_history().expect("history").len();
        let refused = index.set_settings_as(in_language(Language::German), "test", None).expect_err("not empty");
        let CatalogError::LanguageChangeRequiresReindex(message) = refused else { panic!("{refused:?}") };
        assert!(message.contains("`title`: fr → de") && message.contains("reindex into a new index"), "{message}");
        assert_eq!(index.settings().language, Language::French, "nothing changed");
        assert_eq!(index.settings_history().expect("history").len(), history, "no version recorded");
        let mut override_one = in_language(Language::French);
        override_one.field_languages.description = Some(Language::German);
        assert!(matches!(index.set_settings(override_one), Err(CatalogError::LanguageChangeRequiresReindex(_))));
        let mut same_language = in_language(Language::French);
        same_language.field_languages.title = Some(Language::French);
        same_language.ranking.title = 5.0;
        index.set_settings(same_language).expect("other parts, and naming the same language, are fine");

        drop(index);
        let reopened = open(dir.path());
        reopened.upsert([product("2", "Chevaux de bois")]).expect("index");
        assert_eq!(stemmed_titles_with(&reopened, "cheval"), 1, "reopened in French");
    }

    #[test]
    fn emptied_index_may_change_language_and_indexes_in_the_new_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = open(dir.path());
        index.upsert([product("1", "Eaux gazeuses")]).expect("index");
        assert_eq!(stemmed_titles_with(&index, "eaux"), 1, "English: `eaux` stays");
        assert!(index.delete(&ProductId::new("1").expect("id")).expect("delete"));
        index.set_settings(in_language(Language::French)).expect("empty again");
        index.upsert([product("2", "Eaux gazeuses")]).expect("index");
        assert_eq!((stemmed_titles_with(&index, "eau"), stemmed_titles_with(&index, "gazeux")), (1, 1));
    }

    #[test]
    fn an_index_from_before_field_languages_has_one_language_for_all_fields() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (schema, _) = ProductFields::schema_with(|_| STEMMED_ANALYZER.to_owned());
        let folder = dir.path().join("search");
        std::fs::create_dir_all(&folder).expect("folder");
        drop(Index::create_in_dir(&folder, schema).expect("an index with the old schema"));

        let index = open(dir.path());
        index.set_settings(in_language(Language::French)).expect("one language for every field");
        let mut mixed = in_language(Language::French);
        mixed.field_languages.description = Some(Language::German);
        let refused = index.set_settings(mixed).expect_err("its fields share one analyzer");
        assert!(refused.to_string().contains("reindex into a new index"), "{refused}");
        index.upsert([product("1", "Eaux gazeuses")]).expect("index");
        assert_eq!(stemmed_titles_with(&index, "gazeux"), 1);
    }
}
