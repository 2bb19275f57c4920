//! Applying product change events: the one path every change takes into an index (the Kafka
//! indexer, the documents API, imports, the demo).
//!
//! A batch is applied in one tantivy commit whose payload is the index's [`Checkpoint`]: the
//! Kafka offsets consumed up to this commit and the versions of deleted products. So the index
//! and the position in the topic always move together, and a restart resumes exactly where the
//! last commit left off.
//!
//! **Versions decide.** An event whose version is not newer than the product's known version (the
//! indexed one, or the deleted one kept as a tombstone) is skipped as stale: replays change
//! nothing. Version 0 means "unversioned" (a shop that does not version its products, through the
//! documents API or an import): it always applies. Within a batch, events apply in order, and each
//! product is written once, in its final state.
//!
//! **Partial updates** (price, stock) read the stored product, change the field and write it
//! back: tantivy has no in-place update (its issue #900), so the document is re-added; the
//! stored product is decoded, not re-parsed from a feed. `bench` measures the rate.
//!
//! [`Checkpoint`]: crate::Checkpoint

use std::collections::HashMap;

use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocSet, Searcher, TERMINATED, Term};
use vitrine_models::{Change, Money, Product, ProductEvent, ProductId};

use crate::checkpoint::{ApplyReport, SourcePosition};
use crate::product_index::ProductIndex;

/// A product's state while a batch is applied.
struct Pending {
    /// Whether the index held it before the batch.
    existed: bool,
    /// Its known version (indexed, tombstoned, or set by this batch).
    version: Option<u64>,
    /// Where it is indexed (before the batch), to read it for a partial update.
    address: Option<DocAddress>,
    /// Its state after the events so far: `Some(product)`, deleted (`None` with `touched`), or
    /// untouched.
    product: Option<Product>,
    touched: bool,
    /// Whether a whole product was upserted in this batch.
    upserted: bool,
}

/// The live document of a product id, found through the id's postings.
fn locate(searcher: &Searcher, index: &ProductIndex, id: &ProductId) -> tantivy::Result<Option<DocAddress>> {
    let term = Term::from_field_text(index.fields().id, id.as_str());
    for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
        let inverted = segment.inverted_index(index.fields().id)?;
        let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::Basic)? else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !segment.is_deleted(doc) {
                return Ok(Some(DocAddress::new(segment_ord as u32, doc)));
            }
            doc = postings.advance();
        }
    }
    Ok(None)
}

/// A commit that writes at least this many products merges the segments it created into one.
const MERGE_COMMITS_OF: usize = 10_000;

