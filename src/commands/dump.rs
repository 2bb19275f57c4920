//! `vitrine dump` and `vitrine load`: a data directory's catalogue as plain files a newer Vitrine imports — the migration path
//! between versions, where a snapshot (the exact files of this version) would not do.
//!
//! A dump is a folder:
//!
//! ```text
//! DUMP/dump.json                          format, version, time, and per index what it holds
//! DUMP/aliases.json                       alias → index
//! DUMP/indexes/NAME/products.jsonl        every product, as the documents API and `import` take it
//! DUMP/indexes/NAME/settings.json         the settings
//! DUMP/indexes/NAME/settings.history.jsonl  every saved settings version (audit log, rollback)
//! DUMP/indexes/NAME/synonyms.jsonl        the synonym rules, one per line (also in the settings)
//! DUMP/indexes/NAME/interactions.parquet  the interaction log, in the documented import columns
//! ```
//!
//! [`load_dump`] rebuilds a new data directory from it through the ordinary paths — settings
//! checked, products validated and indexed with this version's analyzers and schema, interactions
//! validated and logged — so a dump made by an older version loads into a newer one. Model
//! versions are not dumped (train again); analytics and commerce state travel in snapshots and
//! `pg_dump` (docs/operations.md).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use vitrine_indexer::Catalog;
use vitrine_models::feed::FeedFormat;
use vitrine_models::settings::IndexSettings;
use vitrine_models::{DataDir, IndexName};

/// The dump format this version writes and the newest it loads.
pub const DUMP_FORMAT: u32 = 1;

/// Products indexed per commit while loading.
const LOAD_BATCH: usize = 10_000;

/// `dump.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpManifest {
    /// The dump format.
    pub format: u32,
    /// The Vitrine version that wrote it.
    pub vitrine_version: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Per index, what it holds.
    pub indexes: Vec<DumpedIndex>,
    /// Aliases (alias → index).
    pub aliases: BTreeMap<String, String>,
}

/// One index of a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpedIndex {
    /// Its name.
    pub name: String,
    /// Products.
    pub products: u64,
    /// Saved settings versions.
    pub settings_versions: u64,
    /// Synonym rules.
    pub synonyms: u64,
    /// Interaction-log rows.
    pub interactions: u64,
}

/// The files of one index in a dump.
struct IndexFiles {
    folder: PathBuf,
}

impl IndexFiles {
    fn of(dump: &Path, name: &str) -> IndexFiles {
        IndexFiles { folder: dump.join("indexes").join(name) }
    }
    fn products(&self) -> PathBuf {
        self.folder.join("products.jsonl")
    }
    fn settings(&self) -> PathBuf {
        self.folder.join("settings.json")
    }
    fn history(&self) -> PathBuf {
        self.folder.join("settings.history.jsonl")
    }
    fn synonyms(&self) -> PathBuf {
        self.folder.join("synonyms.jsonl")
    }
    fn interactions(&self) -> PathBuf {
        self.folder.join("interactions.parquet")
    }
}

fn manifest_path(dump: &Path) -> PathBuf {
    dump.join("dump.json")
}

fn aliases_path(dump: &Path) -> PathBuf {
    dump.join("aliases.json")
}

fn ensure_empty(folder: &Path) -> anyhow::Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(folder) {
        ensure!(entries.next().is_none(), "{} exists and is not empty", folder.display());
    }
    Ok(())
}

