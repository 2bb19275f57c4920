//! Serving: one loaded model version answering the five kinds of recommendation.
//!
//! A [`Recommender`] is built from a [`ModelBundle`] at load: it indexes the ALS item vectors
//! (inner product, for "for you") and the content vectors (cosine, for "similar") in HNSW graphs,
//! and keeps the rest in memory. Every answer is **retrieved** (HNSW search with the caller's filter
//! applied during the walk, co-occurrence neighbours, popularity), **re-scored** by the hybrid
//! blend ([`HybridWeights`], the same formula [`hybrid_scores`] computes over the whole catalogue
//! for the offline evaluation) and **diversified** (at most a few items per category).
//!
//! | kind | built from | cold start |
//! | --- | --- | --- |
//! | `similar` | content and ALS item vectors of the product | content only; popular |
//! | `bought_together` | co-occurrence neighbours | then `similar` |
//! | `for_user` | the user's ALS vector + EASE and co-occurrence neighbours of their history | fold-in of `product_ids`; popular |
//! | `cart` | fold-in of the cart + EASE and co-occurrence neighbours of its items | popular |
//! | `trending` | trending score | popular |

use std::collections::{HashMap, HashSet};

use ndarray::{Array1, ArrayView1};
use serde::{Deserialize, Serialize};

use crate::ann::{Allow, AnnIndex, AnnParams, Metric};
use crate::bundle::{Manifest, ModelBundle};
use crate::diversify::diversify;
use crate::ease::SparseEase;
use crate::ials::IalsModel;
use crate::neighbours::ItemNeighbours;
use crate::popularity::Popularity;

/// Weights of the hybrid blend; each component is first scaled to a maximum of 1 over the items
/// scored, and the positive blended scores are then multiplied by the items' liveness
/// ([`Popularity::liveness`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HybridWeights {
    /// EASE: the user's (or cart's) items' sparse EASE weights, summed.
    pub ease: f32,
    /// Implicit ALS: `user vector · item vector`.
    pub ials: f32,
    /// Co-occurrence with the user's (or cart's) items.
    pub cooc: f32,
    /// Popularity (time-decayed).
    pub popularity: f32,
    /// Half-life, in days since an item's newest interaction, of its liveness factor (0 = off):
    /// items that stopped selling fade out.
    pub liveness_half_life_days: f64,
}

impl Default for HybridWeights {
    /// The blend of a model with EASE: EASE with a little ALS (tuned on Online Retail II, see
    /// `docs/evaluation.md`).
    fn default() -> Self {
        HybridWeights { ease: 1.0, ials: 0.1, cooc: 0.0, popularity: 0.0, liveness_half_life_days: 30.0 }
    }
}

impl HybridWeights {
    /// The blend of a model without EASE (no customer history to fit it on): ALS and co-occurrence.
    pub fn without_ease() -> HybridWeights {
        HybridWeights { ease: 0.0, ials: 1.0, cooc: 1.0, popularity: 0.05, liveness_half_life_days: 30.0 }
    }

    /// Deserialises a blend whose unset fields come from [`HybridWeights::without_ease`] (not
    /// from [`Default`]): `{"popularity": 0.1}` keeps ALS and co-occurrence at 1. For
    /// `#[serde(deserialize_with = …)]` on fields holding the blend without EASE.
    ///
    /// # Errors
    /// Anything but an object of known fields with numbers.
    pub fn deserialize_without_ease<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HybridWeights, D::Error> {
        use serde::de::Error;
        let given = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let mut whole = serde_json::to_value(HybridWeights::without_ease()).map_err(D::Error::custom)?;
        if let Some(object) = whole.as_object_mut() {
            object.extend(given);
        }
        serde_json::from_value(whole).map_err(D::Error::custom)
    }
}

/// The trained parts a hybrid score is made of.
#[derive(Debug, Clone, Copy)]
pub struct HybridParts<'a> {
    /// ALS and the user's vector, when ALS is trained.
    pub ials: Option<(&'a IalsModel, ArrayView1<'a, f32>)>,
    /// Sparse EASE, when fitted, and the profile it scores: `(item, recency)`.
    pub ease: Option<(&'a SparseEase, &'a [(u32, f32)])>,
    /// Co-occurrence neighbours.
    pub cooc: &'a ItemNeighbours,
    /// Popularity.
    pub popularity: &'a Popularity,
    /// Liveness factor of every item ([`Popularity::liveness`]).
    pub liveness: &'a [f32],
}