impl ProductIndex {
    /// Applies events in order, in one commit that also records `position` (when the events come
    /// from Kafka), then reloads the readers. See the module documentation for the rules.
    pub fn apply(
        &self,
        events: impl IntoIterator<Item = ProductEvent>,
        position: Option<&SourcePosition>,
    ) -> tantivy::Result<ApplyReport> {
        let mut writer = self.writer();
        let searcher = self.searcher();
        let mut checkpoint = self.checkpoint();
        let empty = searcher.num_docs() == 0 && checkpoint.tombstones.is_empty();
        let mut report = ApplyReport::default();
        let mut pending: HashMap<ProductId, Pending> = HashMap::new();
        let mut order: Vec<ProductId> = Vec::new();

        for event in events {
            if !pending.contains_key(&event.product_id) {
                let address = if empty { None } else { locate(&searcher, self, &event.product_id)? };
                let version = match address {
                    Some(address) => Some(
                        searcher
                            .segment_reader(address.segment_ord)
                            .fast_fields()
                            .u64("version")?
                            .first(address.doc_id)
                            .unwrap_or(0),
                    ),
                    None => checkpoint.tombstones.get(event.product_id.as_str()).copied(),
                };
                let state = Pending {
                    existed: address.is_some(),
                    version,
                    address,
                    product: None,
                    touched: false,
                    upserted: false,
                };
                pending.insert(event.product_id.clone(), state);
                order.push(event.product_id.clone());
            }
            let Some(state) = pending.get_mut(&event.product_id) else { continue };
            if event.version != 0 && state.version.is_some_and(|known| event.version <= known) {
                report.stale += 1;
                continue;
            }
            let alive = if state.touched { state.product.is_some() } else { state.existed };
            match event.change {
                Change::Upserted(mut product) => {
                    product.version = event.version;
                    state.product = Some(*product);
                    state.touched = true;
                    state.upserted = true;
                }
                Change::Deleted if alive => {
                    state.product = None;
                    state.touched = true;
                    report.deleted += 1;
                }
                Change::Deleted => {
                    report.missing += 1;
                    continue;
                }
                Change::PriceChanged { .. } | Change::StockChanged { .. } if !alive => {
                    report.missing += 1;
                    continue;
                }
                partial => {
                    if !state.touched {
                        let address = state.address.ok_or_else(|| {
                            tantivy::TantivyError::InternalError("an indexed product has no address".into())
                        })?;
                        state.product = Some(self.product_at(&searcher, address)?);
                        state.touched = true;
                    }
                    let Some(product) = state.product.as_mut() else { continue };
                    if !change_field(product, &partial) {
                        report.missing += 1;
                        continue;
                    }
                    product.version = event.version;
                    report.partial += 1;
                }
            }
            // An unversioned (0) event keeps the known version: a tombstone stays meaningful.
            state.version = Some(state.version.map_or(event.version, |known| known.max(event.version)));
        }

        let mut written = 0_usize;
        for id in order {
            let Some(state) = pending.remove(&id) else { continue };
            if !state.touched {
                continue;
            }
            writer.delete_term(Term::from_field_text(self.fields().id, id.as_str()));
            written += 1;
            match state.product {
                Some(product) => {
                    checkpoint.tombstones.remove(id.as_str());
                    match (state.upserted, state.existed) {
                        (true, true) => report.updated += 1,
                        (true, false) => report.inserted += 1,
                        (false, _) => {} // only partial changes, counted as they applied
                    }
                    writer.add_document(self.fields().document(&product))?;
                }
                None => {
                    checkpoint.tombstones.insert(id.to_string(), state.version.unwrap_or(0));
                }
            }
        }
        if let Some(position) = position {
            checkpoint.offsets.entry(position.topic.clone()).or_default().extend(&position.next_offsets);
        }
        let payload = serde_json::to_string(&checkpoint)
            .map_err(|error| tantivy::TantivyError::InternalError(error.to_string()))?;
        let segments_before = self.index().searchable_segment_ids()?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        // Readers first: whoever sees the new checkpoint can already search what it covers.
        self.reload()?;
        self.set_checkpoint(checkpoint);
        if written >= MERGE_COMMITS_OF {
            // A bulk load: fold its per-thread segments into one now (see `merge_new_segments`);
            // small commits (a Kafka batch) are left to the merge policy, off the freshness path.
            self.merge_new_segments(&mut writer, &segments_before);
            self.reload()?;
        }
        Ok(report)
    }
}

