//! Carts: guest carts (used with a secret token) and shoppers' carts (one open cart per user),
//! persisted line by line. Logging in merges the guest cart into the shopper's in one transaction:
//! quantities are summed and capped by what is available, and every cap is reported.
//!
//! A cart holds no stock (checkout does); it only refuses products commerce does not sell and
//! quantities outside `1..=MAX_QUANTITY`.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::store::now_ms;
use crate::{CommerceError, Store};

/// The most units of one product in a cart.
pub const MAX_QUANTITY: i64 = 999;

/// A cart and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Cart {
    /// Its id.
    pub id: String,
    /// The secret a guest presents to use the cart (shown once, to its creator).
    pub token: String,
    /// The shopper's id for a user cart.
    #[schema(required = true)]
    pub user_id: Option<String>,
    /// `open`, `merged` or `ordered`.
    pub status: String,
    /// Lines, by product id.
    pub lines: Vec<CartLine>,
}

/// One line of a cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CartLine {
    /// The product.
    pub product_id: String,
    /// Units.
    pub quantity: i64,
}

/// What a merge changed that the shopper did not ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Adjustment {
    /// The product.
    pub product_id: String,
    /// Units the two carts had together.
    pub requested: i64,
    /// Units kept (the available stock, [`MAX_QUANTITY`], or a hold limit).
    pub kept: i64,
}

/// The outcome of [`Store::merge_carts`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// The shopper's cart after the merge.
    pub cart: Cart,
    /// Lines capped by stock, by [`MAX_QUANTITY`] or by a hold limit.
    pub adjustments: Vec<Adjustment>,
}