/// Serving parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeParams {
    /// HNSW parameters of both graphs.
    pub ann: AnnParams,
    /// The hybrid blend, for a model with EASE.
    pub hybrid: HybridWeights,
    /// The hybrid blend, for a model without EASE (unset fields from [`HybridWeights::without_ease`]).
    #[serde(deserialize_with = "HybridWeights::deserialize_without_ease")]
    pub hybrid_without_ease: HybridWeights,
    /// At most this many items per category in an answer (0 = no limit).
    pub max_per_category: usize,
    /// Candidates retrieved per source before re-scoring, as a multiple of `k`.
    pub candidates_per_k: usize,
}

impl Default for ServeParams {
    fn default() -> Self {
        ServeParams {
            ann: AnnParams::default(),
            hybrid: HybridWeights::default(),
            hybrid_without_ease: HybridWeights::without_ease(),
            max_per_category: 3,
            candidates_per_k: 5,
        }
    }
}

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Products like this one.
    Similar,
    /// For one shopper.
    ForUser,
    /// Frequently bought with this product.
    BoughtTogether,
    /// Selling faster lately.
    Trending,
    /// Goes with the products in a cart.
    Cart,
}

/// A recommendation request (ids as the shop knows them).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// What is asked.
    pub kind: Kind,
    /// The product, for `similar` and `bought_together`.
    pub product_id: Option<&'a str>,
    /// The shopper, for `for_user`.
    pub user_id: Option<&'a str>,
    /// The cart's products (`cart`) or a session's products (`for_user` of an unknown user).
    pub product_ids: &'a [String],
    /// How many.
    pub k: usize,
}

/// Why an item was recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Described alike.
    SimilarContent,
    /// Bought by the same shoppers.
    SimilarBehaviour,
    /// Often in the same basket.
    BoughtTogether,
    /// From the shopper's history.
    ForYou,
    /// Goes with the cart.
    GoesWithCart,
    /// Selling faster lately.
    Trending,
    /// Popular in the shop (the fallback).
    Popular,
}

impl Reason {
    /// The stable name (as serialised).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SimilarContent => "similar_content",
            Reason::SimilarBehaviour => "similar_behaviour",
            Reason::BoughtTogether => "bought_together",
            Reason::ForYou => "for_you",
            Reason::GoesWithCart => "goes_with_cart",
            Reason::Trending => "trending",
            Reason::Popular => "popular",
        }
    }
}

/// One recommended product.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Recommendation {
    /// Product id.
    pub id: String,
    /// Score (higher is better; comparable within one answer).
    pub score: f32,
    /// Why.
    pub reason: Reason,
}

/// A request that cannot be answered as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecommendError {
    /// The kind needs a field the request lacks.
    #[error("`{kind}` recommendations need `{field}`")]
    MissingField {
        /// The kind.
        kind: &'static str,
        /// The missing field.
        field: &'static str,
    },
}

/// One model version, ready to answer.
#[derive(Debug)]
pub struct Recommender {
    bundle: ModelBundle,
    params: ServeParams,
    item_ids: HashMap<String, u32>,
    user_ids: HashMap<String, u32>,
    /// Category number of each item (for diversification).
    groups: Vec<Option<u32>>,
    /// ALS item vectors, inner product.
    behaviour: Option<AnnIndex>,
    /// ALS item vectors, cosine (item-to-item).
    behaviour_items: Option<AnnIndex>,
    /// Content vectors, cosine.
    content: Option<AnnIndex>,
    /// The blend used (with or without EASE, as the bundle has it).
    hybrid: HybridWeights,
    /// Liveness of every item under `hybrid`'s half-life.
    liveness: Vec<f32>,
    /// Items with a popularity score, best first (sorted once, not per request).
    by_popularity: Vec<u32>,
    /// Items with a trending score, best first.
    by_trend: Vec<u32>,
}

