//! An index's commit point, copied while the index is written to: what a snapshot holds of a
//! search index.
//!
//! A tantivy commit point is `meta.json` (written atomically) and the segment files it names, which
//! are never changed once written; a later commit or merge writes new files and a new `meta.json`,
//! and then deletes the files no commit point needs any more. So a copy taken without stopping the
//! writer reads `meta.json` once, then hard-links (or copies, across file systems) exactly the
//! files that commit point names. A file deleted in between means a newer commit point replaced
//! it: the copy starts again from the newer `meta.json`. Hard links keep a file's bytes alive after
//! tantivy deletes its name, so the copy stays whole however long the archive takes to write.
//!
//! The copy is checked by opening it: its documents, its commit's opstamp and payload (the Kafka
//! offsets), and a digest of every live product's id and version ([`CommitPoint`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tantivy::directory::MmapDirectory;
use tantivy::index::SegmentComponent;
use tantivy::{Index, IndexReader, ReloadPolicy};

use crate::checkpoint::Checkpoint;
use crate::error::CatalogError;

/// The commit's own file (tantivy's).
const META_FILE: &str = "meta.json";
/// The files tantivy manages (its garbage collection reads it).
const MANAGED_FILE: &str = ".managed.json";
/// How often a copy starts again because a newer commit replaced the files it was linking.
const ATTEMPTS: usize = 50;

/// What one commit point of a product index holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitPoint {
    /// Live (not deleted) products.
    pub documents: u64,
    /// tantivy's opstamp of the commit.
    pub opstamp: u64,
    /// The commit's payload: the Kafka offsets to resume from and the tombstones.
    pub checkpoint: Checkpoint,
    /// SHA-256 (hex) of every live product's `id version` line, sorted by id: equal digests mean
    /// the same products at the same versions.
    pub documents_digest: String,
}

/// Copies the commit point of the index in `live` into `target` (created; it must not exist) and
/// describes it. The index may be written to meanwhile, by this process or another: the copy is
/// one commit point, the last one when it started or a newer one.
///
/// # Errors
/// The index cannot be read, the copy cannot be written, or commits kept replacing the files being
/// copied more than 50 times in a row.
pub fn copy_commit_point(live: &Path, target: &Path) -> Result<CommitPoint, CatalogError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CatalogError::Io { path, source }
    };
    for _ in 0..ATTEMPTS {
        if target.exists() {
            std::fs::remove_dir_all(target).map_err(io(target))?;
        }
        std::fs::create_dir_all(target).map_err(io(target))?;
        let meta = std::fs::read(live.join(META_FILE)).map_err(io(&live.join(META_FILE)))?;
        std::fs::write(target.join(META_FILE), &meta).map_err(io(&target.join(META_FILE)))?;
        match std::fs::read(live.join(MANAGED_FILE)) {
            Ok(managed) => {
                std::fs::write(target.join(MANAGED_FILE), managed).map_err(io(&target.join(MANAGED_FILE)))?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(&live.join(MANAGED_FILE))(error)),
        }
        let mut replaced = false;
        for file in files_of_commit(target)? {
            match link_or_copy(&live.join(&file), &target.join(&file)) {
                Ok(()) => {}
                // Gone because a newer commit replaced it, or never written (a segment without,
                // say, positions): the live `meta.json` tells which.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    if std::fs::read(live.join(META_FILE)).map_err(io(&live.join(META_FILE)))? != meta {
                        replaced = true;
                        break;
                    }
                }
                Err(error) => return Err(io(&live.join(&file))(error)),
            }
        }
        if replaced {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        return read_commit_point(target);
    }
    Err(CatalogError::Io {
        path: live.to_owned(),
        source: std::io::Error::other(format!("commits replaced the index's files {ATTEMPTS} times during a copy")),
    })
}

/// Describes the commit point of the index in `folder` (opened read-only: nothing is written).
///
/// # Errors
/// The index cannot be opened or read (a file is missing or damaged), or its payload is not a
/// checkpoint.
pub fn read_commit_point(folder: &Path) -> Result<CommitPoint, CatalogError> {
    let search = |error| CatalogError::search(folder, error);
    let index = open(folder)?;
    let metas = index.load_metas().map_err(search)?;
    let checkpoint = match metas.payload.as_deref() {
        Some(payload) => serde_json::from_str(payload)
            .map_err(|error| search(tantivy::TantivyError::InternalError(format!("commit payload: {error}"))))?,
        None => Checkpoint::default(),
    };
    let reader: IndexReader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(search)?;
    let searcher = reader.searcher();
    let mut lines = Vec::with_capacity(searcher.num_docs() as usize);
    for segment in searcher.segment_readers() {
        let fast = segment.fast_fields();
        let ids = fast.str("id").map_err(search)?;
        let versions = fast.u64("version").map_err(search)?;
        let Some(ids) = ids else { continue };
        let mut id = String::new();
        for doc in segment.doc_ids_alive() {
            id.clear();
            if let Some(ordinal) = ids.term_ords(doc).next() {
                ids.ord_to_str(ordinal, &mut id).map_err(|error| search(error.into()))?;
            }
            lines.push((id.clone(), versions.first(doc).unwrap_or(0)));
        }
    }
    lines.sort();
    let mut digest = Sha256::new();
    for (id, version) in &lines {
        digest.update(format!("{id} {version}\n").as_bytes());
    }
    Ok(CommitPoint {
        documents: lines.len() as u64,
        opstamp: metas.opstamp,
        checkpoint,
        documents_digest: hex::encode(digest.finalize()),
    })
}

