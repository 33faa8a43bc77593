//! Linear-scan register allocation over a scheduled segment.
//!
//! A value defined in instruction d and last read in instruction u holds its register for
//! d..=u; a value defined in instruction u may reuse it, because reads happen at issue and
//! writes land later. Every unit writes only its own bank of the register file (one write
//! port per bank), so each value is allocated in its producer's bank; the window's register
//! number is the bank's base plus the index in the bank. State values are pinned to the first
//! registers of bank 0.

use super::BANKS;

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
    /// The bank of the unit that writes it.
    pub bank: usize,
}

/// Window register number of index `index` in bank `bank`.
pub fn register(bank_regs: &[usize; BANKS], bank: usize, index: usize) -> usize {
    bank_regs[..bank].iter().sum::<usize>() + index
}

/// Returns the register of every node (indexed by node) and the registers used in each bank.
pub fn allocate(
    lifetimes: &[Lifetime],
    nodes: usize,
    state_slots: usize,
    bank_regs: &[usize; BANKS],
) -> (Vec<Option<usize>>, [usize; BANKS]) {
    let mut reg_of = vec![None; nodes];
    let mut order: Vec<&Lifetime> = lifetimes.iter().collect();
    order.sort_by_key(|l| (l.def, l.value));
    // busy_until[bank][i]: index i is free for values defined at or after that instruction.
    let mut busy_until: [Vec<usize>; BANKS] = Default::default();
    let mut used = [0; BANKS];
    used[0] = state_slots;
    for l in order {
        let index = match l.pinned {
            Some(slot) => slot as usize,
            None => {
                let first = if l.bank == 0 { state_slots } else { 0 };
                let busy = &mut busy_until[l.bank];
                let i = busy
                    .iter()
                    .position(|&until| until <= l.def)
                    .unwrap_or_else(|| {
                        busy.push(0);
                        busy.len() - 1
                    });
                busy[i] = l.last_use;
                first + i
            }
        };
        used[l.bank] = used[l.bank].max(index + 1);
        reg_of[l.value] = Some(register(bank_regs, l.bank, index));
    }
    (reg_of, used)
}