impl Recommender {
    /// Loads `bundle`: builds its HNSW graphs (seconds for tens of thousands of items).
    pub fn new(bundle: ModelBundle, params: ServeParams) -> Recommender {
        let item_ids = bundle.items.iter().enumerate().map(|(dense, id)| (id.clone(), dense as u32)).collect();
        let user_ids = bundle.users.iter().enumerate().map(|(dense, id)| (id.clone(), dense as u32)).collect();
        let mut group_numbers: HashMap<&str, u32> = HashMap::new();
        let groups = bundle
            .item_groups
            .iter()
            .map(|group| {
                group.as_deref().map(|name| {
                    let next = group_numbers.len() as u32;
                    *group_numbers.entry(name).or_insert(next)
                })
            })
            .collect();
        let usable = |rows: usize, cols: usize| rows > 0 && cols > 0;
        let behaviour = bundle
            .ials
            .as_ref()
            .filter(|ials| usable(ials.n_items(), ials.factors()))
            .map(|ials| AnnIndex::build(ials.item_factors(), Metric::InnerProduct, &params.ann));
        let behaviour_items = bundle
            .ials
            .as_ref()
            .filter(|ials| usable(ials.n_items(), ials.factors()))
            .map(|ials| AnnIndex::build(ials.item_factors(), Metric::Cosine, &params.ann));
        let content = bundle
            .content
            .as_ref()
            .filter(|content| usable(content.nrows(), content.ncols()))
            .map(|content| AnnIndex::build(content.view(), Metric::Cosine, &params.ann));
        let hybrid = if bundle.ease.is_some() { params.hybrid.clone() } else { params.hybrid_without_ease.clone() };
        let liveness = bundle.popularity.liveness(hybrid.liveness_half_life_days);
        let by_popularity = best_first(bundle.popularity.popular());
        let by_trend = best_first(bundle.popularity.trending());
        Recommender {
            bundle,
            params,
            item_ids,
            user_ids,
            groups,
            behaviour,
            behaviour_items,
            content,
            hybrid,
            liveness,
            by_popularity,
            by_trend,
        }
    }

