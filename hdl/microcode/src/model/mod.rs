//! A cycle-level model of the lane-interleaved engine executing the ROM.
//!
//! Lane `j` issues instruction `i` of the job's instruction sequence at cycle `i·K + j`.
//! Reads happen at issue; each unit's result lands in the register file its latency later.
//! The model keeps real values (arkworks Fq), so a scheduling or allocation mistake shows up as
//! a wrong result, and it also counts reads of registers with a write still in flight
//! (`hazards`), which a correct ROM never has.

pub mod buckets;
mod jobs;
mod words;

pub use jobs::{combine_rounds, miller_padding, miller_pair_words, Job, JobResult};
pub use words::{
    fp12_from_words, fp12_words, g1_from_words, g1_words, g2_from_words, g2_words, scalar_word,
};

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::ops::Range;

use ark_bls12_381::Fq;
use ark_ff::{One, PrimeField, Zero};
use thiserror::Error;

use crate::compile::isa::{AluKind, Instr, IoOp, Operand};
use crate::compile::programs::ProgramKind;
use crate::compile::rom::Rom;
use crate::compile::{BANK_LOAD, BANK_MUL};
use crate::curve::SCALAR_BITS;
use crate::trace::{Const, FlagTest};

/// Why the model stopped.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    /// A lane loaded past the end of its input.
    #[error("lane {lane} read past the end of its input")]
    InputUnderflow {
        /// The lane.
        lane: usize,
    },
    /// A job with no items.
    #[error("a job needs at least one item")]
    EmptyJob,
    /// More lanes' worth of input than the engine has.
    #[error("{given} lane inputs for an engine of {lanes} lanes")]
    TooManyLanes {
        /// Inputs given.
        given: usize,
        /// Lanes available.
        lanes: usize,
    },
}

/// Counters of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Issue cycles (instruction slots × lanes, active or not).
    pub cycles: u64,
    /// Multiplications issued by active lanes.
    pub muls: u64,
    /// Add/sub/select operations issued by active lanes.
    pub alus: u64,
    /// Reads of a register whose write had not landed (must stay 0).
    pub hazards: u64,
    /// Writes by a unit outside its own register bank (must stay 0).
    pub bank_violations: u64,
}

impl Stats {
    /// Fraction of cycles in which the multiplier issued.
    pub fn mul_utilisation(&self) -> f64 {
        self.muls as f64 / self.cycles.max(1) as f64
    }

    fn absorb(&mut self, other: Stats) {
        self.cycles += other.cycles;
        self.muls += other.muls;
        self.alus += other.alus;
        self.hazards += other.hazards;
        self.bank_violations += other.bank_violations;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Reg(usize),
    Scalar,
    /// One bit of the scalar register (a computed flag).
    ScalarBit(u8),
}

#[derive(Clone, Copy, Debug)]
struct Write {
    lane: usize,
    target: Target,
    value: Fq,
}

/// The engine: K lane windows, scalar registers and the writes in flight.
pub struct Engine<'r> {
    rom: &'r Rom,
    regs: Vec<Vec<Fq>>,
    scalars: Vec<u64>,
    in_flight: Vec<Vec<u32>>,
    /// Writes in flight to each bit of each lane's scalar register.
    scalar_in_flight: Vec<[u32; SCALAR_BITS]>,
    pending: BinaryHeap<Reverse<(u64, usize)>>,
    writes: Vec<Option<Write>>,
    cycle: u64,
}

impl<'r> Engine<'r> {
    /// An engine running `rom`, registers cleared.
    pub fn new(rom: &'r Rom) -> Self {
        let k = rom.config.lanes;
        let w = rom.config.window();
        Engine {
            rom,
            regs: vec![vec![Fq::zero(); w]; k],
            scalars: vec![0; k],
            in_flight: vec![vec![0; w]; k],
            scalar_in_flight: vec![[0; SCALAR_BITS]; k],
            pending: BinaryHeap::new(),
            writes: Vec::new(),
            cycle: 0,
        }
    }

