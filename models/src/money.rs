use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// An ISO 4217 currency code: three upper-case ASCII letters (`GBP`, `EUR`, `JPY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    /// Pound sterling, the demo shop's currency.
    pub const GBP: Currency = Currency(*b"GBP");
    /// The euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// The US dollar.
    pub const USD: Currency = Currency(*b"USD");

    /// Currencies whose amounts have no minor unit (ISO 4217 exponent 0).
    const ZERO_DECIMAL: [&'static str; 16] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
    ];

    /// Parses a currency code; lower case is accepted and upper-cased.
    pub fn new(code: &str) -> Result<Self, ValidationError> {
        let upper = code.trim().to_ascii_uppercase();
        match <[u8; 3]>::try_from(upper.as_bytes()) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_uppercase) => Ok(Currency(bytes)),
            _ => Err(ValidationError::Malformed {
                field: "currency",
                reason: format!("{code:?} is not a three-letter ISO 4217 code"),
            }),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // The constructor only admits ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// How many decimal places the currency's minor unit has (2 for GBP, 0 for JPY).
    pub fn exponent(&self) -> u32 {
        if Self::ZERO_DECIMAL.contains(&self.as_str()) { 0 } else { 2 }
    }
}

impl TryFrom<String> for Currency {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::new(&value)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money in a currency's **minor units** (pence, cents), so sums are exact.
///
/// Feeds give prices as decimal numbers (`12.5`); [`Money::from_decimal`] rounds them to the
/// currency's minor unit once, at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Money {
    /// The amount in minor units (1250 for £12.50).
    pub minor_units: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// The largest amount accepted, in major units: a product price above this is a data error.
    pub const MAX_MAJOR_UNITS: f64 = 1e12;

    /// An amount from minor units.
    pub fn from_minor_units(minor_units: i64, currency: Currency) -> Self {
        Money { minor_units, currency }
    }

    /// An amount from a decimal number of major units, rounded half away from zero to the
    /// currency's minor unit. Refuses NaN, infinities and absurd magnitudes.
    pub fn from_decimal(amount: f64, currency: Currency) -> Result<Self, ValidationError> {
        if !amount.is_finite() || amount.abs() > Self::MAX_MAJOR_UNITS {
            return Err(ValidationError::OutOfRange {
                field: "price",
                value: amount.to_string(),
                expected: "it must be a finite number below 10^12",
            });
        }
        let scale = 10_f64.powi(currency.exponent() as i32);
        // The magnitude check above keeps the product far inside i64's range.
        let minor_units = (amount * scale).round() as i64;
        Ok(Money { minor_units, currency })
    }

    /// The amount in major units as a float, for ranking and range filters (never for sums).
    pub fn to_decimal(&self) -> f64 {
        self.minor_units as f64 / 10_f64.powi(self.currency.exponent() as i32)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exponent = self.currency.exponent() as usize;
        write!(f, "{:.*} {}", exponent, self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn currencies_are_three_letters_and_know_their_exponent() {
        assert_eq!(Currency::new("gbp"), Ok(Currency::GBP));
        assert_eq!(Currency::GBP.exponent(), 2);
        assert_eq!(Currency::new("JPY").map(|c| c.exponent()), Ok(0));
        for bad in ["", "GB", "GBPP", "G1P", "££"] {
            assert!(Currency::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn decimal_prices_round_to_minor_units() {
        assert_eq!(Money::from_decimal(12.5, Currency::GBP).map(|m| m.minor_units), Ok(1250));
        assert_eq!(Money::from_decimal(0.125, Currency::GBP).map(|m| m.minor_units), Ok(13));
        assert_eq!(Money::from_decimal(1999.6, Currency::new("JPY").expect("JPY")).map(|m| m.minor_units), Ok(2000));
        assert!(Money::from_decimal(f64::NAN, Currency::GBP).is_err());
        assert!(Money::from_decimal(1e13, Currency::GBP).is_err());
        assert_eq!(Money::from_minor_units(695, Currency::GBP).to_string(), "6.95 GBP");
    }

    proptest! {
        #[test]
        fn minor_units_survive_a_round_trip_through_decimal(minor in -1_000_000_000_i64..1_000_000_000) {
            let money = Money::from_minor_units(minor, Currency::EUR);
            prop_assert_eq!(Money::from_decimal(money.to_decimal(), Currency::EUR), Ok(money));
        }
    }
}
