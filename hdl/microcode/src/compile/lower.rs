//! Turning a traced graph into a scheduled, register-allocated segment.

use super::isa::{AluKind, AluOp, Instr, IoOp, MulOp, Operand};
use super::regalloc::{allocate, Lifetime};
use super::schedule::{schedule, Placement, Task, Unit};
use super::{CompileError, EngineConfig, Segment, BANKS, BANK_LOAD, BANK_MUL};
use crate::curve::SCALAR_BITS;
use crate::trace::{Cond, Const, Graph, Node, Sink, ValueId};

/// Program-order preferences tried by the scheduler (see [`schedule`]).
const ORDER_BIASES: [usize; 6] = [0, 4, 8, 16, 32, 64];

/// A schedule that fits: placements, length, each node's register, registers used per bank.
type Candidate = (Vec<Placement>, usize, Vec<Option<usize>>, [usize; BANKS]);

/// Compiles one segment of program `name` whose persistent state uses `state_slots` slots
/// (the first registers of add/sub unit 0's bank).
pub fn compile_segment(
    name: &str,
    mut graph: Graph,
    state_slots: u8,
    cfg: &EngineConfig,
) -> Result<Segment, CompileError> {
    cfg.validate()?;
    pin_state_sinks(&mut graph)?;
    let has = |f: fn(&Node) -> bool| graph.nodes.iter().any(f);
    if has(|n| matches!(n, Node::Flag { .. })) && has(|n| matches!(n, Node::LoadScalar)) {
        return Err(CompileError::FlagsBesideScalar(name.to_string()));
    }
    let n = graph.nodes.len();

    // Everything reachable from a sink, plus every stream operation (each consumes a word).
    let mut live = vec![false; n];
    let mut stack: Vec<ValueId> = graph
        .sinks
        .iter()
        .map(|s| match *s {
            Sink::Store(v) | Sink::State(_, v) => v,
        })
        .collect();
    stack.extend((0..n).filter(|&i| matches!(graph.nodes[i], Node::Load | Node::LoadScalar)));
    while let Some(v) = stack.pop() {
        if !live[v] {
            live[v] = true;
            stack.extend(Graph::operands(&graph.nodes[v]));
        }
    }

    // Tasks: the live computing nodes in graph order, then one per store.
    let unit_of = |node: &Node| match node {
        Node::Mul(..) => Some(Unit::Mul),
        Node::Add(..) | Node::Sub(..) | Node::Select { .. } | Node::Flag { .. } => Some(Unit::Alu),
        Node::Load | Node::LoadScalar => Some(Unit::Io),
        Node::State(_) | Node::Const(_) => None,
    };
    let mut task_of = vec![None; n];
    let mut tasks = Vec::new();
    let mut nodes_of_task = Vec::new();
    let mut last_io: Option<usize> = None;
    for v in 0..n {
        let Some(unit) = unit_of(&graph.nodes[v]).filter(|_| live[v]) else {
            continue;
        };
        let mut after: Vec<usize> = Graph::operands(&graph.nodes[v])
            .iter()
            .filter_map(|&o| task_of[o])
            .collect();
        if unit == Unit::Io {
            after.extend(last_io);
            last_io = Some(tasks.len());
        }
        task_of[v] = Some(tasks.len());
        tasks.push(Task {
            unit,
            after,
            not_before: Vec::new(),
            slot0: false,
        });
        nodes_of_task.push(v);
    }
    let mut store_tasks = Vec::new();
    for sink in &graph.sinks {
        if let Sink::Store(v) = *sink {
            let mut after: Vec<usize> = task_of[v].into_iter().collect();
            after.extend(last_io);
            last_io = Some(tasks.len());
            store_tasks.push((tasks.len(), v));
            tasks.push(Task {
                unit: Unit::Io,
                after,
                not_before: Vec::new(),
                slot0: false,
            });
        }
    }
    // A value replacing state slot s is written over register s: everything reading the old
    // slot value must have issued by then (the same instruction is fine: reads happen first).
    for sink in &graph.sinks {
        if let Sink::State(slot, out) = *sink {
            let out_task = task_of[out].expect("pinned sinks are computed values");
            tasks[out_task].slot0 = true;
            let old = (0..n).find(|&i| graph.nodes[i] == Node::State(slot));
            let Some(old) = old else { continue };
            let readers: Vec<usize> = (0..tasks.len())
                .filter(|&t| {
                    let reads = match nodes_of_task.get(t) {
                        Some(&v) => Graph::operands(&graph.nodes[v]).contains(&old),
                        None => store_tasks.iter().any(|&(st, sv)| st == t && sv == old),
                    };
                    reads && t != out_task
                })
                .collect();
            tasks[out_task].not_before.extend(readers);
        }
    }

    // A few scheduling priorities; keep the shortest program whose banks fit.
    let mut best: Option<Candidate> = None;
    let mut shortfall = None;
    for bias in ORDER_BIASES {
        let (at, len) = schedule(&tasks, cfg.alu_slots, cfg.sched_window, bias)?;
        let (reg_of, used) = allocate_registers(
            &graph,
            &nodes_of_task,
            &store_tasks,
            &at,
            state_slots,
            &cfg.bank_regs,
        );
        match (0..BANKS).find(|&b| used[b] > cfg.bank_regs[b]) {
            Some(bank) => shortfall = Some((bank, used[bank])),
            None if best.as_ref().is_none_or(|b| len < b.1) => best = Some((at, len, reg_of, used)),
            None => {}
        }
    }
    let Some((at, len, reg_of, used)) = best else {
        let (bank, needed) = shortfall.expect("no schedule fits only when one bank overflowed");
        return Err(CompileError::OutOfRegisters {
            program: name.to_string(),
            bank,
            needed,
            available: cfg.bank_regs[bank],
        });
    };
    let registers = used.iter().sum();
    let flag_bit = allocate_flags(name, &graph, &nodes_of_task, &at)?;

    let operand = |v: ValueId| match graph.nodes[v] {
        Node::Const(c) => Operand::Const(c),
        Node::State(s) => Operand::Reg(s),
        _ => Operand::Reg(reg_of[v].expect("allocated") as u8),
    };
    let mut instrs = vec![Instr::empty(cfg.alu_slots); len];
    let mut seg = Segment {
        instrs: Vec::new(),
        registers,
        bank_use: used,
        muls: 0,
        alus: 0,
        loads: 0,
        stores: 0,
    };
    for (t, &v) in nodes_of_task.iter().enumerate() {
        let instr = &mut instrs[at[t].instr];
        let dst = || reg_of[v].expect("allocated") as u8;
        match graph.nodes[v] {
            Node::Mul(a, b) => {
                instr.mul = Some(MulOp {
                    dst: dst(),
                    a: operand(a),
                    b: operand(b),
                });
                seg.muls += 1;
            }
            Node::Add(a, b)
            | Node::Sub(a, b)
            | Node::Select {
                set: a, clear: b, ..
            } => {
                let kind = match graph.nodes[v] {
                    Node::Add(..) => AluKind::Add,
                    Node::Sub(..) => AluKind::Sub,
                    Node::Select {
                        cond: Cond::ScalarBit { bit, .. },
                        ..
                    } => AluKind::Select { bit },
                    Node::Select {
                        cond: Cond::Flag(flag),
                        ..
                    } => AluKind::Select {
                        bit: flag_bit[flag].expect("flags read are allocated"),
                    },
                    _ => unreachable!("matched above"),
                };
                instr.alu[at[t].slot] = Some(AluOp {
                    kind,
                    dst: dst(),
                    a: operand(a),
                    b: operand(b),
                });
                seg.alus += 1;
            }
            Node::Flag { test, of } => {
                instr.alu[at[t].slot] = Some(AluOp {
                    kind: AluKind::SetFlag {
                        test,
                        bit: flag_bit[v].expect("allocated"),
                    },
                    dst: 0,
                    a: operand(of),
                    b: Operand::Const(Const::Zero),
                });
                seg.alus += 1;
            }
            Node::Load => {
                instr.io = Some(IoOp::Load { dst: dst() });
                seg.loads += 1;
            }
            Node::LoadScalar => {
                instr.io = Some(IoOp::LoadScalar);
                seg.loads += 1;
            }
            Node::State(_) | Node::Const(_) => unreachable!("not tasks"),
        }
    }
    for &(t, v) in &store_tasks {
        instrs[at[t].instr].io = Some(IoOp::Store { src: operand(v) });
        seg.stores += 1;
    }
    seg.instrs = instrs;
    Ok(seg)
}