impl Store {
    /// A new guest cart, or the open cart of `user_id` (created if it has none).
    ///
    /// # Errors
    /// A query failure.
    pub async fn create_cart(&self, user_id: Option<&str>) -> Result<Cart, CommerceError> {
        let mut tx = self.pool().begin().await?;
        let id = match user_id {
            Some(user) => open_cart_of(&mut tx, user).await?,
            None => insert_cart(&mut tx, None).await?,
        };
        let cart = cart_in(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(cart)
    }

    /// The cart `cart_id` with its lines.
    ///
    /// # Errors
    /// [`CommerceError::CartNotFound`], a query failure.
    pub async fn cart(&self, cart_id: &str) -> Result<Cart, CommerceError> {
        let mut tx = self.pool().begin().await?;
        let cart = cart_in(&mut tx, cart_id).await?;
        tx.commit().await?;
        Ok(cart)
    }

    /// Adds `quantity` units of `product_id` (to what the line has).
    ///
    /// # Errors
    /// An unknown or closed cart, a product commerce does not sell, a quantity outside
    /// `1..=MAX_QUANTITY` (in total), a query failure.
    pub async fn add_to_cart(&self, cart_id: &str, product_id: &str, quantity: i64) -> Result<Cart, CommerceError> {
        check_quantity(quantity)?;
        let mut tx = self.pool().begin().await?;
        let cart = open_cart_in(&mut tx, cart_id).await?;
        check_sold(&mut tx, product_id).await?;
        let current = cart.lines.iter().find(|line| line.product_id == product_id).map_or(0, |line| line.quantity);
        check_quantity(current + quantity)?;
        set_line(&mut tx, cart_id, product_id, current + quantity).await?;
        let cart = cart_in(&mut tx, cart_id).await?;
        tx.commit().await?;
        Ok(cart)
    }

    /// Sets the units of a line (0 removes it).
    ///
    /// # Errors
    /// An unknown or closed cart, a line the cart does not have, a quantity outside
    /// `0..=MAX_QUANTITY`, a query failure.
    pub async fn set_cart_quantity(
        &self,
        cart_id: &str,
        product_id: &str,
        quantity: i64,
    ) -> Result<Cart, CommerceError> {
        if quantity != 0 {
            check_quantity(quantity)?;
        }
        let mut tx = self.pool().begin().await?;
        let cart = open_cart_in(&mut tx, cart_id).await?;
        if !cart.lines.iter().any(|line| line.product_id == product_id) {
            return Err(CommerceError::Invalid(format!("cart `{cart_id}` has no `{product_id}`")));
        }
        if quantity == 0 {
            sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND product_id = $2")
                .bind(cart_id)
                .bind(product_id)
                .execute(&mut *tx)
                .await?;
            touch(&mut tx, cart_id).await?;
        } else {
            set_line(&mut tx, cart_id, product_id, quantity).await?;
        }
        let cart = cart_in(&mut tx, cart_id).await?;
        tx.commit().await?;
        Ok(cart)
    }

    /// Merges the guest cart `guest_cart_id` into the open cart of `user_id`, atomically:
    /// quantities of the same product are summed, then capped by the available stock and by
    /// [`MAX_QUANTITY`] (each cap reported); the guest cart is closed (`merged`).
    ///
    /// # Errors
    /// An unknown guest cart, one that is not an open guest cart, a query failure.
    pub async fn merge_carts(&self, guest_cart_id: &str, user_id: &str) -> Result<MergeReport, CommerceError> {
        self.merge_carts_within(guest_cart_id, user_id, MAX_QUANTITY, i64::MAX).await
    }

    /// [`Store::merge_carts`], with the merged lines also capped at `max_line` units each and,
    /// taken in product order, at `max_cart` units for the cart in all (each cap reported): the
    /// hold limits, when stock is held from add-to-cart.
    ///
    /// # Errors
    /// Those of [`Store::merge_carts`].
    pub async fn merge_carts_within(
        &self,
        guest_cart_id: &str,
        user_id: &str,
        max_line: i64,
        max_cart: i64,
    ) -> Result<MergeReport, CommerceError> {
        let mut tx = self.pool().begin().await?;
        let guest = open_cart_in(&mut tx, guest_cart_id).await?;
        if guest.user_id.is_some() {
            return Err(CommerceError::Invalid(format!("cart `{guest_cart_id}` is not a guest cart")));
        }
        let target_id = open_cart_of(&mut tx, user_id).await?;
        let target = cart_in(&mut tx, &target_id).await?;
        let mut adjustments = Vec::new();
        // What the shopper's own lines the guest cart does not touch already take of the cart's cap.
        let untouched: i64 = target
            .lines
            .iter()
            .filter(|own| !guest.lines.iter().any(|line| line.product_id == own.product_id))
            .map(|own| own.quantity)
            .sum();
        let mut room = max_cart.saturating_sub(untouched).max(0);
        for line in &guest.lines {
            let existing =
                target.lines.iter().find(|own| own.product_id == line.product_id).map_or(0, |own| own.quantity);
            let requested = existing + line.quantity;
            let available: Option<i64> =
                sqlx::query("SELECT on_hand - reserved AS available FROM skus WHERE product_id = $1")
                    .bind(&line.product_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| row.try_get("available"))
                    .transpose()?;
            let kept = requested.min(available.unwrap_or(0).max(0)).min(MAX_QUANTITY).min(max_line).min(room);
            room -= kept;
            if kept != requested {
                adjustments.push(Adjustment { product_id: line.product_id.clone(), requested, kept });
            }
            if kept > 0 {
                set_line(&mut tx, &target_id, &line.product_id, kept).await?;
            } else {
                sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND product_id = $2")
                    .bind(&target_id)
                    .bind(&line.product_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query("UPDATE carts SET status = 'merged', updated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(guest_cart_id)
            .execute(&mut *tx)
            .await?;
        let cart = cart_in(&mut tx, &target_id).await?;
        tx.commit().await?;
        Ok(MergeReport { cart, adjustments })
    }
}

fn check_quantity(quantity: i64) -> Result<(), CommerceError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(CommerceError::Invalid(format!("quantity must be between 1 and {MAX_QUANTITY}, got {quantity}")))
    }
}

async fn check_sold(tx: &mut Transaction<'_, Any>, product_id: &str) -> Result<(), CommerceError> {
    let sold = sqlx::query("SELECT product_id FROM skus WHERE product_id = $1")
        .bind(product_id)
        .fetch_optional(&mut **tx)
        .await?
        .is_some();
    if sold { Ok(()) } else { Err(CommerceError::UnknownProduct(product_id.to_owned())) }
}

async fn insert_cart(tx: &mut Transaction<'_, Any>, user_id: Option<&str>) -> Result<String, CommerceError> {
    let id = uuid::Uuid::now_v7().to_string();
    let token = uuid::Uuid::new_v4().simple().to_string();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO carts (id, token, user_id, status, created_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $4)",
    )
    .bind(&id)
    .bind(token)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The id of the open cart of `user_id`, created if needed.
async fn open_cart_of(tx: &mut Transaction<'_, Any>, user_id: &str) -> Result<String, CommerceError> {
    let existing = sqlx::query("SELECT id FROM carts WHERE user_id = $1 AND status = 'open'")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
    match existing {
        Some(row) => Ok(row.try_get("id")?),
        None => insert_cart(tx, Some(user_id)).await,
    }
}

async fn cart_in(tx: &mut Transaction<'_, Any>, cart_id: &str) -> Result<Cart, CommerceError> {
    let row = sqlx::query("SELECT id, token, user_id, status FROM carts WHERE id = $1")
        .bind(cart_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| CommerceError::CartNotFound(cart_id.to_owned()))?;
    let lines = sqlx::query("SELECT product_id, quantity FROM cart_lines WHERE cart_id = $1 ORDER BY product_id")
        .bind(cart_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(cart_line)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Cart {
        id: row.try_get("id")?,
        token: row.try_get("token")?,
        user_id: row.try_get("user_id")?,
        status: row.try_get("status")?,
        lines,
    })
}

async fn open_cart_in(tx: &mut Transaction<'_, Any>, cart_id: &str) -> Result<Cart, CommerceError> {
    let cart = cart_in(tx, cart_id).await?;
    if cart.status != "open" {
        return Err(CommerceError::CartClosed(cart_id.to_owned()));
    }
    Ok(cart)
}

fn cart_line(row: &AnyRow) -> Result<CartLine, sqlx::Error> {
    Ok(CartLine { product_id: row.try_get("product_id")?, quantity: row.try_get("quantity")? })
}

async fn set_line(
    tx: &mut Transaction<'_, Any>,
    cart_id: &str,
    product_id: &str,
    quantity: i64,
) -> Result<(), CommerceError> {
    sqlx::query(
        "INSERT INTO cart_lines (cart_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(cart_id)
    .bind(product_id)
    .bind(quantity)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    touch(tx, cart_id).await
}

async fn touch(tx: &mut Transaction<'_, Any>, cart_id: &str) -> Result<(), CommerceError> {
    sqlx::query("UPDATE carts SET updated_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(cart_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
