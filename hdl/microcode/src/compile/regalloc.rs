//! Linear-scan register allocation over a scheduled segment.
//!
//! A value defined in instruction d and last read in instruction u holds its register for
//! d..=u; a value defined in instruction u may reuse it, because reads happen at issue and
//! writes land later. State values are pinned to registers 0..state_slots.

/// One value's register needs.
#[derive(Clone, Copy, Debug)]
pub struct Lifetime {
    /// The graph node.
    pub value: usize,
    /// Instruction that writes it.
    pub def: usize,
    /// Last instruction that reads it.
    pub last_use: usize,
    /// State slot it lives in, if any.
    pub pinned: Option<u8>,
}

/// Returns the register of every node (indexed by node) and the window size used.
pub fn allocate(lifetimes: &[Lifetime], nodes: usize, state_slots: usize) -> (Vec<Option<usize>>, usize) {
    let mut reg_of = vec![None; nodes];
    let mut order: Vec<&Lifetime> = lifetimes.iter().collect();
    order.sort_by_key(|l| (l.def, l.value));
    let mut busy_until: Vec<usize> = Vec::new(); // register state_slots + i is free for defs ≥ value
    let mut used = state_slots;
    for l in order {
        let reg = match l.pinned {
            Some(slot) => slot as usize,
            None => {
                let free = busy_until.iter().position(|&until| until <= l.def);
                let i = free.unwrap_or_else(|| {
                    busy_until.push(0);
                    busy_until.len() - 1
                });
                busy_until[i] = l.last_use;
                state_slots + i
            }
        };
        used = used.max(reg + 1);
        reg_of[l.value] = Some(reg);
    }
    (reg_of, used)
}
