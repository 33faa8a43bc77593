//! List scheduling of a segment's operations into instructions.
//!
//! Lanes are interleaved K ≥ latency deep, so a result is always back in the register file
//! before the same lane's next instruction: a data dependence costs exactly one instruction.
//! The resources per instruction are one multiply, `alu_slots` add/sub/select and one stream
//! operation. Priority is the longest path to the end (critical path first, with a
//! configurable preference for program order); only operations
//! within `window` positions of the oldest unscheduled one are considered, which keeps the
//! register pressure of long unrolled programs (scalar multiplication) bounded.

use super::CompileError;

/// The unit an operation occupies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// The multiplier.
    Mul,
    /// An add/sub unit.
    Alu,
    /// The stream port.
    Io,
}

/// An operation to place.
#[derive(Clone, Debug)]
pub struct Task {
    /// Its unit.
    pub unit: Unit,
    /// Tasks whose results it reads (must be in an earlier instruction).
    pub after: Vec<usize>,
    /// Tasks that must not be later than it (they read a register it overwrites).
    pub not_before: Vec<usize>,
    /// Must run on add/sub unit 0 (its result is state, which lives in unit 0's bank).
    pub slot0: bool,
}

/// Where a task went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Instruction index.
    pub instr: usize,
    /// Add/sub unit (0 for the multiplier and the stream port).
    pub slot: usize,
}

/// Places every task; returns each task's placement and the instruction count.
/// `order_bias` (in 1/16 instruction of height per position) favours tasks that come earlier
/// in program order: it staggers independent chains (several accumulators) so that one's
/// multiply-bound tail overlaps another's add-bound middle.
pub fn schedule(
    tasks: &[Task],
    alu_slots: usize,
    window: usize,
    order_bias: usize,
) -> Result<(Vec<Placement>, usize), CompileError> {
    let n = tasks.len();
    let mut succs = vec![Vec::new(); n];
    for (i, t) in tasks.iter().enumerate() {
        for &p in &t.after {
            succs[p].push(i);
        }
    }
    // Height: instructions from this task to the end along data dependences.
    let mut height = vec![1usize; n];
    for i in (0..n).rev() {
        height[i] = 1 + succs[i].iter().map(|&s| height[s]).max().unwrap_or(0);
    }
    let mut at: Vec<Option<usize>> = vec![None; n];
    let mut slot = vec![0usize; n];
    let mut oldest = 0;
    let mut placed = 0;
    let mut cycle = 0;
    let limit = 4 * n + 64;
    while placed < n {
        if cycle > limit {
            return Err(CompileError::Unschedulable);
        }
        let mut free_mul = 1;
        let mut alu_free = vec![true; alu_slots];
        let mut free_io = 1;
        loop {
            while oldest < n && at[oldest].is_some() {
                oldest += 1;
            }
            let mut ready: Vec<usize> = (oldest..n.min(oldest + window))
                .filter(|&i| at[i].is_none())
                .filter(|&i| {
                    tasks[i]
                        .after
                        .iter()
                        .all(|&p| at[p].is_some_and(|c| c < cycle))
                })
                .filter(|&i| tasks[i].not_before.iter().all(|&p| at[p].is_some()))
                .collect();
            ready.sort_by_key(|&i| {
                (
                    std::cmp::Reverse(height[i] * 64 + (n - i) * order_bias / 16),
                    i,
                )
            });
            let mut progress = false;
            for i in ready {
                let fits = match tasks[i].unit {
                    Unit::Mul => std::mem::replace(&mut free_mul, 0) == 1,
                    Unit::Io => std::mem::replace(&mut free_io, 0) == 1,
                    // State results need unit 0; the others take the highest free unit so that
                    // unit 0 stays available for them.
                    Unit::Alu => {
                        let pick = if tasks[i].slot0 {
                            alu_free[0].then_some(0)
                        } else {
                            (0..alu_slots).rev().find(|&s| alu_free[s])
                        };
                        pick.map(|s| {
                            alu_free[s] = false;
                            slot[i] = s;
                        })
                        .is_some()
                    }
                };
                if fits {
                    at[i] = Some(cycle);
                    placed += 1;
                    progress = true;
                }
            }
            // A task freed by a same-instruction `not_before` may still fit: look again.
            if !progress {
                break;
            }
        }
        cycle += 1;
    }
    let placed: Vec<Placement> = at
        .into_iter()
        .zip(slot)
        .map(|(c, slot)| Placement {
            instr: c.expect("all placed"),
            slot,
        })
        .collect();
    let len = placed.iter().map(|p| p.instr + 1).max().unwrap_or(0);
    Ok((placed, len))
}