/// Applies a price or stock change to a product; false when it cannot apply (a price with no
/// currency given or known, or out of range).
fn change_field(product: &mut Product, change: &Change) -> bool {
    match *change {
        Change::PriceChanged { price: None, .. } => {
            product.price = None;
            true
        }
        Change::PriceChanged { price: Some(amount), currency } => {
            let Some(currency) = currency.or(product.price.as_ref().map(|price| price.currency)) else {
                return false;
            };
            match Money::from_decimal(amount, currency) {
                Ok(money) => {
                    product.price = Some(money);
                    true
                }
                Err(_) => false,
            }
        }
        Change::StockChanged { stock } => {
            product.stock = stock;
            true
        }
        Change::Upserted(_) | Change::Deleted => false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;
    use vitrine_models::{Currency, ProductEvent};

    use super::*;

    fn open(dir: &std::path::Path) -> ProductIndex {
        ProductIndex::open_or_create(&dir.join("search"), &dir.join("settings.json")).expect("index")
    }

    fn event(id: &str, version: u64, change: Change) -> ProductEvent {
        ProductEvent {
            event_id: format!("{id}-{version}"),
            product_id: ProductId::new(id).expect("id"),
            version,
            occurred_at: Utc::now(),
            change,
        }
    }

    fn upserted(id: &str, version: u64, price: f64) -> ProductEvent {
        let product: Product = serde_json::from_value(json!({"id": id, "title": format!("Mug {id}"),
                                                             "price": price, "currency": "GBP", "stock": 3}))
        .expect("product");
        event(id, version, Change::Upserted(Box::new(product)))
    }

    fn position(next: i64) -> SourcePosition {
        SourcePosition { topic: "products".into(), next_offsets: [(0, next)].into() }
    }

    /// Every product as (id, version, price, stock), sorted.
    fn state(index: &ProductIndex) -> Vec<(String, u64, Option<String>, Option<u64>)> {
        let mut all: Vec<_> = index
            .all()
            .expect("read")
            .into_iter()
            .map(|p| (p.id.to_string(), p.version, p.price.map(|m| m.to_string()), p.stock))
            .collect();
        all.sort();
        all
    }

    fn history() -> Vec<ProductEvent> {
        vec![
            upserted("a", 1, 2.0),
            upserted("b", 1, 5.0),
            event("a", 2, Change::PriceChanged { price: Some(2.5), currency: None }),
            event("b", 2, Change::Deleted),
            upserted("b", 1, 9.0), // older than the delete: stays deleted
            event("a", 3, Change::StockChanged { stock: Some(0) }),
            event("c", 1, Change::StockChanged { stock: Some(1) }), // unknown product
            upserted("c", 4, 1.0),
            event(
                "c",
                5,
                Change::PriceChanged { price: Some(3.0), currency: Some(Currency::new("EUR").expect("EUR")) },
            ),
        ]
    }

    #[test]
    fn events_apply_in_order_with_versions_tombstones_and_partial_changes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = open(dir.path());
        let report = index.apply(history(), Some(&position(9))).expect("apply");
        assert_eq!(
            report,
            ApplyReport { inserted: 2, updated: 0, deleted: 1, partial: 3, stale: 1, missing: 1 },
            "b is inserted then deleted within the batch"
        );
        let expected = vec![
            ("a".to_owned(), 3, Some("2.50 GBP".to_owned()), Some(0)),
            ("c".to_owned(), 5, Some("3.00 EUR".to_owned()), Some(3)),
        ];
        assert_eq!(state(&index), expected);
        assert_eq!(index.checkpoint().tombstones, [("b".to_owned(), 2)].into());

        // Replaying the whole history, in one batch or event by event, changes nothing.
        let replay = index.apply(history(), Some(&position(9))).expect("replay");
        assert_eq!(replay.applied(), 0, "{replay:?}");
        for single in history() {
            index.apply([single], None).expect("replay one");
        }
        assert_eq!(state(&index), expected);

        // The checkpoint is the commit payload: it survives reopening.
        drop(index);
        let reopened = open(dir.path());
        assert_eq!(reopened.checkpoint().offsets["products"][&0], 9);
        assert_eq!(reopened.checkpoint().tombstones["b"], 2);
        assert_eq!(state(&reopened), expected);
        let newer = reopened.apply([upserted("b", 3, 7.0)], Some(&position(10))).expect("resurrect");
        assert_eq!(newer.inserted, 1, "a newer upsert brings a deleted product back");
        assert!(reopened.checkpoint().tombstones.is_empty());
    }

    #[test]
    fn unversioned_changes_always_apply() {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = open(dir.path());
        assert_eq!(index.apply([upserted("a", 0, 1.0)], None).expect("insert").inserted, 1);
        assert_eq!(index.apply([upserted("a", 0, 2.0)], None).expect("update").updated, 1);
        assert!(index.delete(&ProductId::new("a").expect("id")).expect("delete"));
        assert!(!index.delete(&ProductId::new("a").expect("id")).expect("again"));
        assert!(index.is_empty());
    }
}
