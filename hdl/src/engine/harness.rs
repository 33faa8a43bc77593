//! Drives a Verilated engine core ([`crate::sim::ENGINE_CORE`], or one generated for other
//! parameters by [`crate::sim::generated_engine_core`]) through one job at a time, the way the
//! top level does: lane `j` consumes its own word list in order. Shared by the engine's tests
//! and the curve-engine benchmark, so that both measure the same thing.

use ark_bls12_381::Fq;
use ark_ff::BigInt;
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_verilator::{Model, ModelVTable, Port};

use super::EngineParams;

/// A stream word: a field element (sent in Montgomery form) or a raw 64-bit scalar.
#[derive(Clone, Copy, Debug)]
pub enum Word {
    Fp(Fq),
    Scalar(u64),
}

/// Little-endian u32 words of a stream word.
fn words_of(w: Word) -> Vec<u32> {
    let limbs = match w {
        Word::Fp(x) => x.0 .0,
        Word::Scalar(k) => [k, 0, 0, 0, 0, 0],
    };
    limbs
        .iter()
        .flat_map(|l| [*l as u32, (*l >> 32) as u32])
        .collect()
}

/// The field element whose Montgomery form is `words`.
fn fq_of(words: &[u32]) -> Fq {
    let mut limbs = [0u64; 6];
    for (i, l) in limbs.iter_mut().enumerate() {
        *l = words[2 * i] as u64 | (words.get(2 * i + 1).copied().unwrap_or(0) as u64) << 32;
    }
    Fq::new_unchecked(BigInt::new(limbs))
}

/// Per-lane outputs and counters of one job.
pub struct Run {
    /// Lane j's output words, in order.
    pub outputs: Vec<Vec<Fq>>,
    /// Cycles from `start` to idle.
    pub cycles: u64,
    /// Cycles in which the multiplier accepted an operand pair.
    pub mul_issues: u64,
}

impl Run {
    /// Multiplier utilisation over the job.
    pub fn utilisation(&self) -> f64 {
        self.mul_issues as f64 / self.cycles as f64
    }
}

/// The core's ports, by name.
struct Ports {
    clock: Port,
    reset: Port,
    start: Port,
    ranges: [Port; 6],
    rounds: Port,
    busy: Port,
    in_pop: Port,
    in_lane: Port,
    in_data: Port,
    out_valid: Port,
    out_lane: Port,
    out_data: Port,
    mul_issue: Port,
}

/// One Verilated engine core, out of reset.
pub struct CoreSim {
    m: Model,
    p: Ports,
    params: &'static EngineParams,
}

impl Default for CoreSim {
    fn default() -> Self {
        CoreSim::new()
    }
}

impl CoreSim {
    /// A fresh standard core (the committed RTL) after four cycles of reset.
    pub fn new() -> CoreSim {
        CoreSim::with(EngineParams::standard(), &crate::sim::ENGINE_CORE)
    }

    /// A fresh core after four cycles of reset: `model`, Verilated from the core generated for
    /// `params`.
    pub fn with(params: &'static EngineParams, model: &'static ModelVTable) -> CoreSim {
        let m = Model::new(model);
        let port = |n: &str| {
            m.port(n)
                .unwrap_or_else(|e| panic!("engine_core port {n}: {e}"))
        };
        let p = Ports {
            clock: port("clock"),
            reset: port("reset"),
            start: port("start"),
            ranges: super::RANGE_PORTS.map(port),
            rounds: port("rounds"),
            busy: port("busy"),
            in_pop: port("in_pop"),
            in_lane: port("in_lane"),
            in_data: port("in_data"),
            out_valid: port("out_valid"),
            out_lane: port("out_lane"),
            out_data: port("out_data"),
            mul_issue: port("mul_issue"),
        };
        let mut core = CoreSim { m, p, params };
        core.m.set_u64(core.p.reset, 1);
        for _ in 0..4 {
            core.m.tick(core.p.clock);
        }
        core.m.set_u64(core.p.reset, 0);
        core
    }

    /// Runs `kind` for `rounds` body runs; lane j consumes `inputs[j]` in order, and must
    /// consume all of it.
    pub fn run(&mut self, kind: ProgramKind, inputs: &[Vec<Word>], rounds: u32) -> Run {
        let lanes = self.params.rom.config.lanes;
        assert_eq!(inputs.len(), lanes, "one input list per lane");
        let e = self.params.rom.entry(kind).clone();
        let ranges = super::range_values(&e);
        for (port, v) in self.p.ranges.into_iter().zip(ranges) {
            self.m.set_u64(port, v as u64);
        }
        self.m.set_u64(self.p.rounds, rounds as u64);
        self.m.set_u64(self.p.start, 1);
        self.m.tick(self.p.clock);
        self.m.set_u64(self.p.start, 0);
        let mut next = vec![0usize; lanes];
        let mut outputs = vec![Vec::new(); lanes];
        let (mut cycles, mut mul_issues) = (1u64, 0u64);
        loop {
            if self.m.get_u64(self.p.in_pop) == 1 {
                let lane = self.m.get_u64(self.p.in_lane) as usize;
                let word = inputs[lane]
                    .get(next[lane])
                    .copied()
                    .expect("lane input too short");
                next[lane] += 1;
                self.m.set(self.p.in_data, &words_of(word));
            }
            mul_issues += self.m.get_u64(self.p.mul_issue);
            self.m.tick(self.p.clock);
            cycles += 1;
            if self.m.get_u64(self.p.out_valid) == 1 {
                let lane = self.m.get_u64(self.p.out_lane) as usize;
                outputs[lane].push(fq_of(&self.m.get(self.p.out_data)));
            }
            if self.m.get_u64(self.p.busy) == 0 {
                break;
            }
            assert!(cycles < 50_000_000, "engine never finished");
        }
        for (lane, input) in inputs.iter().enumerate() {
            assert_eq!(next[lane], input.len(), "lane {lane} left input unread");
        }
        Run {
            outputs,
            cycles,
            mul_issues,
        }
    }
}
