//! Sellable SKUs and inventory holds: the stock that can never go negative.
//!
//! Commerce owns price and stock ("on hand"). A checkout **holds** units for a while (a soft hold
//! with a TTL); **available = on hand − active holds**. Every change is one conditional statement:
//! a hold is `UPDATE skus SET reserved = reserved + q WHERE … AND on_hand - reserved >= q`, a sale
//! turns a hold into `on_hand - q`; no read-modify-write, so two buyers of the last unit cannot
//! both win. Expired holds are released by [`Store::sweep_expired_holds`].
//!
//! Price and stock changes append a product event (the indexer's contract) to the outbox in the
//! same transaction, so search shows availability. Their versions are
//! `max(previous + 1, now in ms)`: newer than any catalog version, monotonic per product.

use std::time::Duration;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use vitrine_models::{Change, Currency, Money, ProductEvent, ProductId};

use crate::outbox::{PRODUCTS_TOPIC, append};
use crate::store::now_ms;
use crate::{CommerceError, Store};

/// One sellable product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sku {
    /// The catalog's product id.
    pub product_id: String,
    /// Its price (stored as minor units and an ISO 4217 code).
    pub price: Money,
    /// Units in the warehouse.
    pub on_hand: i64,
    /// Units under active holds.
    pub reserved: i64,
    /// Version of the last change (the product events' version).
    pub version: i64,
}

impl Sku {
    /// Units that can still be held or sold.
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }

    fn from_row(row: &AnyRow) -> Result<Sku, sqlx::Error> {
        let currency: String = row.try_get("currency")?;
        let currency = Currency::new(&currency).map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
        Ok(Sku {
            product_id: row.try_get("product_id")?,
            price: Money::from_minor_units(row.try_get("price_cents")?, currency),
            on_hand: row.try_get("on_hand")?,
            reserved: row.try_get("reserved")?,
            version: row.try_get("version")?,
        })
    }
}

/// A SKU to create from the catalog ([`Store::seed_skus`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuSeed {
    /// The catalog's product id.
    pub product_id: String,
    /// Its price.
    pub price: Money,
    /// Units in the warehouse.
    pub on_hand: i64,
}

/// One line to hold or sell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLine {
    /// The product.
    pub product_id: String,
    /// Units, at least 1.
    pub quantity: i64,
}

/// The holder id of a cart's own holds (stock held from add-to-cart, when the shop holds then).
pub fn cart_holder(cart_id: &str) -> String {
    format!("cart:{cart_id}")
}

/// The SQL of the next version, `max(version + 1, now)`, with `now` the parameter `now_param`.
fn next_version(now_param: &str) -> String {
    format!("CASE WHEN version + 1 > {now_param} THEN version + 1 ELSE {now_param} END")
}

impl Store {
    /// Creates the SKU if it does not exist (seeding from the catalog); an existing SKU keeps its
    /// price and stock. Returns whether it was created.
    ///
    /// # Errors
    /// A negative price or stock; a query failure.
    pub async fn seed_sku(&self, product_id: &str, price: Money, on_hand: i64) -> Result<bool, CommerceError> {
        let created = self.seed_skus(&[SkuSeed { product_id: product_id.to_owned(), price, on_hand }]).await?;
        Ok(created == 1)
    }

