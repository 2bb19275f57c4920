//! Cart pricing: a pure function of the lines (with the unit prices commerce read from its own
//! tables), the promotions, the shipping rule and the tax rule, returning itemised totals.
//! Amounts are integers in minor units; every rounding is explicit (half away from zero).

use serde::{Deserialize, Serialize};

/// One line to price: the unit price comes from the SKU, never from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedLine {
    /// The product.
    pub product_id: String,
    /// Unit price in minor units.
    pub unit_cents: i64,
    /// Units.
    pub quantity: i64,
}

/// A cart-level promotion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Promotion {
    /// A percentage off the subtotal, from a minimum subtotal.
    PercentOff {
        /// Its code (coupon) or name.
        code: String,
        /// 0–100.
        percent: u8,
        /// Applies from this subtotal (minor units).
        min_subtotal_cents: i64,
    },
    /// A fixed amount off the subtotal, from a minimum subtotal (never below 0).
    AmountOff {
        /// Its code (coupon) or name.
        code: String,
        /// Minor units.
        amount_cents: i64,
        /// Applies from this subtotal (minor units).
        min_subtotal_cents: i64,
    },
}

/// Shipping: a flat rate, free from a threshold (after discounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRule {
    /// Minor units per order.
    pub flat_cents: i64,
    /// Free shipping from this discounted subtotal (`None`: never free).
    pub free_from_cents: Option<i64>,
}

/// Tax: a rate in basis points (2000 = 20 %) on the discounted subtotal plus shipping, either
/// included in the prices (VAT-style: the total does not change, the tax part is reported) or
/// added on top (sales-tax style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRule {
    /// Basis points.
    pub rate_bp: u32,
    /// Prices include the tax.
    pub included: bool,
}

/// The largest amount the shop takes, in minor units (a price, a coupon, a checkout's total):
/// 99,999,999, the limit of the payment providers (Stripe's for most currencies; £999,999.99).
pub const MAX_AMOUNT_MINOR_UNITS: i64 = 99_999_999;

/// The most units of a product on hand: a figure above it is a typo, not stock.
pub const MAX_STOCK: i64 = 1_000_000_000;

/// The priced cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Totals {
    /// Each line with its amount (`unit × quantity`).
    pub lines: Vec<LineTotal>,
    /// Sum of the lines.
    pub subtotal_cents: i64,
    /// Promotions applied, each with its amount.
    pub discounts: Vec<Discount>,
    /// Sum of the discounts (at most the subtotal).
    pub discount_cents: i64,
    /// Shipping charged.
    pub shipping_cents: i64,
    /// Tax (included in the total or added to it, as the rule says).
    pub tax_cents: i64,
    /// What the shopper pays.
    pub total_cents: i64,
}

/// One priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineTotal {
    /// The product.
    pub product_id: String,
    /// Units.
    pub quantity: i64,
    /// Unit price.
    pub unit_cents: i64,
    /// `unit × quantity`.
    pub amount_cents: i64,
}

/// One applied promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Discount {
    /// The promotion's code.
    pub code: String,
    /// Minor units taken off.
    pub amount_cents: i64,
}

/// `numerator / denominator`, rounded half away from zero (both non-negative here).
fn divide_rounded(numerator: i128, denominator: i128) -> i64 {
    i64::try_from((numerator * 2 + denominator) / (denominator * 2)).unwrap_or(i64::MAX)
}

