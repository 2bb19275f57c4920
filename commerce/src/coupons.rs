//! Coupons: a code for a percentage or an amount off, from a minimum subtotal, usable a limited
//! number of times. A use is taken by one conditional statement (`used < max_uses`) when the
//! checkout reserves its stock, and given back if the checkout is compensated: the limit holds
//! under any number of concurrent checkouts.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::pricing::Promotion;
use crate::store::now_ms;
use crate::{CommerceError, Store};

/// A coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coupon {
    /// The code shoppers type (stored upper-case).
    pub code: String,
    /// What it takes off.
    pub discount: CouponDiscount,
    /// Applies from this subtotal (minor units).
    pub min_subtotal_cents: i64,
    /// How many checkouts may use it.
    pub max_uses: i64,
    /// How many have.
    pub used: i64,
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CouponDiscount {
    /// A percentage of the subtotal.
    Percent {
        /// 0–100.
        percent: u8,
    },
    /// An amount (minor units).
    Amount {
        /// Minor units.
        amount_cents: i64,
    },
}

impl Coupon {
    /// The promotion pricing applies.
    pub fn promotion(&self) -> Promotion {
        match self.discount {
            CouponDiscount::Percent { percent } => {
                Promotion::PercentOff { code: self.code.clone(), percent, min_subtotal_cents: self.min_subtotal_cents }
            }
            CouponDiscount::Amount { amount_cents } => Promotion::AmountOff {
                code: self.code.clone(),
                amount_cents,
                min_subtotal_cents: self.min_subtotal_cents,
            },
        }
    }
}

fn normalise(code: &str) -> String {
    code.trim().to_uppercase()
}

impl Store {
    /// Creates or replaces a coupon (its count of uses is kept).
    ///
    /// # Errors
    /// An empty code, a percentage above 100, a negative figure, a query failure.
    pub async fn put_coupon(
        &self,
        code: &str,
        discount: CouponDiscount,
        min_subtotal_cents: i64,
        max_uses: i64,
    ) -> Result<Coupon, CommerceError> {
        let code = normalise(code);
        let (kind, value) = match discount {
            CouponDiscount::Percent { percent } if percent <= 100 => ("percent", i64::from(percent)),
            CouponDiscount::Amount { amount_cents } if amount_cents >= 0 => ("amount", amount_cents),
            _ => return Err(CommerceError::Invalid("a coupon takes 0–100 % or a non-negative amount off".into())),
        };
        if code.is_empty() || code.len() > 64 || min_subtotal_cents < 0 || max_uses < 0 {
            return Err(CommerceError::Invalid(
                "a coupon needs a code (1–64 characters) and non-negative limits".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO coupons (code, kind, value, min_subtotal_cents, max_uses, used, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, \
             value = excluded.value, min_subtotal_cents = excluded.min_subtotal_cents, max_uses = excluded.max_uses",
        )
        .bind(&code)
        .bind(kind)
        .bind(value)
        .bind(min_subtotal_cents)
        .bind(max_uses)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        self.coupon(&code).await?.ok_or_else(|| CommerceError::Invalid(format!("coupon `{code}` vanished")))
    }

    /// The coupon `code`, if it exists.
    ///
    /// # Errors
    /// A query failure.
    pub async fn coupon(&self, code: &str) -> Result<Option<Coupon>, CommerceError> {
        let row =
            sqlx::query("SELECT code, kind, value, min_subtotal_cents, max_uses, used FROM coupons WHERE code = $1")
                .bind(normalise(code))
                .fetch_optional(self.pool())
                .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("kind")?;
        let value: i64 = row.try_get("value")?;
        let discount = if kind == "percent" {
            CouponDiscount::Percent { percent: u8::try_from(value).unwrap_or(100) }
        } else {
            CouponDiscount::Amount { amount_cents: value }
        };
        Ok(Some(Coupon {
            code: row.try_get("code")?,
            discount,
            min_subtotal_cents: row.try_get("min_subtotal_cents")?,
            max_uses: row.try_get("max_uses")?,
            used: row.try_get("used")?,
        }))
    }

    /// Puts a coupon on an open cart (`None` takes it off).
    ///
    /// # Errors
    /// An unknown or closed cart, an unknown coupon, a query failure.
    pub async fn set_cart_coupon(&self, cart_id: &str, code: Option<&str>) -> Result<(), CommerceError> {
        let code = match code {
            Some(code) => Some(
                self.coupon(code)
                    .await?
                    .ok_or_else(|| CommerceError::Invalid(format!("no coupon `{}`", normalise(code))))?
                    .code,
            ),
            None => None,
        };
        let cart = self.cart(cart_id).await?;
        if cart.status != "open" {
            return Err(CommerceError::CartClosed(cart_id.to_owned()));
        }
        sqlx::query("UPDATE carts SET coupon_code = $1, updated_at = $2 WHERE id = $3")
            .bind(code)
            .bind(now_ms())
            .bind(cart_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The coupon on a cart, if any.
    ///
    /// # Errors
    /// A query failure.
    pub async fn cart_coupon(&self, cart_id: &str) -> Result<Option<Coupon>, CommerceError> {
        let code: Option<String> = sqlx::query("SELECT coupon_code FROM carts WHERE id = $1")
            .bind(cart_id)
            .fetch_optional(self.pool())
            .await?
            .map(|row| row.try_get("coupon_code"))
            .transpose()?
            .flatten();
        match code {
            Some(code) => self.coupon(&code).await,
            None => Ok(None),
        }
    }

    /// Takes one use of `code` for `checkout_id`; `false` when none is left.
    ///
    /// # Errors
    /// A query failure.
    pub async fn redeem_coupon(&self, code: &str, checkout_id: &str) -> Result<bool, CommerceError> {
        let mut tx = self.pool().begin().await?;
        let taken = sqlx::query("UPDATE coupons SET used = used + 1 WHERE code = $1 AND used < max_uses")
            .bind(normalise(code))
            .execute(&mut *tx)
            .await?;
        if taken.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("INSERT INTO coupon_redemptions (checkout_id, code, at) VALUES ($1, $2, $3)")
            .bind(checkout_id)
            .bind(normalise(code))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Gives back the coupon use of `checkout_id`, if it took one (inside the compensation's `tx`).
pub(crate) async fn release_redemption_in(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
) -> Result<(), CommerceError> {
    let redeemed = sqlx::query("DELETE FROM coupon_redemptions WHERE checkout_id = $1 RETURNING code")
        .bind(checkout_id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = redeemed {
        let code: String = row.try_get("code")?;
        sqlx::query("UPDATE coupons SET used = used - 1 WHERE code = $1 AND used > 0")
            .bind(code)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