    /// [`Store::seed_sku`] for many products in one transaction (seeding from a catalog);
    /// returns how many were created.
    ///
    /// # Errors
    /// A negative price or stock; a query failure.
    pub async fn seed_skus(&self, items: &[SkuSeed]) -> Result<u64, CommerceError> {
        let now = now_ms();
        let mut created = 0;
        let mut tx = self.pool().begin().await?;
        for SkuSeed { product_id, price, on_hand } in items {
            check_non_negative("price", price.minor_units)?;
            check_non_negative("stock", *on_hand)?;
            created += insert_sku(&mut tx, product_id, *price, *on_hand, now).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    /// The SKU of `product_id`.
    ///
    /// # Errors
    /// A query failure.
    pub async fn sku(&self, product_id: &str) -> Result<Option<Sku>, CommerceError> {
        let row = sqlx::query(
            "SELECT product_id, price_cents, currency, on_hand, reserved, version FROM skus WHERE product_id = $1",
        )
        .bind(product_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(Sku::from_row).transpose()?)
    }

    /// Sets the units on hand (and, if given, the price) of a SKU, and publishes the change
    /// through the outbox, in one transaction. A SKU that does not exist is created when a price
    /// is given (in the same transaction: a refused change leaves no SKU behind). Stock below
    /// the active holds is refused.
    ///
    /// # Errors
    /// [`CommerceError::UnknownProduct`] (no SKU and no price), a negative figure, stock below
    /// what is held, a price in another currency than the SKU's, a query failure.
    pub async fn set_stock(&self, product_id: &str, on_hand: i64, price: Option<Money>) -> Result<Sku, CommerceError> {
        check_non_negative("stock", on_hand)?;
        if let Some(price) = price {
            check_non_negative("price", price.minor_units)?;
        }
        let mut tx = self.pool().begin().await?;
        let before = match (sku_in(&mut tx, product_id).await?, price) {
            (Some(sku), _) => sku,
            (None, Some(price)) => {
                insert_sku(&mut tx, product_id, price, 0, now_ms()).await?;
                sku_in(&mut tx, product_id).await?.ok_or_else(|| CommerceError::UnknownProduct(product_id.into()))?
            }
            (None, None) => return Err(CommerceError::UnknownProduct(product_id.into())),
        };
        if let Some(price) = price
            && price.currency != before.price.currency
        {
            return Err(CommerceError::InvalidCurrency(format!(
                "`{product_id}` is priced in {}, not {}",
                before.price.currency, price.currency
            )));
        }
        let price_cents = price.map(|price| price.minor_units);
        if on_hand < before.reserved {
            return Err(CommerceError::Invalid(format!(
                "`{product_id}`: {} units are held by checkouts; stock cannot go below that",
                before.reserved
            )));
        }
        let now = now_ms();
        sqlx::query(&format!(
            "UPDATE skus SET on_hand = $1, price_cents = COALESCE($2, price_cents), updated_at = $3, version = {} \
             WHERE product_id = $4",
            next_version("$3")
        ))
        .bind(on_hand)
        .bind(price_cents)
        .bind(now)
        .bind(product_id)
        .execute(&mut *tx)
        .await?;
        let after =
            sku_in(&mut tx, product_id).await?.ok_or_else(|| CommerceError::UnknownProduct(product_id.into()))?;
        if after.on_hand != before.on_hand {
            publish(&mut tx, &after, Change::StockChanged { stock: Some(after.on_hand.max(0) as u64) }).await?;
        }
        if after.price != before.price {
            let mut after = after.clone();
            if after.on_hand != before.on_hand {
                // Two events of one change: each needs its own version, or the indexer would skip
                // the second as stale.
                sqlx::query("UPDATE skus SET version = version + 1 WHERE product_id = $1")
                    .bind(product_id)
                    .execute(&mut *tx)
                    .await?;
                after.version += 1;
            }
            let change =
                Change::PriceChanged { price: Some(after.price.to_decimal()), currency: Some(after.price.currency) };
            publish(&mut tx, &after, change).await?;
        }
        let after =
            sku_in(&mut tx, product_id).await?.ok_or_else(|| CommerceError::UnknownProduct(product_id.into()))?;
        tx.commit().await?;
        Ok(after)
    }

    /// Holds `lines` for `checkout_id` until `ttl` from now, all or nothing. Lines are taken in
    /// product order (so two checkouts never wait on each other's rows in opposite orders).
    ///
    /// # Errors
    /// [`CommerceError::OutOfStock`] (nothing is held), [`CommerceError::UnknownProduct`], a
    /// quantity below 1, a query failure.
    pub async fn hold(&self, checkout_id: &str, lines: &[StockLine], ttl: Duration) -> Result<(), CommerceError> {
        self.hold_replacing(checkout_id, lines, ttl, None).await
    }

    /// [`Store::hold`], first releasing the holds of `replaces` in the same transaction: a cart's
    /// holds become its checkout's (or a changed cart's holds are taken again) with no moment in
    /// which another buyer could take the units. On failure the old holds stay as they were.
    ///
    /// # Errors
    /// As [`Store::hold`].
    pub async fn hold_replacing(
        &self,
        holder: &str,
        lines: &[StockLine],
        ttl: Duration,
        replaces: Option<&str>,
    ) -> Result<(), CommerceError> {
        let mut tx = self.pool().begin().await?;
        if let Some(previous) = replaces {
            release_holds_in(&mut tx, previous).await?;
        }
        match hold_in(&mut tx, holder, lines, ttl).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(())
            }
            Err(error) => {
                tx.rollback().await?;
                Err(error)
            }
        }
    }

    /// Turns the holds of `checkout_id` into a sale: on hand and held both drop by the held units,
    /// and the new stock is published. Returns the lines sold (empty when the checkout holds
    /// nothing: expired and swept, or already sold).
    ///
    /// # Errors
    /// A query failure.
    pub async fn sell_held(&self, checkout_id: &str) -> Result<Vec<StockLine>, CommerceError> {
        let mut tx = self.pool().begin().await?;
        let lines = sell_held_in(&mut tx, checkout_id).await?;
        tx.commit().await?;
        Ok(lines)
    }

