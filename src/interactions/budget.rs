//! What one shopper, and one client address, may add to an index's interaction log per hour.
//!
//! Every interaction row an event would add is checked against keyed GCRA rate limiters
//! (`governor`): a budget of `N` that refills at `N` per hour, so a burst of `N` passes and then
//! one more every `60 / N` minutes. Two keys are charged for each row:
//!
//! - **the shopper**: the event's `user_id`, else its `session_id` — in total
//!   ([`EventCaps::per_shopper`]) and per product ([`EventCaps::per_shopper_product`]);
//! - **the client address** the request came from, when the server knows it (axum's
//!   `ConnectInfo`) — in total ([`EventCaps::per_client`]) and per product
//!   ([`EventCaps::per_client_product`]). A client that invents a new session id for every event
//!   is a new shopper every time; its address is not. Without a known address (a router driven
//!   without a socket), only the shopper budgets apply: one shared bucket would let one client
//!   spend every shopper's budget.
//!
//! Budgets are per index. A row over any budget is not written to the log (the caller counts it
//! as capped); budgets a row did not pass are not charged for it. A cap of 0 turns that budget off.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};
use vitrine_models::{Actor, IndexName, Interaction};

/// Per-hour caps on the interaction-log rows one shopper or one client address may add to an
/// index (0: no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCaps {
    /// Rows of one shopper (user id, else session id), all products together.
    pub per_shopper: u32,
    /// Rows of one shopper about one product.
    pub per_shopper_product: u32,
    /// Rows from one client address, all shoppers and products together.
    pub per_client: u32,
    /// Rows from one client address about one product.
    pub per_client_product: u32,
}

impl Default for EventCaps {
    /// A busy shopper views a few hundred pages an hour, and rarely touches one product more than
    /// a few times; a shared address (an office, a mobile carrier's NAT) carries many shoppers.
    fn default() -> Self {
        EventCaps { per_shopper: 600, per_shopper_product: 20, per_client: 6_000, per_client_product: 200 }
    }
}

/// One keyed budget: `None` when its cap is 0.
type Budget<K> = Option<DefaultKeyedRateLimiter<K>>;

fn budget<K: Clone + std::hash::Hash + Eq>(per_hour: u32) -> Budget<K> {
    NonZeroU32::new(per_hour).map(|per_hour| DefaultKeyedRateLimiter::keyed(Quota::per_hour(per_hour)))
}

/// The budgets of a server, every index's.
#[derive(Debug)]
pub struct EventBudgets {
    per_shopper: Budget<(IndexName, String)>,
    per_shopper_product: Budget<(IndexName, String, String)>,
    per_client: Budget<(IndexName, IpAddr)>,
    per_client_product: Budget<(IndexName, IpAddr, String)>,
}

impl EventBudgets {
    /// Budgets with these caps.
    pub fn new(caps: EventCaps) -> Self {
        EventBudgets {
            per_shopper: budget(caps.per_shopper),
            per_shopper_product: budget(caps.per_shopper_product),
            per_client: budget(caps.per_client),
            per_client_product: budget(caps.per_client_product),
        }
    }

    /// Whether `interaction`, sent from `client` (when known) to `index`, may enter the
    /// interaction log; charges the budgets it passes.
    pub fn admit(&self, index: &IndexName, client: Option<IpAddr>, interaction: &Interaction) -> bool {
        let shopper = match &interaction.actor {
            Actor::User(user) => format!("user:{}", user.as_str()),
            Actor::Session(session) => format!("session:{}", session.as_str()),
        };
        let product = interaction.product_id.as_str();
        charge(&self.per_shopper_product, &(index.clone(), shopper.clone(), product.to_owned()))
            && charge(&self.per_shopper, &(index.clone(), shopper))
            && client.is_none_or(|client| {
                charge(&self.per_client_product, &(index.clone(), client, product.to_owned()))
                    && charge(&self.per_client, &(index.clone(), client))
            })
    }

