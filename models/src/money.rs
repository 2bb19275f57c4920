use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// An ISO 4217 currency code (`GBP`, `EUR`, `JPY`): one of the codes in use, with its minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// The ISO 4217 currencies in use (list one, 2025), each with its minor unit's decimal places;
/// precious metals, bond units and testing codes (`XAU`, `XTS`, …) are not money a shop takes.
#[rustfmt::skip]
const ISO_4217: [(&str, u8); 166] = [
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2),
    ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2), ("BHD", 3), ("BIF", 0),
    ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2),
    ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2), ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4),
    ("CLP", 0), ("CNY", 2), ("COP", 2), ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2),
    ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2),
    ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0),
    ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2),
    ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2),
    ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2),
    ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2),
    ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2),
    ("MWK", 2), ("MXN", 2), ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2),
    ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0),
    ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2),
    ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2),
    ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2),
    ("UAH", 2), ("UGX", 0), ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2),
    ("VED", 2), ("VES", 2), ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2),
    ("XOF", 0), ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

impl Currency {
    /// Pound sterling, the demo shop's currency.
    pub const GBP: Currency = Currency(*b"GBP");
    /// The euro.
    pub const EUR: Currency = Currency(*b"EUR");
    /// The US dollar.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses an ISO 4217 currency code; lower case is accepted and upper-cased. A code that is
    /// not a currency in use (`ZZZ`, `XAU`) is refused.
    pub fn new(code: &str) -> Result<Self, ValidationError> {
        let upper = code.trim().to_ascii_uppercase();
        match <[u8; 3]>::try_from(upper.as_bytes()) {
            Ok(bytes) if ISO_4217.iter().any(|(known, _)| known.as_bytes() == bytes) => Ok(Currency(bytes)),
            _ => Err(ValidationError::Malformed {
                field: "currency",
                reason: format!("{code:?} is not an ISO 4217 currency code in use (GBP, EUR, USD, JPY, …)"),
            }),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // The constructor only admits ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// How many decimal places the currency's minor unit has (2 for GBP, 0 for JPY, 3 for KWD).
    pub fn exponent(&self) -> u32 {
        ISO_4217.iter().find(|(code, _)| code.as_bytes() == self.0).map_or(2, |(_, exponent)| u32::from(*exponent))
    }
}

impl TryFrom<String> for Currency {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::new(&value)
    }
}

crate::schema::wire_schema!(
    Currency,
    "Currency",
    crate::schema::string(
        "An ISO 4217 currency code in use (`GBP`, `EUR`, `JPY`); answers write it in capitals.",
        3,
        3,
        Some("^[A-Za-z]{3}$"),
        None
    )
);

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
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

    /// An amount given in major units that must be exact in the currency's minor unit: 2.95 GBP
    /// is 295 pence, 0.004 GBP or 1.5 JPY is refused rather than rounded (a price, a refund).
    /// Refuses NaN, infinities and absurd magnitudes as [`Money::from_decimal`] does.
    pub fn from_decimal_exact(amount: f64, currency: Currency) -> Result<Self, ValidationError> {
        let money = Self::from_decimal(amount, currency)?;
        let scale = 10_f64.powi(currency.exponent() as i32);
        // Decimal fractions are not exact in binary (2.95 × 100 = 295.00000000000006): a
        // millionth of a minor unit is the tolerance.
        if (amount * scale - money.minor_units as f64).abs() > 1e-6 {
            return Err(ValidationError::OutOfRange {
                field: "price",
                value: amount.to_string(),
                expected: match currency.exponent() {
                    0 => "a whole amount in this currency (it has no minor unit)",
                    3 => "at most 3 decimal places in this currency",
                    4 => "at most 4 decimal places in this currency",
                    _ => "at most 2 decimal places in this currency",
                },
            });
        }
        Ok(money)
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
        assert_eq!(Currency::new("KWD").map(|c| c.exponent()), Ok(3));
        for bad in ["", "GB", "GBPP", "G1P", "££", "ZZZ", "XAU", "XTS", "ABC"] {
            assert!(Currency::new(bad).is_err(), "{bad:?}");
        }
        // The list holds each code once, in upper case.
        let mut codes: Vec<&str> = ISO_4217.iter().map(|(code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ISO_4217.len());
        assert!(codes.iter().all(|code| code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn exact_amounts_are_refused_when_finer_than_the_minor_unit() {
        assert_eq!(Money::from_decimal_exact(2.95, Currency::GBP).map(|m| m.minor_units), Ok(295));
        assert_eq!(Money::from_decimal_exact(0.1 + 0.2, Currency::GBP).map(|m| m.minor_units), Ok(30));
        assert!(Money::from_decimal_exact(0.004, Currency::GBP).is_err());
        assert!(Money::from_decimal_exact(12.345, Currency::EUR).is_err());
        let jpy = Currency::new("JPY").expect("JPY");
        assert!(Money::from_decimal_exact(1.5, jpy).is_err());
        assert_eq!(Money::from_decimal_exact(1500.0, jpy).map(|m| m.minor_units), Ok(1500));
        let kwd = Currency::new("KWD").expect("KWD");
        assert_eq!(Money::from_decimal_exact(1.234, kwd).map(|m| m.minor_units), Ok(1234));
        assert!(Money::from_decimal_exact(1e300, Currency::GBP).is_err());
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