    /// Runs `kind` with lane `j` consuming `inputs[j]` item by item (`items[j]` items); returns
    /// each lane's output stream and the run's counters.
    pub fn run(
        &mut self,
        kind: ProgramKind,
        inputs: Vec<Vec<Fq>>,
        items: &[usize],
    ) -> Result<(Vec<Vec<Fq>>, Stats), ModelError> {
        let k = self.rom.config.lanes;
        if inputs.len() > k || items.len() > k {
            return Err(ModelError::TooManyLanes {
                given: inputs.len().max(items.len()),
                lanes: k,
            });
        }
        let items: Vec<usize> = (0..k).map(|j| items.get(j).copied().unwrap_or(0)).collect();
        let mut inputs: Vec<VecDeque<Fq>> = (0..k)
            .map(|j| inputs.get(j).cloned().unwrap_or_default().into())
            .collect();
        let mut outputs = vec![Vec::new(); k];
        let entry = self.rom.entry(kind).clone();
        let start = self.cycle;
        let mut stats = Stats::default();
        let rounds = items.iter().copied().max().unwrap_or(0);
        let in_job: Vec<bool> = items.iter().map(|&n| n > 0).collect();
        self.segment(
            entry.prologue.clone(),
            &in_job,
            &mut inputs,
            &mut outputs,
            &mut stats,
        )?;
        for round in 0..rounds {
            let active: Vec<bool> = items.iter().map(|&n| n > round).collect();
            self.segment(
                entry.body.clone(),
                &active,
                &mut inputs,
                &mut outputs,
                &mut stats,
            )?;
        }
        self.segment(
            entry.epilogue.clone(),
            &in_job,
            &mut inputs,
            &mut outputs,
            &mut stats,
        )?;
        // The last results land after the last issue.
        self.drain();
        stats.cycles = self.cycle - start;
        Ok((outputs, stats))
    }

    fn segment(
        &mut self,
        range: Range<usize>,
        active: &[bool],
        inputs: &mut [VecDeque<Fq>],
        outputs: &mut [Vec<Fq>],
        stats: &mut Stats,
    ) -> Result<(), ModelError> {
        for i in range {
            let instr = &self.rom.instrs[i];
            // `active` has one entry per lane: every lane slot takes a cycle, idle or not.
            for (lane, &is_active) in active.iter().enumerate() {
                let now = self.cycle;
                self.cycle += 1;
                self.land(now);
                if is_active {
                    self.issue(instr, lane, now, inputs, outputs, stats)?;
                }
            }
        }
        Ok(())
    }

    fn land(&mut self, now: u64) {
        while let Some(&Reverse((at, idx))) = self.pending.peek() {
            if at > now {
                break;
            }
            self.pending.pop();
            let w = self.writes[idx].take().expect("each write lands once");
            match w.target {
                Target::Reg(r) => {
                    self.regs[w.lane][r] = w.value;
                    self.in_flight[w.lane][r] -= 1;
                }
                Target::Scalar => {
                    self.scalars[w.lane] = w.value.into_bigint().0[0];
                    for n in &mut self.scalar_in_flight[w.lane] {
                        *n -= 1;
                    }
                }
                Target::ScalarBit(bit) => {
                    let mask = 1u64 << bit;
                    let set = if w.value.is_zero() { 0 } else { mask };
                    self.scalars[w.lane] = (self.scalars[w.lane] & !mask) | set;
                    self.scalar_in_flight[w.lane][bit as usize] -= 1;
                }
            }
        }
        if self.pending.is_empty() {
            self.writes.clear();
        }
    }

    fn drain(&mut self) {
        while let Some(&Reverse((at, _))) = self.pending.peek() {
            self.cycle = self.cycle.max(at);
            self.land(at);
        }
    }

    fn read(&self, lane: usize, op: Operand, stats: &mut Stats) -> Fq {
        match op {
            Operand::Const(Const::Zero) => Fq::zero(),
            Operand::Const(Const::One) => Fq::one(),
            Operand::Const(Const::Table(c)) => c.value(),
            Operand::Reg(r) => {
                if self.in_flight[lane][r as usize] > 0 {
                    stats.hazards += 1;
                }
                self.regs[lane][r as usize]
            }
        }
    }