/// The files (relative to the folder) of every segment the commit point in `folder` names.
fn files_of_commit(folder: &Path) -> Result<BTreeSet<PathBuf>, CatalogError> {
    let index = open(folder)?;
    let metas = index.searchable_segment_metas().map_err(|error| CatalogError::search(folder, error))?;
    let mut files = BTreeSet::new();
    for meta in &metas {
        for component in [
            SegmentComponent::Postings,
            SegmentComponent::Positions,
            SegmentComponent::Terms,
            SegmentComponent::Store,
            SegmentComponent::FastFields,
            SegmentComponent::FieldNorms,
        ] {
            files.insert(meta.relative_path(component));
        }
        if meta.delete_opstamp().is_some() {
            files.insert(meta.relative_path(SegmentComponent::Delete));
        }
    }
    Ok(files)
}

fn open(folder: &Path) -> Result<Index, CatalogError> {
    let directory = MmapDirectory::open(folder).map_err(|error| CatalogError::search(folder, error.into()))?;
    Index::open(directory).map_err(|error| CatalogError::search(folder, error))
}

/// Hard-links `from` to `to`, or copies it where a link is impossible (another file system).
pub fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(error),
        Err(_) => std::fs::copy(from, to).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use vitrine_models::{Product, ProductDraft};

    use super::*;
    use crate::ProductIndex;

    fn product(id: &str, version: u64) -> Product {
        Product::try_from(ProductDraft { id: id.into(), title: format!("Mug {id}"), version, ..Default::default() })
            .expect("valid product")
    }

    #[test]
    fn a_copy_taken_while_the_index_is_written_is_one_whole_commit_point() {
        let folder = tempfile::tempdir().expect("temp dir");
        let live = folder.path().join("search");
        let index = ProductIndex::open_or_create(&live, &folder.path().join("settings.json")).expect("index");
        index.upsert((0..200).map(|n| product(&n.to_string(), 1))).expect("first batch");

        let writing = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                for batch in 0..30u64 {
                    let products = (0..200).map(|n| product(&format!("{}", 1000 + batch * 200 + n), 1));
                    index.upsert(products).expect("batch");
                }
            });
            let mut copies = Vec::new();
            for copy in 0..10 {
                let target = folder.path().join(format!("copy-{copy}"));
                copies.push(copy_commit_point(&live, &target).expect("copied"));
            }
            writer.join().expect("writer");
            copies
        });
        for (copy, point) in writing.iter().enumerate() {
            // Every copy is one commit: whole batches of 200, and it reads back alike.
            assert_eq!(point.documents % 200, 0, "copy {copy}: {point:?}");
            let again = read_commit_point(&folder.path().join(format!("copy-{copy}"))).expect("reads");
            assert_eq!(&again, point);
        }
        let last = copy_commit_point(&live, &folder.path().join("last")).expect("copied");
        assert_eq!(last.documents, 200 * 31);
        assert_eq!(last, read_commit_point(&live).expect("live"));

        // The copy opens as an index of its own, with the same products.
        let reopened =
            ProductIndex::open_or_create(&folder.path().join("last"), &folder.path().join("none.json")).expect("opens");
        assert_eq!(reopened.len(), 200 * 31);
    }

    #[test]
    fn the_digest_tells_versions_apart() {
        let folder = tempfile::tempdir().expect("temp dir");
        let live = folder.path().join("search");
        let index = ProductIndex::open_or_create(&live, &folder.path().join("settings.json")).expect("index");
        index.upsert([product("1", 1), product("2", 1)]).expect("upsert");
        let before = read_commit_point(&live).expect("read");
        index.upsert([product("2", 2)]).expect("upsert");
        let after = read_commit_point(&live).expect("read");
        assert_eq!(before.documents, after.documents);
        assert_ne!(before.documents_digest, after.documents_digest);
        assert!(after.opstamp > before.opstamp);
    }
}
