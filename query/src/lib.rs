//! Product search: query parsing, typo tolerance (edit budgets by word length, exact > 1-typo >
//! 2-typo tiers), query-time synonyms, facets (disjunctive counts, price buckets, category
//! trees), business-aware ranking and merchandising rules, all over the tantivy index that
//! `vitrine-indexer` maintains.
//!
//! Not built yet: this crate is the next step (the search issue). It knows nothing of HTTP; the
//! root crate exposes it as `POST /v1/indexes/{index}/search`.
