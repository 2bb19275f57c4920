use std::path::{Path, PathBuf};

use crate::ids::IndexName;

/// The layout of a Vitrine data directory, the one place every crate learns where things live
/// (no other code joins file names onto a data directory):
///
/// ```text
/// DATA_DIR/
///   indexes/NAME/            one folder per named index
///     search/                the tantivy index of the catalog (stored products, facets, signals)
///     settings.json          the index's settings (typo tolerance, ranking, facets)
///     settings.history.jsonl every version of them written over HTTP (the audit log)
///     interactions/          the interaction log, as parquet parts
///     models/                recommendation model versions and CURRENT
///     demo.json              marker written when the demo shop was loaded (with its counts)
///     dead-letters.jsonl     events the Kafka indexer could not use (local dead-letter store)
///   analytics.sqlite         search analytics of every index: searches, clicks, purchases (SQLite)
///   commerce.db              carts, checkouts, orders, stock (SQLite, unless --commerce-db)
///   access/                  API keys made through the keys API, and their master secret
///   aliases.json             index aliases (alias → index)
///   snapshots/               snapshot archives (`vitrine snapshot create`, `--snapshot-interval`)
///   .snapshot-staging/       a snapshot being assembled (hard links; deleted when it is archived)
///   sources/                 the bundled demo files, unpacked for their loaders
///   eval/                    offline evaluation: its scratch data directory and its reports
///   bench-NAME/              a benchmark's scratch folder (deleted before and after it runs)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// A data directory rooted at `root` (nothing is created until something is written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder holding all indexes.
    pub fn indexes(&self) -> PathBuf {
        self.root.join("indexes")
    }

    /// One index's folder.
    pub fn index(&self, name: &IndexName) -> PathBuf {
        self.indexes().join(name.as_str())
    }

    /// An index's tantivy folder.
    pub fn search_index(&self, name: &IndexName) -> PathBuf {
        self.index(name).join("search")
    }

    /// An index's settings file.
    pub fn settings(&self, name: &IndexName) -> PathBuf {
        self.index(name).join("settings.json")
    }

    /// The settings history beside a settings file: every version written, one per line.
    pub fn settings_history_of(settings_file: &Path) -> PathBuf {
        settings_file.with_extension("history.jsonl")
    }

    /// An index's interaction log folder.
    pub fn interactions(&self, name: &IndexName) -> PathBuf {
        self.index(name).join("interactions")
    }

    /// An index's recommendation model versions (`vitrine train`).
    pub fn models(&self, name: &IndexName) -> PathBuf {
        self.index(name).join("models")
    }

    /// The marker the demo writes once it has loaded the demo shop into an index.
    pub fn demo_marker(&self, name: &IndexName) -> PathBuf {
        self.index(name).join("demo.json")
    }

    /// An index's local dead-letter store: one JSON object per line for each Kafka event the
    /// indexer could not use (when dead letters are kept locally rather than on a topic).
    pub fn dead_letters(&self, name: &IndexName) -> PathBuf {
        self.index(name).join("dead-letters.jsonl")
    }

    /// The search-analytics database (SQLite), shared by all indexes (rows carry the index name).
    pub fn analytics_db(&self) -> PathBuf {
        self.root.join("analytics.sqlite")
    }

    /// The embedded commerce database (SQLite), used unless another database is configured.
    pub fn commerce_db(&self) -> PathBuf {
        self.root.join("commerce.db")
    }

    /// The API keys made through the keys API and the master secret they derive from.
    pub fn access(&self) -> PathBuf {
        self.root.join("access")
    }

    /// Where snapshots are written by default (`vitrine snapshot create`, scheduled snapshots).
    pub fn snapshots(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    /// Where a snapshot is assembled before it is archived: inside the data directory, so its
    /// files can be hard links to the live ones (one file system). Deleted after each snapshot.
    pub fn snapshot_staging(&self) -> PathBuf {
        self.root.join(".snapshot-staging")
    }

    /// Where `vitrine dump` keeps its copies of the indexes' commit points while it reads them
    /// (hard links, as a snapshot's; deleted when the dump is written).
    pub fn dump_staging(&self) -> PathBuf {
        self.root.join(".dump-staging")
    }

    /// The index aliases: alias name → index name (JSON, replaced atomically).
    pub fn aliases(&self) -> PathBuf {
        self.root.join("aliases.json")
    }

    /// Where the bundled demo files are unpacked for their loaders.
    pub fn sources(&self) -> PathBuf {
        self.root.join("sources")
    }

    /// Offline evaluation's folder: its reports, and a data directory of its own
    /// ([`DataDir::eval_data`]) for the indexes it builds.
    pub fn eval(&self) -> PathBuf {
        self.root.join("eval")
    }

    /// The data directory offline evaluation builds its indexes in (the Home Depot titles).
    pub fn eval_data(&self) -> DataDir {
        DataDir::new(self.eval())
    }

    /// The scratch folder of the benchmark `name` (`indexer`, `commerce`).
    pub fn bench_scratch(&self, name: &str) -> PathBuf {
        self.root.join(format!("bench-{name}"))
    }
}