    /// The version's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.bundle.manifest
    }

    /// The model version's id.
    pub fn model_id(&self) -> &str {
        &self.bundle.manifest.model_id
    }

    /// The loaded bundle.
    pub fn bundle(&self) -> &ModelBundle {
        &self.bundle
    }

    /// The taste vector of a user: trained, or folded in from `product_ids` when the user is
    /// unknown. `None` without ALS or without anything to go on.
    pub fn user_vector(&self, user_id: Option<&str>, product_ids: &[String]) -> Option<Array1<f32>> {
        let ials = self.bundle.ials.as_ref()?;
        if let Some(&user) = user_id.and_then(|id| self.user_ids.get(id)) {
            return Some(ials.user_factors().row(user as usize).to_owned());
        }
        let history = self.items_of(product_ids);
        if history.is_empty() {
            return None;
        }
        Some(ials.fold_in(&history))
    }

    /// `user_vector · item vector` of a product (personalised search), `None` for an unknown
    /// product or without ALS.
    pub fn affinity(&self, user_vector: ArrayView1<f32>, product_id: &str) -> Option<f32> {
        let ials = self.bundle.ials.as_ref()?;
        let item = *self.item_ids.get(product_id)?;
        Some(user_vector.dot(&ials.item_factors().row(item as usize)))
    }

    /// The HNSW-backed indexes the model serves from, named: ALS item vectors by inner product
    /// (`for_user`, `cart`), ALS item vectors by cosine and content vectors by cosine (`similar`).
    pub fn ann_indexes(&self) -> Vec<(&'static str, &AnnIndex)> {
        [
            ("behaviour_inner_product", &self.behaviour),
            ("behaviour_cosine", &self.behaviour_items),
            ("content_cosine", &self.content),
        ]
        .into_iter()
        .filter_map(|(name, index)| index.as_ref().map(|index| (name, index)))
        .collect()
    }

    /// The number of product `id` among the model's items (what `allow` is asked about), `None`
    /// for a product the model does not know.
    pub fn item_number(&self, id: &str) -> Option<u32> {
        self.item_ids.get(id).copied()
    }

    /// How many items the model knows (numbered `0..n_items`).
    pub fn n_items(&self) -> usize {
        self.bundle.items.len()
    }

    /// Answers `request`; only items `allow` accepts (by [`item_number`](Self::item_number): in
    /// stock, in a category, …) are returned.
    ///
    /// # Errors
    /// A kind without the field it needs (`similar` and `bought_together` without `product_id`,
    /// `cart` without `product_ids`). Unknown products and users are not errors: they get
    /// popular items.
    pub fn recommend(&self, request: &Request<'_>, allow: &Allow<'_>) -> Result<Vec<Recommendation>, RecommendError> {
        let k = request.k.max(1);
        let answer = match request.kind {
            Kind::Similar => {
                let product =
                    request.product_id.ok_or(RecommendError::MissingField { kind: "similar", field: "product_id" })?;
                self.similar(product, k, allow)
            }
            Kind::BoughtTogether => {
                let product = request
                    .product_id
                    .ok_or(RecommendError::MissingField { kind: "bought_together", field: "product_id" })?;
                self.bought_together(product, k, allow)
            }
            Kind::ForUser => self.for_user(request.user_id, request.product_ids, k, allow, Reason::ForYou),
            Kind::Cart => {
                if request.product_ids.is_empty() {
                    return Err(RecommendError::MissingField { kind: "cart", field: "product_ids" });
                }
                self.for_user(None, request.product_ids, k, allow, Reason::GoesWithCart)
            }
            Kind::Trending => {
                let ranking = (self.by_trend.as_slice(), self.bundle.popularity.trending());
                self.ranked_by(ranking, k, allow, &HashSet::new(), Reason::Trending)
            }
        };
        Ok(answer)
    }

    fn items_of(&self, product_ids: &[String]) -> Vec<(u32, f32)> {
        product_ids.iter().filter_map(|id| self.item_ids.get(id.as_str())).map(|&item| (item, 1.0)).collect()
    }

    fn allow_dense<'a>(&'a self, allow: &'a Allow<'a>, excluded: &'a HashSet<u32>) -> impl Fn(u32) -> bool + Sync + 'a {
        move |item| !excluded.contains(&item) && allow(item)
    }

    fn finish(&self, mut scored: Vec<(u32, f32)>, k: usize, reason: Reason) -> Vec<Recommendation> {
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let kept = if self.params.max_per_category == 0 {
            scored.truncate(k);
            scored
        } else {
            diversify(&scored, |item| self.groups[item as usize], self.params.max_per_category, k)
        };
        kept.into_iter()
            .map(|(item, score)| Recommendation { id: self.bundle.items[item as usize].clone(), score, reason })
            .collect()
    }

    /// The `k` best items of `order` (items best first by `scores`) that pass the filter
    /// (popular, trending, fallbacks).
    fn ranked_by(
        &self,
        (order, scores): (&[u32], &[f32]),
        k: usize,
        allow: &Allow<'_>,
        excluded: &HashSet<u32>,
        reason: Reason,
    ) -> Vec<Recommendation> {
        let allowed = self.allow_dense(allow, excluded);
        let wanted = k * self.params.candidates_per_k.max(1);
        let candidates: Vec<(u32, f32)> = order
            .iter()
            .copied()
            .filter(|&item| allowed(item))
            .take(wanted)
            .map(|item| (item, scores[item as usize]))
            .collect();
        self.finish(candidates, k, reason)
    }

    fn popular(&self, k: usize, allow: &Allow<'_>, excluded: &HashSet<u32>) -> Vec<Recommendation> {
        let ranking = (self.by_popularity.as_slice(), self.bundle.popularity.popular());
        self.ranked_by(ranking, k, allow, excluded, Reason::Popular)
    }

    fn similar(&self, product_id: &str, k: usize, allow: &Allow<'_>) -> Vec<Recommendation> {
        let Some(&item) = self.item_ids.get(product_id) else {
            return self.popular(k, allow, &HashSet::new());
        };
        let excluded = HashSet::from([item]);
        let allowed = self.allow_dense(allow, &excluded);
        let wanted = k * self.params.candidates_per_k.max(1);
        let mut scores: HashMap<u32, (f32, Reason)> = HashMap::new();
        // Behaviour first when the item has a trained vector; content fills and ranks cold items.
        if let (Some(index), Some(ials)) = (&self.behaviour_items, &self.bundle.ials) {
            let factors = ials.item_factors();
            let vector = factors.row(item as usize);
            if vector.iter().any(|value| *value != 0.0) {
                for (neighbour, similarity) in index.search(vector, wanted, &allowed) {
                    scores.insert(neighbour, (similarity, Reason::SimilarBehaviour));
                }
            }
        }
        if let (Some(index), Some(content)) = (&self.content, &self.bundle.content) {
            let vector = content.row(item as usize);
            if vector.iter().any(|value| *value != 0.0) {
                for (neighbour, similarity) in index.search(vector, wanted, &allowed) {
                    let entry = scores.entry(neighbour).or_insert((0.0, Reason::SimilarContent));
                    // Both agree: the sum; otherwise the one that knows.
                    entry.0 += similarity;
                }
            }
        }
        if scores.is_empty() {
            return self.popular(k, allow, &excluded);
        }
        let mut scored: Vec<(u32, f32)> = scores.iter().map(|(&item, &(score, _))| (item, score)).collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let reasons: HashMap<u32, Reason> = scores.into_iter().map(|(item, (_, reason))| (item, reason)).collect();
        let mut answer = self.finish(scored, k, Reason::SimilarContent);
        for recommendation in &mut answer {
            if let Some(&reason) = self.item_ids.get(&recommendation.id).and_then(|item| reasons.get(item)) {
                recommendation.reason = reason;
            }
        }
        answer
    }

    fn bought_together(&self, product_id: &str, k: usize, allow: &Allow<'_>) -> Vec<Recommendation> {
        let Some(&item) = self.item_ids.get(product_id) else {
            return self.popular(k, allow, &HashSet::new());
        };
        let excluded = HashSet::from([item]);
        let allowed = self.allow_dense(allow, &excluded);
        let scored: Vec<(u32, f32)> =
            self.bundle.cooc.neighbours(item).iter().copied().filter(|&(neighbour, _)| allowed(neighbour)).collect();
        let mut answer = self.finish(scored, k, Reason::BoughtTogether);
        if answer.len() < k {
            let known: HashSet<String> = answer.iter().map(|recommendation| recommendation.id.clone()).collect();
            let more = self.similar(product_id, k, allow);
            answer.extend(more.into_iter().filter(|recommendation| !known.contains(&recommendation.id)));
            answer.truncate(k);
        }
        answer
    }

    fn for_user(
        &self,
        user_id: Option<&str>,
        product_ids: &[String],
        k: usize,
        allow: &Allow<'_>,
        reason: Reason,
    ) -> Vec<Recommendation> {
        let known_user = user_id.and_then(|id| self.user_ids.get(id)).copied();
        let mut history: Vec<(u32, f32)> = self.items_of(product_ids);
        if let Some(user) = known_user {
            let (items, weights) = self.bundle.history.row(user as usize);
            history.extend(items.iter().copied().zip(weights.iter().copied()));
        }
        if history.is_empty() {
            return self.popular(k, allow, &HashSet::new());
        }
        // Already bought or in the cart: not recommended again.
        let excluded: HashSet<u32> = history.iter().map(|&(item, _)| item).collect();
        let allowed = self.allow_dense(allow, &excluded);
        let wanted = k * self.params.candidates_per_k.max(1);

        let user_vector = match (known_user, &self.bundle.ials) {
            (Some(user), Some(ials)) if product_ids.is_empty() => {
                Some(ials.user_factors().row(user as usize).to_owned())
            }
            (_, Some(ials)) => Some(ials.fold_in(&history)),
            (_, None) => None,
        };
        let mut candidates: HashSet<u32> = HashSet::new();
        if let (Some(index), Some(vector)) = (&self.behaviour, &user_vector) {
            candidates.extend(index.search(vector.view(), wanted, &allowed).into_iter().map(|(item, _)| item));
        }
        for &(item, _) in &history {
            candidates.extend(
                self.bundle.cooc.neighbours(item).iter().map(|&(neighbour, _)| neighbour).filter(|&n| allowed(n)),
            );
            if let Some(ease) = &self.bundle.ease {
                candidates.extend(
                    ease.weights
                        .neighbours(item)
                        .iter()
                        .filter(|&&(neighbour, weight)| weight > 0.0 && allowed(neighbour))
                        .map(|&(neighbour, _)| neighbour),
                );
            }
        }
        if candidates.is_empty() {
            return self.popular(k, allow, &excluded);
        }
        let candidates: Vec<u32> = candidates.into_iter().collect();
        // EASE scores a profile of recencies: the user's trained one, the session's items as of now.
        let mut ease_profile: Vec<(u32, f32)> = self.items_of(product_ids);
        if let (Some(user), Some(ease)) = (known_user, &self.bundle.ease) {
            let (items, recencies) = ease.recency.row(user as usize);
            ease_profile.extend(items.iter().copied().zip(recencies.iter().copied()));
        }
        let parts = HybridParts {
            ials: self.bundle.ials.as_ref().zip(user_vector.as_ref().map(Array1::view)),
            ease: self.bundle.ease.as_ref().map(|ease| (ease, ease_profile.as_slice())),
            cooc: &self.bundle.cooc,
            popularity: &self.bundle.popularity,
            liveness: &self.liveness,
        };
        let scores = blend(&candidates, &parts, &history, &self.hybrid);
        self.finish(candidates.into_iter().zip(scores).collect(), k, reason)
    }
}