    fn schedule_write(&mut self, at: u64, lane: usize, target: Target, value: Fq) {
        match target {
            Target::Reg(r) => self.in_flight[lane][r] += 1,
            Target::Scalar => {
                for n in &mut self.scalar_in_flight[lane] {
                    *n += 1;
                }
            }
            Target::ScalarBit(bit) => self.scalar_in_flight[lane][bit as usize] += 1,
        }
        self.writes.push(Some(Write {
            lane,
            target,
            value,
        }));
        self.pending.push(Reverse((at, self.writes.len() - 1)));
    }

    fn issue(
        &mut self,
        instr: &Instr,
        lane: usize,
        now: u64,
        inputs: &mut [VecDeque<Fq>],
        outputs: &mut [Vec<Fq>],
        stats: &mut Stats,
    ) -> Result<(), ModelError> {
        let cfg = self.rom.config;
        let in_bank = |bank: usize, reg: u8| {
            let base: usize = cfg.bank_regs[..bank].iter().sum();
            (base..base + cfg.bank_regs[bank]).contains(&(reg as usize))
        };
        // All reads first (the hardware reads every operand at issue), then the writes.
        let mut results = Vec::new();
        if let Some(m) = instr.mul {
            let v = self.read(lane, m.a, stats) * self.read(lane, m.b, stats);
            results.push((now + cfg.mul_latency as u64, Target::Reg(m.dst as usize), v));
            stats.muls += 1;
            stats.bank_violations += u64::from(!in_bank(BANK_MUL, m.dst));
        }
        for (slot, op) in instr.alu.iter().enumerate() {
            let Some(op) = op else { continue };
            let at = now + cfg.alu_latency as u64;
            stats.alus += 1;
            let a = self.read(lane, op.a, stats);
            if let AluKind::SetFlag { test, bit } = op.kind {
                // The test reads the register image, the Montgomery form arkworks keeps too.
                let set = match test {
                    FlagTest::IsZero => a.is_zero(),
                    FlagTest::ImageLsb => a.0 .0[0] & 1 == 1,
                };
                results.push((at, Target::ScalarBit(bit), Fq::from(u8::from(set))));
                continue;
            }
            stats.bank_violations += u64::from(!in_bank(slot, op.dst));
            let b = self.read(lane, op.b, stats);
            let v = match op.kind {
                AluKind::Add => a + b,
                AluKind::Sub => a - b,
                AluKind::Select { bit } => {
                    if self.scalar_in_flight[lane][bit as usize] > 0 {
                        stats.hazards += 1;
                    }
                    if (self.scalars[lane] >> bit) & 1 == 1 {
                        a
                    } else {
                        b
                    }
                }
                AluKind::SetFlag { .. } => unreachable!("handled above"),
            };
            results.push((at, Target::Reg(op.dst as usize), v));
        }
        match instr.io {
            None => {}
            Some(IoOp::Store { src }) => outputs[lane].push(self.read(lane, src, stats)),
            Some(IoOp::Load { dst }) => {
                stats.bank_violations += u64::from(!in_bank(BANK_LOAD, dst));
                let v = inputs[lane]
                    .pop_front()
                    .ok_or(ModelError::InputUnderflow { lane })?;
                results.push((now + cfg.io_latency as u64, Target::Reg(dst as usize), v));
            }
            Some(IoOp::LoadScalar) => {
                let v = inputs[lane]
                    .pop_front()
                    .ok_or(ModelError::InputUnderflow { lane })?;
                results.push((now + cfg.io_latency as u64, Target::Scalar, v));
            }
        }
        for (at, target, v) in results {
            self.schedule_write(at, lane, target, v);
        }
        Ok(())
    }
}

impl Stats {
    /// Sum of two runs' counters.
    pub fn plus(mut self, other: Stats) -> Stats {
        self.absorb(other);
        self
    }
}
