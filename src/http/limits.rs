//! Rate limits (the `governor` crate's keyed GCRA limiters): one budget per kind of traffic —
//! searches, events, carts — per credential (API key, or shopper under its key) and client
//! address, and one budget of failed authentications per client address. A request over its
//! budget is answered 429 `too_many_requests` with `Retry-After`, in the usual error body.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::HeaderValue;
use axum::http::header::RETRY_AFTER;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::error::{ApiError, ErrorCode};
use crate::config::RateLimitConfig;

/// Which budget a route spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Search, suggest, recommendations.
    Search,
    /// Shoppers' events.
    Events,
    /// Carts, checkout, orders.
    Carts,
}

impl Budget {
    /// Its name (in the OpenAPI document).
    pub fn as_str(self) -> &'static str {
        match self {
            Budget::Search => "search",
            Budget::Events => "events",
            Budget::Carts => "carts",
        }
    }
}

/// Pruning of idle keys runs once per this many checks, so memory stays bounded.
const PRUNE_EVERY: u64 = 10_000;

/// The server's rate limiters. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    inner: Arc<Limiters>,
}

#[derive(Debug, Default)]
struct Limiters {
    search: Option<DefaultKeyedRateLimiter<(String, IpAddr)>>,
    events: Option<DefaultKeyedRateLimiter<(String, IpAddr)>>,
    carts: Option<DefaultKeyedRateLimiter<(String, IpAddr)>>,
    failed_auth: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
}

/// A budget of `rate` per second with bursts of three times that; none for 0.
fn per_second(rate: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(rate)?;
    Some(Quota::per_second(rate).allow_burst(rate.saturating_mul(NonZeroU32::new(3).expect("3 is not 0"))))
}

impl RateLimits {
    /// Limiters for `config`.
    pub fn new(config: &RateLimitConfig) -> RateLimits {
        let keyed = |quota: Option<Quota>| quota.map(RateLimiter::keyed);
        RateLimits {
            inner: Arc::new(Limiters {
                search: keyed(per_second(config.search_per_second)),
                events: keyed(per_second(config.events_per_second)),
                carts: keyed(per_second(config.carts_per_second)),
                failed_auth: NonZeroU32::new(config.failed_auth_per_minute)
                    .map(|rate| RateLimiter::keyed(Quota::per_minute(rate))),
                checks: AtomicU64::new(0),
            }),
        }
    }

    /// Spends one request of `budget` for `principal` at `address`.
    ///
    /// # Errors
    /// `too_many_requests` when the budget is spent.
    pub fn spend(&self, budget: Budget, principal: &str, address: IpAddr) -> Result<(), Limited> {
        let limits = &self.inner;
        let limiter = match budget {
            Budget::Search => &limits.search,
            Budget::Events => &limits.events,
            Budget::Carts => &limits.carts,
        };
        let Some(limiter) = limiter else { return Ok(()) };
        self.prune_now_and_then();
        limiter.check_key(&(principal.to_owned(), address)).map_err(|not_until| Limited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            what: "requests",
        })
    }

    /// Counts a failed authentication from `address`.
    ///
    /// # Errors
    /// `too_many_requests` when the address has failed too often lately.
    pub fn failed_authentication(&self, address: IpAddr) -> Result<(), Limited> {
        let Some(limiter) = &self.inner.failed_auth else { return Ok(()) };
        self.prune_now_and_then();
        limiter.check_key(&address).map_err(|not_until| Limited {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            what: "failed authentications",
        })
    }

    fn prune_now_and_then(&self) {
        let limits = &self.inner;
        if limits.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            for limiter in [&limits.search, &limits.events, &limits.carts].into_iter().flatten() {
                limiter.retain_recent();
            }
            if let Some(limiter) = &limits.failed_auth {
                limiter.retain_recent();
            }
        }
    }
}

/// A request over its budget.
#[derive(Debug)]
pub struct Limited {
    retry_after: Duration,
    what: &'static str,
}

impl IntoResponse for Limited {
    fn into_response(self) -> Response {
        let seconds = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        let seconds = seconds.max(1);
        let message = format!("too many {} from this client; retry in {seconds} s", self.what);
        let mut response = ApiError::new(ErrorCode::TooManyRequests, message).into_response();
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        response
    }
}

/// The client's address: the connection's peer (`ConnectInfo`), or unspecified for a request
/// that did not come over a socket (in-process tests).
pub fn client_address(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(address)| address.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_budget_is_separate_per_principal_and_address() {
        let config = RateLimitConfig {
            search_per_second: 1,
            events_per_second: 0,
            carts_per_second: 1,
            failed_auth_per_minute: 2,
        };
        let limits = RateLimits::new(&config);
        let here = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let there = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        for _ in 0..3 {
            limits.spend(Budget::Search, "search", here).expect("a burst of 3");
        }
        assert!(limits.spend(Budget::Search, "search", here).is_err(), "the fourth in a second is refused");
        limits.spend(Budget::Search, "search", there).expect("another address has its own budget");
        limits.spend(Budget::Search, "k2", here).expect("another key has its own budget");
        limits.spend(Budget::Carts, "search", here).expect("carts have their own budget");
        for _ in 0..100 {
            limits.spend(Budget::Events, "search", here).expect("a budget of 0 is no limit");
        }
        limits.failed_authentication(here).expect("first failure");
        limits.failed_authentication(here).expect("second failure");
        assert!(limits.failed_authentication(here).is_err());
    }
}