/// Lifetimes of the values that occupy a register under schedule `at`, then linear scan.
fn allocate_registers(
    graph: &Graph,
    nodes_of_task: &[ValueId],
    store_tasks: &[(usize, ValueId)],
    at: &[Placement],
    state_slots: u8,
    bank_regs: &[usize; BANKS],
) -> (Vec<Option<usize>>, [usize; BANKS]) {
    let n = graph.nodes.len();
    let mut last_use = vec![None::<usize>; n];
    for (t, &v) in nodes_of_task.iter().enumerate() {
        for o in Graph::operands(&graph.nodes[v]) {
            last_use[o] = last_use[o].max(Some(at[t].instr));
        }
    }
    for &(t, v) in store_tasks {
        last_use[v] = last_use[v].max(Some(at[t].instr));
    }
    let mut pinned = vec![None; n];
    for (v, node) in graph.nodes.iter().enumerate() {
        if let Node::State(s) = node {
            pinned[v] = Some(*s);
        }
    }
    for sink in &graph.sinks {
        if let Sink::State(s, v) = *sink {
            pinned[v] = Some(s);
        }
    }
    let lifetimes: Vec<Lifetime> = nodes_of_task
        .iter()
        .enumerate()
        // The scalar and flags live in the scalar register, not the window.
        .filter(|(_, &v)| !matches!(graph.nodes[v], Node::LoadScalar | Node::Flag { .. }))
        .map(|(t, &v)| Lifetime {
            value: v,
            def: at[t].instr,
            // A value never read still lands in a register: hold it one instruction.
            last_use: last_use[v].unwrap_or(at[t].instr + 1),
            pinned: pinned[v],
            // Each unit writes only its own bank of the register file.
            bank: match graph.nodes[v] {
                Node::Mul(..) => BANK_MUL,
                Node::Load => BANK_LOAD,
                _ => at[t].slot,
            },
        })
        .collect();
    allocate(&lifetimes, n, state_slots as usize, bank_regs)
}