/// Prices `lines`. Promotions apply in order, each on what is left of the subtotal, and together
/// never take more than the subtotal; a promotion below its minimum subtotal is skipped.
pub fn price(lines: &[PricedLine], promotions: &[Promotion], shipping: ShippingRule, tax: TaxRule) -> Totals {
    let lines: Vec<LineTotal> = lines
        .iter()
        .map(|line| LineTotal {
            product_id: line.product_id.clone(),
            quantity: line.quantity,
            unit_cents: line.unit_cents,
            amount_cents: line.unit_cents.saturating_mul(line.quantity),
        })
        .collect();
    let subtotal_cents: i64 = lines.iter().map(|line| line.amount_cents).fold(0, i64::saturating_add);

    let mut discounts = Vec::new();
    let mut left = subtotal_cents;
    for promotion in promotions {
        let (code, amount) = match promotion {
            Promotion::PercentOff { code, percent, min_subtotal_cents } if subtotal_cents >= *min_subtotal_cents => {
                (code, divide_rounded(i128::from(subtotal_cents) * i128::from((*percent).min(100)), 100))
            }
            Promotion::AmountOff { code, amount_cents, min_subtotal_cents }
                if subtotal_cents >= *min_subtotal_cents =>
            {
                (code, (*amount_cents).max(0))
            }
            _ => continue,
        };
        let amount = amount.min(left);
        if amount > 0 {
            left -= amount;
            discounts.push(Discount { code: code.clone(), amount_cents: amount });
        }
    }
    let discount_cents = subtotal_cents - left;

    let shipping_cents = if lines.is_empty() || shipping.free_from_cents.is_some_and(|free| left >= free) {
        0
    } else {
        shipping.flat_cents.max(0)
    };
    let taxable = i128::from(left) + i128::from(shipping_cents);
    let rate = i128::from(tax.rate_bp);
    let (tax_cents, total_cents) = if tax.included {
        // The tax part of a gross amount: gross × rate / (10000 + rate).
        (divide_rounded(taxable * rate, 10_000 + rate), left.saturating_add(shipping_cents))
    } else {
        let tax_cents = divide_rounded(taxable * rate, 10_000);
        (tax_cents, left.saturating_add(shipping_cents).saturating_add(tax_cents))
    };
    Totals { lines, subtotal_cents, discounts, discount_cents, shipping_cents, tax_cents, total_cents }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn line(id: &str, unit_cents: i64, quantity: i64) -> PricedLine {
        PricedLine { product_id: id.into(), unit_cents, quantity }
    }

    const FLAT: ShippingRule = ShippingRule { flat_cents: 495, free_from_cents: Some(5_000) };
    const VAT: TaxRule = TaxRule { rate_bp: 2_000, included: true };

    #[test]
    fn a_cart_by_hand() {
        let lines = [line("mug", 1_250, 2), line("lamp", 1_999, 1)];
        let promotions = [Promotion::PercentOff { code: "TEN".into(), percent: 10, min_subtotal_cents: 0 }];
        let totals = price(&lines, &promotions, FLAT, VAT);
        assert_eq!(totals.subtotal_cents, 4_499);
        // 10 % of 44.99 = 4.499 → 4.50.
        assert_eq!(totals.discount_cents, 450);
        // 40.49 left: below the free-shipping threshold.
        assert_eq!(totals.shipping_cents, 495);
        assert_eq!(totals.total_cents, 4_049 + 495);
        // VAT included in goods and shipping: (40.49 + 4.95) × 20 / 120 = 7.5733 → 7.57.
        assert_eq!(totals.tax_cents, 757);

        let sales_tax = price(&lines, &[], FLAT, TaxRule { rate_bp: 825, included: false });
        // 44.99 + 4.95 = 49.94; 8.25 % = 4.12005 → 4.12.
        assert_eq!(
            (sales_tax.shipping_cents, sales_tax.tax_cents, sales_tax.total_cents),
            (495, 412, 4_499 + 495 + 412)
        );
    }

    #[test]
    fn thresholds_and_caps() {
        let lines = [line("sofa", 60_000, 1)];
        let promotions = [
            Promotion::AmountOff { code: "BIG".into(), amount_cents: 100_000, min_subtotal_cents: 50_000 },
            Promotion::PercentOff { code: "MORE".into(), percent: 50, min_subtotal_cents: 0 },
            Promotion::AmountOff { code: "SMALL".into(), amount_cents: 500, min_subtotal_cents: 100_000 },
        ];
        let totals = price(&lines, &promotions, FLAT, VAT);
        assert_eq!(totals.discount_cents, 60_000, "never more than the subtotal");
        assert_eq!(totals.discounts.len(), 1, "nothing left for the second; the third is below its minimum");
        assert_eq!(totals.shipping_cents, 495, "free shipping counts the discounted subtotal");
        assert_eq!(price(&[], &[], FLAT, VAT).total_cents, 0, "an empty cart ships nothing");
    }

    proptest! {
        #[test]
        fn totals_add_up_and_never_go_negative(
            items in proptest::collection::vec((0i64..100_000, 1i64..50), 0..8),
            percent in 0u8..=100,
            amount in 0i64..200_000,
            rate_bp in 0u32..3_000,
            included in any::<bool>(),
        ) {
            let lines: Vec<PricedLine> = items.iter().enumerate().map(|(i, &(unit, quantity))| line(&format!("p{i}"), unit, quantity)).collect();
            let promotions = [
                Promotion::PercentOff { code: "P".into(), percent, min_subtotal_cents: 0 },
                Promotion::AmountOff { code: "A".into(), amount_cents: amount, min_subtotal_cents: 0 },
            ];
            let totals = price(&lines, &promotions, FLAT, TaxRule { rate_bp, included });
            prop_assert_eq!(totals.subtotal_cents, lines.iter().map(|l| l.unit_cents * l.quantity).sum::<i64>());
            prop_assert!(totals.discount_cents >= 0 && totals.discount_cents <= totals.subtotal_cents);
            prop_assert_eq!(totals.discount_cents, totals.discounts.iter().map(|d| d.amount_cents).sum::<i64>());
            prop_assert!(totals.tax_cents >= 0 && totals.total_cents >= 0);
            let net = totals.subtotal_cents - totals.discount_cents + totals.shipping_cents;
            prop_assert_eq!(totals.total_cents, if included { net } else { net + totals.tax_cents });
            prop_assert!(totals.tax_cents <= net.max(0) || !included);
        }
    }
}
