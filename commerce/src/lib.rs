//! Carts, inventory holds, the checkout saga, idempotent payments and orders, on SQLite
//! (embedded) or PostgreSQL (shared by replicas), with a transactional outbox towards Kafka.
//! Invariant to come: the commerce crate never trusts a price from a search hit; it re-reads it.
//!
//! Not built yet: it arrives with the commerce issue.