/// The items with a positive score, best first (ties: lower item first).
fn best_first(scores: &[f32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..scores.len() as u32).filter(|&item| scores[item as usize] > 0.0).collect();
    order.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
    order
}

/// The hybrid score of `candidates` (see [`hybrid_scores`]); components scaled by their maximum
/// over the candidates.
fn blend(candidates: &[u32], parts: &HybridParts<'_>, history: &[(u32, f32)], weights: &HybridWeights) -> Vec<f32> {
    let n_items = parts.popularity.popular().len();
    let item_model = |model: Option<(&ItemNeighbours, &[(u32, f32)])>, weight: f32| -> Vec<f32> {
        match model {
            Some((model, history)) if weight != 0.0 => model.score_candidates(history, candidates, n_items),
            _ => vec![0.0; candidates.len()],
        }
    };
    let ease = item_model(parts.ease.map(|(ease, profile)| (&ease.weights, profile)), weights.ease);
    let co = item_model(Some((parts.cooc, history)), weights.cooc);
    let als: Vec<f32> = match parts.ials {
        Some((model, vector)) if weights.ials != 0.0 => {
            let factors = model.item_factors();
            candidates.iter().map(|&item| vector.dot(&factors.row(item as usize))).collect()
        }
        _ => vec![0.0; candidates.len()],
    };
    let pop: Vec<f32> = candidates.iter().map(|&item| parts.popularity.popular()[item as usize]).collect();
    let mut scores =
        combine(&[(&ease, weights.ease), (&als, weights.ials), (&co, weights.cooc), (&pop, weights.popularity)]);
    for (score, &item) in scores.iter_mut().zip(candidates) {
        if *score > 0.0 {
            *score *= parts.liveness.get(item as usize).copied().unwrap_or(1.0);
        }
    }
    scores
}