    /// Forgets the shoppers and clients whose budgets are full again (they are as if never
    /// seen), so that memory follows the recently active ones.
    pub fn forget_idle(&self) {
        fn tidy<K: Clone + std::hash::Hash + Eq>(budget: &Budget<K>) {
            if let Some(limiter) = budget {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
        tidy(&self.per_shopper);
        tidy(&self.per_shopper_product);
        tidy(&self.per_client);
        tidy(&self.per_client_product);
    }

    /// How many shoppers and clients the budgets remember.
    pub fn remembered(&self) -> usize {
        self.per_shopper.as_ref().map_or(0, |limiter| limiter.len())
            + self.per_client.as_ref().map_or(0, |limiter| limiter.len())
    }
}

/// Charges one unit to `key`'s budget; true when it had one left (or there is no budget).
fn charge<K: Clone + std::hash::Hash + Eq>(budget: &Budget<K>, key: &K) -> bool {
    budget.as_ref().is_none_or(|limiter| limiter.check_key(key).is_ok())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use vitrine_models::{InteractionKind, ProductId, SessionId, UserId};

    use super::*;

    fn purchase(actor: Actor, product: &str) -> Interaction {
        Interaction::new(actor, ProductId::new(product).expect("product"), InteractionKind::Purchase, 1, Utc::now())
            .expect("valid")
    }

    fn user(id: &str) -> Actor {
        Actor::User(UserId::new(id).expect("user"))
    }

    #[test]
    fn a_shopper_gets_their_budget_per_product_and_in_total_per_index() {
        let caps = EventCaps { per_shopper: 30, per_shopper_product: 20, per_client: 0, per_client_product: 0 };
        let budgets = EventBudgets::new(caps);
        let shop = IndexName::new("shop").expect("index");
        let other = IndexName::new("other").expect("index");
        let admitted = |index: &IndexName, actor: Actor, product: &str, times: usize| {
            (0..times).filter(|_| budgets.admit(index, None, &purchase(actor.clone(), product))).count()
        };
        assert_eq!(admitted(&shop, user("alice"), "mug", 1_000), 20, "per product");
        assert_eq!(admitted(&shop, user("alice"), "lamp", 1_000), 10, "in total: 30 - 20");
        assert_eq!(admitted(&shop, user("bob"), "mug", 1_000), 20, "another shopper has their own");
        assert_eq!(admitted(&other, user("alice"), "mug", 1_000), 20, "another index has its own");
        let session = Actor::Session(SessionId::new("alice").expect("session"));
        assert_eq!(admitted(&shop, session, "mug", 5), 5, "a session is not the user of the same name");
        assert_eq!(budgets.remembered(), 4);
    }

    #[test]
    fn a_client_inventing_sessions_is_held_to_the_client_budget() {
        let caps = EventCaps { per_shopper: 600, per_shopper_product: 20, per_client: 100, per_client_product: 50 };
        let budgets = EventBudgets::new(caps);
        let shop = IndexName::new("shop").expect("index");
        let attacker: IpAddr = [203, 0, 113, 7].into();
        let fresh_sessions = |client: Option<IpAddr>, product: &str| {
            (0..1_000)
                .filter(|n| {
                    let session = Actor::Session(SessionId::new(format!("s-{product}-{n}")).expect("session"));
                    budgets.admit(&shop, client, &purchase(session, product))
                })
                .count()
        };
        assert_eq!(fresh_sessions(Some(attacker), "mug"), 50, "per product from one address");
        assert_eq!(fresh_sessions(Some(attacker), "lamp"), 50, "then the address's total");
        assert_eq!(fresh_sessions(Some(attacker), "card"), 0);
        assert_eq!(fresh_sessions(Some([198, 51, 100, 1].into()), "card"), 50, "other addresses are not affected");
        assert_eq!(fresh_sessions(None, "card"), 1_000, "an unknown address has no client budget");
        budgets.forget_idle();
        assert!(budgets.remembered() > 0, "budgets in use are kept");
    }

    #[test]
    fn a_cap_of_zero_turns_the_budget_off() {
        let budgets = EventBudgets::new(EventCaps {
            per_shopper: 0,
            per_shopper_product: 0,
            per_client: 0,
            per_client_product: 0,
        });
        let shop = IndexName::new("shop").expect("index");
        let admitted = (0..1_000).filter(|_| budgets.admit(&shop, None, &purchase(user("alice"), "mug"))).count();
        assert_eq!(admitted, 1_000);
    }
}