/// Writes a dump of `data_dir` into the new folder `out`.
///
/// # Errors
/// `out` is not empty, or something cannot be read or written.
pub fn write_dump(data_dir: &DataDir, out: &Path, progress: &ProgressBar) -> anyhow::Result<DumpManifest> {
    ensure_empty(out)?;
    // Each index is read from a copy of its last commit point (hard links), so a dump is one
    // commit per index and runs beside a server that serves and indexes.
    let scratch = data_dir.dump_staging().join(std::process::id().to_string());
    let result = dump_indexes(data_dir, out, &scratch, progress);
    let _ = std::fs::remove_dir_all(&scratch);
    let indexes = result?;
    let aliases: BTreeMap<String, String> = match std::fs::read(data_dir.aliases()) {
        Ok(bytes) => serde_json::from_slice(&bytes).context("aliases.json")?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(error) => return Err(error).context("aliases.json"),
    };
    std::fs::write(aliases_path(out), serde_json::to_vec_pretty(&aliases)?)?;
    let manifest = DumpManifest {
        format: DUMP_FORMAT,
        vitrine_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: Utc::now(),
        indexes,
        aliases,
    };
    // The manifest last: a dump without one is incomplete.
    std::fs::write(manifest_path(out), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

/// Dumps every index of `data_dir` into `out`, each read from a copy of its commit point made in
/// `scratch`.
fn dump_indexes(
    data_dir: &DataDir,
    out: &Path,
    scratch: &Path,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<DumpedIndex>> {
    let mut indexes = Vec::new();
    for name in crate::snapshots::index_names(data_dir)? {
        progress.set_message(format!("{name}"));
        let files = IndexFiles::of(out, name.as_str());
        std::fs::create_dir_all(&files.folder).with_context(|| files.folder.display().to_string())?;
        let copy = scratch.join(name.as_str());
        vitrine_indexer::copy_commit_point(&data_dir.search_index(&name), &copy)?;
        let index = vitrine_indexer::ProductIndex::open_or_create(&copy, &data_dir.settings(&name))?;
        let products = index.all().with_context(|| format!("reading the products of {name}"))?;
        let mut writer = BufWriter::new(File::create(files.products())?);
        for product in &products {
            serde_json::to_writer(&mut writer, product)?;
            writer.write_all(b"\n")?;
        }
        writer.flush()?;
        progress.inc(products.len() as u64);

        let settings = index.settings();
        std::fs::write(files.settings(), serde_json::to_vec_pretty(&*settings)?)?;
        let history = DataDir::settings_history_of(&data_dir.settings(&name));
        let settings_versions = match std::fs::read_to_string(&history) {
            Ok(text) => {
                // Whole lines only: a version being appended right now is left for the next dump.
                let text = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
                let whole: String =
                    text.lines().filter(|line| !line.trim().is_empty()).map(|line| format!("{line}\n")).collect();
                std::fs::write(files.history(), &whole)?;
                whole.lines().count() as u64
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
            Err(error) => return Err(error).with_context(|| history.display().to_string()),
        };
        let mut synonyms = BufWriter::new(File::create(files.synonyms())?);
        for rule in &settings.synonyms {
            serde_json::to_writer(&mut synonyms, rule)?;
            synonyms.write_all(b"\n")?;
        }
        synonyms.flush()?;

        let interactions =
            vitrine_pipelines::export_interactions(&data_dir.interactions(&name), &files.interactions())?;
        indexes.push(DumpedIndex {
            name: name.to_string(),
            products: products.len() as u64,
            settings_versions,
            synonyms: settings.synonyms.len() as u64,
            interactions,
        });
        drop(index);
        let _ = std::fs::remove_dir_all(&copy);
    }
    Ok(indexes)
}

/// Loads the dump `dump` into the new data directory `data_dir` and checks every count against
/// its manifest.
///
/// # Errors
/// `data_dir` is not empty, the dump is incomplete or of a newer format, a file does not read, a
/// setting does not check, or a count differs.
pub fn load_dump(dump: &Path, data_dir: &DataDir, progress: &ProgressBar) -> anyhow::Result<DumpManifest> {
    ensure_empty(data_dir.root())?;
    let manifest: DumpManifest = serde_json::from_slice(
        &std::fs::read(manifest_path(dump))
            .with_context(|| format!("{} has no dump.json: it is incomplete", dump.display()))?,
    )
    .context("dump.json")?;
    if manifest.format > DUMP_FORMAT {
        bail!(
            "dump format {} is newer than this Vitrine loads ({DUMP_FORMAT}); load it with Vitrine {} or newer",
            manifest.format,
            manifest.vitrine_version
        );
    }
    let catalog = Catalog::new(data_dir.clone());
    for entry in &manifest.indexes {
        let name = IndexName::new(&entry.name)?;
        let files = IndexFiles::of(dump, &entry.name);
        progress.set_message(entry.name.clone());
        let settings: IndexSettings =
            serde_json::from_slice(&std::fs::read(files.settings())?).context("settings.json")?;
        settings.check().map_err(|reason| anyhow::anyhow!("{}: settings: {reason}", entry.name))?;
        let index = catalog.get_or_create(&name)?;
        index.set_settings(settings)?;
        if entry.settings_versions > 0 {
            let text = std::fs::read_to_string(files.history())?;
            for (line, version) in text.lines().enumerate() {
                let _: vitrine_indexer::SettingsVersion = serde_json::from_str(version)
                    .with_context(|| format!("{}: settings history line {}", entry.name, line + 1))?;
            }
            std::fs::write(DataDir::settings_history_of(&data_dir.settings(&name)), text)?;
        }

        let reader = BufReader::new(File::open(files.products())?);
        let mut batch = Vec::with_capacity(LOAD_BATCH);
        let mut loaded = 0u64;
        for product in vitrine_models::feed::read_products(reader, FeedFormat::JsonLines)? {
            let product = product.map_err(|error| anyhow::anyhow!("{}: products.jsonl: {error}", entry.name))?;
            batch.push(product);
            if batch.len() == LOAD_BATCH {
                loaded += batch.len() as u64;
                progress.inc(batch.len() as u64);
                catalog.upsert(&name, std::mem::take(&mut batch))?;
            }
        }
        loaded += batch.len() as u64;
        progress.inc(batch.len() as u64);
        catalog.upsert(&name, batch)?;
        ensure!(loaded == entry.products, "{}: {loaded} products read, the dump says {}", entry.name, entry.products);
        ensure!(
            index.len() == entry.products,
            "{}: {} products indexed, the dump says {}",
            entry.name,
            index.len(),
            entry.products
        );

        if entry.interactions > 0 {
            let (interactions, bad) = vitrine_pipelines::read_interactions_parquet(&files.interactions())?;
            if let Some(first) = bad.first() {
                bail!("{}: interactions.parquet row {}: {}", entry.name, first.line, first.reason);
            }
            ensure!(
                interactions.len() as u64 == entry.interactions,
                "{}: {} interactions read, the dump says {}",
                entry.name,
                interactions.len(),
                entry.interactions
            );
            vitrine_pipelines::log_interactions(data_dir, &name, &interactions)?;
        }
    }
    if !manifest.aliases.is_empty() {
        std::fs::write(data_dir.aliases(), serde_json::to_vec_pretty(&manifest.aliases)?)?;
    }
    Ok(manifest)
}

fn counter(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg}: {pos} products ({per_sec})") {
        bar.set_style(style);
    }
    bar
}

/// `vitrine dump --out DIR`.
pub(super) fn dump(data_dir: &DataDir, args: &crate::cli::DumpArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let progress = counter("dumping");
    let manifest = write_dump(data_dir, &args.out, &progress)?;
    progress.finish_and_clear();
    println!("dump written to {} in {:.2} s", args.out.display(), started.elapsed().as_secs_f64());
    print_indexes(&manifest);
    Ok(())
}

/// `vitrine load DUMP --data-dir NEW`.
pub(super) fn load(data_dir: &DataDir, args: &crate::cli::LoadArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let progress = counter("loading");
    let manifest = load_dump(&args.dump, data_dir, &progress)
        .with_context(|| format!("cannot load {} into {}", args.dump.display(), data_dir.root().display()))?;
    progress.finish_and_clear();
    println!(
        "dump of Vitrine {} ({}) loaded into {} in {:.2} s; train the indexes again for recommendations",
        manifest.vitrine_version,
        manifest.created_at.to_rfc3339(),
        data_dir.root().display(),
        started.elapsed().as_secs_f64()
    );
    print_indexes(&manifest);
    Ok(())
}

fn print_indexes(manifest: &DumpManifest) {
    for index in &manifest.indexes {
        println!(
            "  index {}: {} products, {} settings versions, {} synonym rules, {} interactions",
            index.name, index.products, index.settings_versions, index.synonyms, index.interactions
        );
    }
    if !manifest.aliases.is_empty() {
        println!("  aliases: {:?}", manifest.aliases);
    }
}