/// Bits of the scalar register for the segment's flags (indexed by node), by linear scan: a
/// flag holds its bit from the instruction that sets it to its last select, and, like a
/// register, a bit read by an instruction may be set again by the same instruction.
fn allocate_flags(
    name: &str,
    graph: &Graph,
    nodes_of_task: &[ValueId],
    at: &[Placement],
) -> Result<Vec<Option<u8>>, CompileError> {
    let n = graph.nodes.len();
    let mut def = vec![None; n];
    let mut last_use = vec![0usize; n];
    for (t, &v) in nodes_of_task.iter().enumerate() {
        match graph.nodes[v] {
            Node::Flag { .. } => def[v] = Some(at[t].instr),
            Node::Select {
                cond: Cond::Flag(flag),
                ..
            } => last_use[flag] = last_use[flag].max(at[t].instr),
            _ => {}
        }
    }
    let mut flags: Vec<(usize, ValueId)> = (0..n).filter_map(|v| Some((def[v]?, v))).collect();
    flags.sort_unstable();
    let mut busy_until: Vec<usize> = Vec::new();
    let mut bit_of = vec![None; n];
    for (d, v) in flags {
        let bit = busy_until
            .iter()
            .position(|&until| until <= d)
            .unwrap_or_else(|| {
                busy_until.push(0);
                busy_until.len() - 1
            });
        if bit >= SCALAR_BITS {
            return Err(CompileError::OutOfFlags(name.to_string()));
        }
        // A flag never read still lands in its bit: hold it one instruction.
        busy_until[bit] = last_use[v].max(d + 1);
        bit_of[v] = Some(bit as u8);
    }
    Ok(bit_of)
}

/// Every state sink must be a value computed on an add/sub unit in this segment and pinned to
/// one slot only; anything else (a product, a constant, a load, another slot's value, a value
/// kept in two slots) gets an explicit copy `v + 0`.
fn pin_state_sinks(graph: &mut Graph) -> Result<(), CompileError> {
    let mut seen_slots = Vec::new();
    let mut pinned_values = Vec::new();
    let zero = graph.intern(Node::Const(Const::Zero));
    for i in 0..graph.sinks.len() {
        let Sink::State(slot, v) = graph.sinks[i] else {
            continue;
        };
        if seen_slots.contains(&slot) {
            return Err(CompileError::StateSetTwice(slot));
        }
        seen_slots.push(slot);
        // State lives in add/sub unit 0's bank, so only that unit may produce it.
        let computed = matches!(
            graph.nodes[v],
            Node::Add(..) | Node::Sub(..) | Node::Select { .. }
        );
        let v = if computed && !pinned_values.contains(&v) {
            v
        } else {
            let copy = graph.push_raw(Node::Add(v, zero));
            graph.sinks[i] = Sink::State(slot, copy);
            copy
        };
        pinned_values.push(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{Field, Flags};
    use crate::trace::{Traced, Tracer};

    #[test]
    fn flags_and_a_loaded_scalar_do_not_share_a_segment() {
        let t = Tracer::new();
        let bits = t.load_scalar();
        let x = t.load();
        let by_scalar = Traced::select(&bits[0], &x, &x.one());
        t.store(&Traced::select(&x.is_zero_flag(), &x, &by_scalar));
        let err = compile_segment("mixed", t.finish(), 0, &EngineConfig::DEFAULT).unwrap_err();
        assert_eq!(err, CompileError::FlagsBesideScalar("mixed".into()));
    }

    #[test]
    fn flags_beyond_the_scalar_registers_bits_are_refused() {
        // Every flag is set when its word arrives (the word is then dead); the selects start
        // from the last one, so all flags are live at once.
        let live = |n: usize| {
            let t = Tracer::new();
            let flags: Vec<_> = (0..n).map(|_| t.load().is_zero_flag()).collect();
            let one = t.state(0).one();
            let chosen = (0..n)
                .rev()
                .fold(one.zero(), |acc, i| Traced::select(&flags[i], &one, &acc));
            t.store(&chosen);
            compile_segment("flags", t.finish(), 0, &EngineConfig::DEFAULT)
        };
        live(SCALAR_BITS).expect("64 flags fit");
        assert_eq!(
            live(SCALAR_BITS + 1).unwrap_err(),
            CompileError::OutOfFlags("flags".into())
        );
    }
}
