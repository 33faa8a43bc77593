//! Same-message grouping, shared by the CPU engine and the device engine's CPU share: the batch
//! equation Σᵢ e(rᵢ·pkᵢ, H(mᵢ)) = e(g, Σᵢ rᵢ·σᵢ) with the items of one message summed first,
//! Σ_g e(Σ_{i∈g} rᵢ·pkᵢ, H(m_g)), so each distinct message costs one hash-to-curve and one
//! Miller loop. Every item keeps its own scalar, so the equation and its soundness are unchanged.

use std::collections::HashMap;

/// Positions of the items of each distinct message, in order of first appearance. Messages
/// are final (AUG's carry the key), so under AUG only one key's repeats share a group.
pub(super) fn same_message_groups(msgs: &[&[u8]]) -> Vec<Vec<usize>> {
    let mut index: HashMap<&[u8], usize> = HashMap::with_capacity(msgs.len());
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, msg) in msgs.iter().enumerate() {
        let g = *index.entry(msg).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// Whether summing per message is worth its additions: when it at least halves the pairings.
pub(super) fn grouping_pays(groups: &[Vec<usize>], items: usize) -> bool {
    groups.len() * 2 <= items
}
