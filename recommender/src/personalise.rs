//! Personalised re-ranking of a page of search hits: the shopper's affinity with each hit (ALS
//! `user · item`) blended with the hit's place in the shop's own ranking. The search engine knows
//! nothing of models; it hands its page over, and pinned hits (merchandising) keep their places.

use crate::serve::Recommender;

impl Recommender {
    /// Re-ranks `hits` (one page, best first) for `user_id`: each unpinned hit gets
    /// `1 − position / n + weight × affinity / max affinity` (affinity below 0 counts as 0) and
    /// the unpinned hits are reordered by it, ties kept in their order; pinned hits keep their
    /// slots. Nothing changes for a shopper the model cannot place, or when no hit has a
    /// positive affinity.
    pub fn personalise<T>(
        &self,
        hits: &mut Vec<T>,
        user_id: &str,
        weight: f32,
        id: impl Fn(&T) -> &str,
        pinned: impl Fn(&T) -> bool,
    ) {
        let Some(user_vector) = self.user_vector(Some(user_id), &[]) else { return };
        let free: Vec<usize> = (0..hits.len()).filter(|&position| !pinned(&hits[position])).collect();
        let affinities: Vec<f32> = free
            .iter()
            .map(|&position| self.affinity(user_vector.view(), id(&hits[position])).unwrap_or(0.0))
            .collect();
        let max = affinities.iter().copied().fold(0.0_f32, f32::max);
        if max <= 0.0 {
            return;
        }
        let n = free.len() as f32;
        let mut order: Vec<(f32, usize)> = free
            .iter()
            .zip(&affinities)
            .enumerate()
            .map(|(rank, (&position, &affinity))| (1.0 - rank as f32 / n + weight * affinity.max(0.0) / max, position))
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut taken: Vec<Option<T>> = std::mem::take(hits).into_iter().map(Some).collect();
        let reordered: Vec<T> = order.iter().filter_map(|&(_, position)| taken[position].take()).collect();
        let mut reordered = reordered.into_iter();
        for slot in &mut taken {
            // Pinned hits are still in their slots; free slots take the re-ranked hits in order.
            hits.push(match slot.take() {
                Some(pinned) => pinned,
                None => match reordered.next() {
                    Some(hit) => hit,
                    None => continue,
                },
            });
        }
    }
}
