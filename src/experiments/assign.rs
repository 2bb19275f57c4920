//! Who sees which variant: a sticky, deterministic assignment from a hash of the experiment's id
//! and the shopper's identity, so that a shopper keeps their variant across requests, servers
//! and restarts without anything stored, and different experiments split shoppers independently.

use sha2::{Digest, Sha256};

/// Who a request is for, in the order they are trusted: the shopper token's subject, else the
/// request's `session_id`, else a `user_id` that a server-side key named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity(String);

impl Identity {
    /// The identity of a request: `user` is the shopper the request acts for (the token's, or a
    /// key's `user_id`), `from_token` says whether a shopper token named them.
    pub fn of(user: Option<&str>, from_token: bool, session_id: Option<&str>) -> Option<Identity> {
        let user = user.map(str::trim).filter(|user| !user.is_empty());
        let session = session_id.map(str::trim).filter(|session| !session.is_empty());
        match (user, from_token, session) {
            (Some(user), true, _) => Some(Identity(format!("user:{user}"))),
            (_, _, Some(session)) => Some(Identity(format!("session:{session}"))),
            (Some(user), false, None) => Some(Identity(format!("user:{user}"))),
            (None, _, None) => None,
        }
    }

    /// As stored: `user:ID` or `session:ID`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A number in [0, 1) from the SHA-256 of the parts (each length-prefixed, so no two lists of
/// parts collide by concatenation).
fn unit_hash(parts: &[&str]) -> f64 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The top 53 bits: every value exactly representable, uniform on [0, 1).
    (u64::from_le_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// The variant (its position) `identity` sees in `experiment`: the shares are the `weights`
/// normalised, and the point of the identity's hash falls in exactly one of them.
pub fn assign(experiment: &str, identity: &Identity, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let point = unit_hash(&["assign", experiment, identity.as_str()]) * total;
    let mut edge = 0.0;
    for (position, weight) in weights.iter().enumerate() {
        edge += weight;
        if point < edge {
            return position;
        }
    }
    weights.len().saturating_sub(1)
}

/// The seed of an interleaved list: the same for one shopper's pages of one query, so that
/// paging through it shows one merged ranking.
pub fn interleaving_seed(experiment: &str, identity: &Identity, query: &str) -> u64 {
    (unit_hash(&["interleave", experiment, identity.as_str(), query]) * (1u64 << 53) as f64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_wins_then_the_session_then_a_keys_user() {
        let id = |user, token, session| Identity::of(user, token, session).map(|id| id.0);
        assert_eq!(id(Some("u1"), true, Some("s1")).as_deref(), Some("user:u1"));
        assert_eq!(id(Some("u1"), false, Some("s1")).as_deref(), Some("session:s1"));
        assert_eq!(id(Some("u1"), false, None).as_deref(), Some("user:u1"));
        assert_eq!(id(None, false, Some(" ")), None);
        assert_eq!(id(None, false, None), None);
    }

    #[test]
    fn assignment_is_sticky_and_follows_the_weights() {
        let weights = [1.0, 3.0];
        let mut counts = [0usize; 2];
        for shopper in 0..20_000 {
            let identity = Identity(format!("session:{shopper}"));
            let variant = assign("exp-1", &identity, &weights);
            assert_eq!(variant, assign("exp-1", &identity, &weights), "sticky");
            counts[variant] += 1;
        }
        // 25 % ± 4 standard deviations (σ ≈ 0.31 %).
        let share = counts[0] as f64 / 20_000.0;
        assert!((share - 0.25).abs() < 0.0125, "{counts:?}");
    }

    #[test]
    fn experiments_split_shoppers_independently() {
        // A shopper's variant in one experiment says nothing of their variant in another.
        let mut both_first = 0;
        for shopper in 0..10_000 {
            let identity = Identity(format!("user:{shopper}"));
            if assign("exp-a", &identity, &[1.0, 1.0]) == 0 && assign("exp-b", &identity, &[1.0, 1.0]) == 0 {
                both_first += 1;
            }
        }
        assert!((2_300..=2_700).contains(&both_first), "{both_first} of 10,000 (expected 2,500)");
        let identity = Identity("user:1".into());
        assert_eq!(interleaving_seed("e", &identity, "mug"), interleaving_seed("e", &identity, "mug"));
        assert_ne!(interleaving_seed("e", &identity, "mug"), interleaving_seed("e", &identity, "cup"));
    }
}