    /// Releases the holds of `checkout_id` (a failed or abandoned checkout). Returns the lines
    /// released.
    ///
    /// # Errors
    /// A query failure.
    pub async fn release_holds(&self, checkout_id: &str) -> Result<Vec<StockLine>, CommerceError> {
        let mut tx = self.pool().begin().await?;
        let lines = release_holds_in(&mut tx, checkout_id).await?;
        tx.commit().await?;
        Ok(lines)
    }

    /// Releases every hold that expired before `now_ms` (the sweeper's pass); returns how many
    /// checkouts lost their holds.
    ///
    /// # Errors
    /// A query failure.
    pub async fn sweep_expired_holds(&self, now_ms: i64) -> Result<usize, CommerceError> {
        let rows = sqlx::query("SELECT DISTINCT checkout_id FROM holds WHERE expires_at < $1")
            .bind(now_ms)
            .fetch_all(self.pool())
            .await?;
        let mut released = 0;
        for row in rows {
            let checkout_id: String = row.try_get("checkout_id")?;
            if !self.release_expired(&checkout_id, now_ms).await?.is_empty() {
                released += 1;
            }
        }
        Ok(released)
    }

    /// Releases the holds of `checkout_id` that expired before `now_ms`.
    async fn release_expired(&self, checkout_id: &str, now_ms: i64) -> Result<Vec<StockLine>, CommerceError> {
        let mut tx = self.pool().begin().await?;
        let rows =
            sqlx::query("DELETE FROM holds WHERE checkout_id = $1 AND expires_at < $2 RETURNING product_id, quantity")
                .bind(checkout_id)
                .bind(now_ms)
                .fetch_all(&mut *tx)
                .await?;
        let lines = rows.iter().map(stock_line).collect::<Result<Vec<_>, _>>()?;
        unreserve_in(&mut tx, &lines).await?;
        tx.commit().await?;
        Ok(lines)
    }
}

fn check_non_negative(what: &str, value: i64) -> Result<(), CommerceError> {
    if value < 0 { Err(CommerceError::Invalid(format!("{what} must not be negative, got {value}"))) } else { Ok(()) }
}

fn stock_line(row: &AnyRow) -> Result<StockLine, sqlx::Error> {
    Ok(StockLine { product_id: row.try_get("product_id")?, quantity: row.try_get("quantity")? })
}

/// Inserts a SKU with `on_hand` units and nothing held, unless one exists; returns how many rows
/// were inserted (0 or 1).
async fn insert_sku(
    tx: &mut Transaction<'_, Any>,
    product_id: &str,
    price: Money,
    on_hand: i64,
    now: i64,
) -> Result<u64, CommerceError> {
    let inserted = sqlx::query(
        "INSERT INTO skus (product_id, price_cents, currency, on_hand, reserved, version, updated_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $5) ON CONFLICT (product_id) DO NOTHING",
    )
    .bind(product_id)
    .bind(price.minor_units)
    .bind(price.currency.as_str())
    .bind(on_hand)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected())
}

async fn sku_in(tx: &mut Transaction<'_, Any>, product_id: &str) -> Result<Option<Sku>, CommerceError> {
    let row = sqlx::query(
        "SELECT product_id, price_cents, currency, on_hand, reserved, version FROM skus WHERE product_id = $1",
    )
    .bind(product_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.as_ref().map(Sku::from_row).transpose()?)
}

/// Deletes the holds of a checkout and returns their lines.
async fn take_holds(tx: &mut Transaction<'_, Any>, checkout_id: &str) -> Result<Vec<StockLine>, CommerceError> {
    let rows = sqlx::query("DELETE FROM holds WHERE checkout_id = $1 RETURNING product_id, quantity")
        .bind(checkout_id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.iter().map(stock_line).collect::<Result<Vec<_>, _>>()?)
}

