//! A cart's quote: its lines priced from commerce's own SKUs (never from a client or a search
//! hit), its coupon, shipping and tax ([`price`]). The cart the shopper sees and the checkout
//! that charges it are priced by this one path, so the total shown is the total charged.

use serde::Serialize;

use crate::cart::Cart;
use crate::coupons::Coupon;
use crate::pricing::{MAX_AMOUNT_MINOR_UNITS, PricedLine, ShippingRule, TaxRule, Totals, price};
use crate::{CommerceError, Store};

/// A priced cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartQuote {
    /// The itemised totals.
    pub totals: Totals,
    /// The currency of the cart's SKUs (the first line's), `None` for an empty cart.
    pub currency: Option<String>,
    /// The coupon applied to the cart, if any.
    pub coupon: Option<Coupon>,
    /// The first reason the cart cannot be paid for as it is, in line order.
    #[serde(skip)]
    problem: Option<QuoteProblem>,
}

/// Why a quoted cart cannot be paid for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum QuoteProblem {
    /// A line's product has no SKU (priced at 0 in the quote).
    UnknownProduct(String),
    /// A line's SKU is in another currency than the first line's.
    MixedCurrencies,
}

impl CartQuote {
    /// The quote, if the cart can be paid for as it is: every product sold, one currency.
    ///
    /// # Errors
    /// [`CommerceError::UnknownProduct`] (the first such line), [`CommerceError::Invalid`]
    /// for a cart in several currencies, [`CommerceError::AmountTooLarge`] for a total above
    /// what a payment may take.
    pub fn payable(self) -> Result<CartQuote, CommerceError> {
        match self.problem {
            None if self.totals.total_cents > MAX_AMOUNT_MINOR_UNITS => Err(CommerceError::AmountTooLarge(format!(
                "the cart's total, {} in minor units, is above the {MAX_AMOUNT_MINOR_UNITS} a payment may take",
                self.totals.total_cents
            ))),
            None => Ok(self),
            Some(QuoteProblem::UnknownProduct(product_id)) => Err(CommerceError::UnknownProduct(product_id)),
            Some(QuoteProblem::MixedCurrencies) => Err(CommerceError::Invalid("a cart is paid in one currency".into())),
        }
    }
}

impl Store {
    /// Prices `cart` from the SKUs as they are now, with its coupon, `shipping` and `tax`. A line
    /// whose product is no longer sold is priced at 0 (the quote says so to [`CartQuote::payable`]).
    ///
    /// # Errors
    /// A query failure.
    pub async fn quote(&self, cart: &Cart, shipping: ShippingRule, tax: TaxRule) -> Result<CartQuote, CommerceError> {
        let mut lines = Vec::with_capacity(cart.lines.len());
        let mut currency = None;
        let mut problem = None;
        for line in &cart.lines {
            let sku = self.sku(&line.product_id).await?;
            match &sku {
                Some(sku) => {
                    let code = sku.price.currency.to_string();
                    if currency.get_or_insert_with(|| code.clone()) != &code {
                        problem.get_or_insert(QuoteProblem::MixedCurrencies);
                    }
                }
                None => {
                    problem.get_or_insert_with(|| QuoteProblem::UnknownProduct(line.product_id.clone()));
                }
            }
            lines.push(PricedLine {
                product_id: line.product_id.clone(),
                unit_cents: sku.map_or(0, |sku| sku.price.minor_units),
                quantity: line.quantity,
            });
        }
        let coupon = self.cart_coupon(&cart.id).await?;
        let promotions: Vec<_> = coupon.iter().map(Coupon::promotion).collect();
        let totals = price(&lines, &promotions, shipping, tax);
        Ok(CartQuote { totals, currency, coupon, problem })
    }
}