/// `Σ weight × component / max(component)` element-wise (a component whose maximum is not
/// positive adds nothing).
fn combine(components: &[(&[f32], f32)]) -> Vec<f32> {
    let len = components.first().map_or(0, |(values, _)| values.len());
    let mut out = vec![0.0; len];
    for &(values, weight) in components {
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if weight == 0.0 || max.is_nan() || max <= 0.0 {
            continue;
        }
        let scale = weight / max;
        for (slot, value) in out.iter_mut().zip(values) {
            *slot += scale * value;
        }
    }
    out
}

/// The hybrid score of every item for a user with this `history`: the formula serving re-scores
/// its candidates with, over the whole catalogue (the offline evaluation ranks with it).
pub fn hybrid_scores(parts: &HybridParts<'_>, history: &[(u32, f32)], weights: &HybridWeights, out: &mut [f32]) {
    let all: Vec<u32> = (0..out.len() as u32).collect();
    let scores = blend(&all, parts, history, weights);
    out.copy_from_slice(&scores);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_blend_without_ease_keeps_its_own_defaults() {
        let params: ServeParams =
            serde_json::from_str(r#"{"hybrid_without_ease": {"popularity": 0.2}}"#).expect("valid");
        assert_eq!(params.hybrid_without_ease, HybridWeights { popularity: 0.2, ..HybridWeights::without_ease() });
        assert_eq!(params.hybrid, HybridWeights::default());
        let untouched: ServeParams = serde_json::from_str("{}").expect("valid");
        assert_eq!(untouched.hybrid_without_ease, HybridWeights::without_ease());
        assert!(serde_json::from_str::<ServeParams>(r#"{"hybrid_without_ease": {"nope": 1}}"#).is_err());
    }
}