/// Holds `lines` for `holder` inside `tx` (see [`Store::hold`]); the caller rolls back on error.
pub(crate) async fn hold_in(
    tx: &mut Transaction<'_, Any>,
    holder: &str,
    lines: &[StockLine],
    ttl: Duration,
) -> Result<(), CommerceError> {
    let mut lines = lines.to_vec();
    lines.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    for line in &lines {
        if line.quantity < 1 {
            return Err(CommerceError::Invalid(format!("quantity of `{}` must be at least 1", line.product_id)));
        }
    }
    let expires_at = now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    for line in &lines {
        let held =
            sqlx::query("UPDATE skus SET reserved = reserved + $1 WHERE product_id = $2 AND on_hand - reserved >= $1")
                .bind(line.quantity)
                .bind(&line.product_id)
                .execute(&mut **tx)
                .await?;
        if held.rows_affected() == 0 {
            return Err(match sku_in(tx, &line.product_id).await? {
                None => CommerceError::UnknownProduct(line.product_id.clone()),
                Some(sku) => CommerceError::OutOfStock {
                    product_id: line.product_id.clone(),
                    requested: line.quantity,
                    available: sku.available().max(0),
                },
            });
        }
        sqlx::query(
            "INSERT INTO holds (id, checkout_id, product_id, quantity, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(holder)
        .bind(&line.product_id)
        .bind(line.quantity)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// [`Store::sell_held`] inside `tx` (the order's transaction).
pub(crate) async fn sell_held_in(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
) -> Result<Vec<StockLine>, CommerceError> {
    let lines = take_holds(tx, checkout_id).await?;
    for line in &lines {
        sell(tx, line, "reserved = reserved - $1,").await?;
    }
    Ok(lines)
}

/// Sells `lines` that hold nothing (their holds expired) if the stock is still there: all or
/// nothing inside `tx`; `false` (and nothing sold) when a line is short.
pub(crate) async fn sell_unheld_in(tx: &mut Transaction<'_, Any>, lines: &[StockLine]) -> Result<bool, CommerceError> {
    for line in lines {
        let sold = sqlx::query(&format!(
            "UPDATE skus SET on_hand = on_hand - $1, updated_at = $2, version = {} \
             WHERE product_id = $3 AND on_hand - reserved >= $1",
            next_version("$2")
        ))
        .bind(line.quantity)
        .bind(now_ms())
        .bind(&line.product_id)
        .execute(&mut **tx)
        .await?;
        if sold.rows_affected() == 0 {
            return Ok(false);
        }
        publish_stock(tx, &line.product_id).await?;
    }
    Ok(true)
}

/// One sold line: on hand drops (and, with `held`, the hold it came from).
async fn sell(tx: &mut Transaction<'_, Any>, line: &StockLine, held: &str) -> Result<(), CommerceError> {
    sqlx::query(&format!(
        "UPDATE skus SET on_hand = on_hand - $1, {held} updated_at = $2, version = {} WHERE product_id = $3",
        next_version("$2")
    ))
    .bind(line.quantity)
    .bind(now_ms())
    .bind(&line.product_id)
    .execute(&mut **tx)
    .await?;
    publish_stock(tx, &line.product_id).await
}

async fn publish_stock(tx: &mut Transaction<'_, Any>, product_id: &str) -> Result<(), CommerceError> {
    if let Some(sku) = sku_in(tx, product_id).await? {
        publish(tx, &sku, Change::StockChanged { stock: Some(sku.on_hand.max(0) as u64) }).await?;
    }
    Ok(())
}

/// Puts `lines` back on hand (a cancelled order) inside `tx`, publishing the new stock.
pub(crate) async fn restock_in(tx: &mut Transaction<'_, Any>, lines: &[StockLine]) -> Result<(), CommerceError> {
    for line in lines {
        sqlx::query(&format!(
            "UPDATE skus SET on_hand = on_hand + $1, updated_at = $2, version = {} WHERE product_id = $3",
            next_version("$2")
        ))
        .bind(line.quantity)
        .bind(now_ms())
        .bind(&line.product_id)
        .execute(&mut **tx)
        .await?;
        publish_stock(tx, &line.product_id).await?;
    }
    Ok(())
}

/// [`Store::release_holds`] inside `tx`.
pub(crate) async fn release_holds_in(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
) -> Result<Vec<StockLine>, CommerceError> {
    let lines = take_holds(tx, checkout_id).await?;
    unreserve_in(tx, &lines).await?;
    Ok(lines)
}

/// Gives the held units of `lines` back to the available stock.
async fn unreserve_in(tx: &mut Transaction<'_, Any>, lines: &[StockLine]) -> Result<(), CommerceError> {
    for line in lines {
        sqlx::query("UPDATE skus SET reserved = reserved - $1 WHERE product_id = $2")
            .bind(line.quantity)
            .bind(&line.product_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Appends the product event of `change` on `sku` to the outbox.
async fn publish(tx: &mut Transaction<'_, Any>, sku: &Sku, change: Change) -> Result<(), CommerceError> {
    let product_id = ProductId::new(&sku.product_id)
        .map_err(|error| CommerceError::Invalid(format!("`{}`: {error}", sku.product_id)))?;
    let event = ProductEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        product_id,
        version: u64::try_from(sku.version).unwrap_or(0),
        occurred_at: chrono::Utc::now(),
        change,
    };
    append(tx, PRODUCTS_TOPIC, &sku.product_id, &event.to_json()).await
}
