//! The statistics of online experiments: A/B tests and team-draft interleaving, as pure functions
//! on counts (no I/O; the HTTP layer gathers the counts and calls these).
//!
//! The randomisation unit is a shopper identity (assignment is sticky), so the searches of one
//! identity are correlated. Every metric is therefore a ratio of sums over identities, and its
//! variance comes from the delta method (Deng, Knoblich and Lu, "Applying the Delta Method in
//! Metric Analytics", KDD 2018):
//!
//! - [`RatioEstimate::from_units`]: `Σx / Σn` over per-identity pairs `(x_i, n_i)` (e.g. clicked
//!   searches and searches) with its delta-method variance.
//! - [`compare`]: treatment against control — the difference with a fixed-horizon z test and
//!   interval ([`Comparison::fixed_p_value`]), and an always-valid p-value and confidence sequence
//!   from the mixture sequential probability ratio test ([`msprt_p_value`], [`msprt_interval`]),
//!   which stay valid however often the results are looked at (Johari, Pekelis and Walsh, "Always
//!   Valid Inference", 2015; Johari, Koomen, Pekelis and Walsh, "Peeking at A/B Tests", KDD 2017).
//!   The caller computes the mSPRT p-value at each look and keeps the [`running_min`]; the
//!   mixing scale τ comes from [`default_tau`].
//! - [`sample_ratio_mismatch`]: a Pearson chi-square test of the identities per variant against
//!   the configured weights; a p-value below [`SRM_THRESHOLD`] means the assignment is broken and
//!   no other number of the experiment can be trusted.
//! - [`preference`]: team-draft interleaving — the share of decided searches won by the treatment,
//!   tested against ½ in the same two ways.
//! - [`two_proportion_z_test`]: the textbook unclustered test, as an independent check.
//!
//! Every output is finite except where a bound or a variance is unknown: those are `±∞` in Rust
//! and `null` in JSON, and no output is ever NaN.

mod stats;

pub use stats::{
    Comparison, DEFAULT_ALPHA, DEFAULT_RELATIVE_EFFECT, MIN_TAU, Preference, RatioEstimate, SRM_THRESHOLD, SampleRatio,
    compare, default_tau, msprt_interval, msprt_p_value, preference, preference_of, running_min, sample_ratio_mismatch,
    two_proportion_z_test,
};
