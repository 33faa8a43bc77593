//! The leaf multiplier: its rust-hdl model (rust-hdl's simulator) and its Verilog
//! (Verilator) both give `a·b` exactly `LEAF_LATENCY` edges later, on random and extreme
//! operands.

use rand::{rngs::StdRng, Rng, SeedableRng};
use rust_hdl::prelude::*;
use tollgate_hdl::field::leaf::{leaf_product, LeafMul, LEAF_LATENCY};
use tollgate_verilator::Model;

use tollgate_hdl::sim::LEAF_MUL;

const CYCLES: usize = 2000;

fn operands() -> Vec<(u64, u64)> {
    let mut rng = StdRng::seed_from_u64(26 * 17);
    let max = ((1 << 26) - 1, (1 << 17) - 1);
    let mut v = vec![(0, 0), (max.0, max.1), (max.0, 1), (1, max.1), (max.0, 0)];
    v.extend((0..CYCLES).map(|_| (rng.gen_range(0..1 << 26), rng.gen_range(0..1 << 17))));
    v
}

#[test]
fn rust_model_multiplies_with_leaf_latency() {
    let ops = operands();
    let mut uut = LeafMul::default();
    uut.connect_all();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<LeafMul>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut sim: Sim<LeafMul>| {
        let mut x = sim.init()?;
        for i in 0..ops.len() + LEAF_LATENCY {
            wait_clock_true!(sim, clock, x);
            if i >= LEAF_LATENCY {
                let (a, b) = ops[i - LEAF_LATENCY];
                sim_assert_eq!(sim, x.p.val().to_u64(), leaf_product(a, b), x);
            }
            let (a, b) = ops.get(i).copied().unwrap_or((0, 0));
            x.a.next = a.into();
            x.b.next = b.into();
            wait_clock_false!(sim, clock, x);
        }
        sim.done(x)
    });
    sim.run(Box::new(uut), 20 * (CYCLES as u64 + 100)).unwrap();
}

#[test]
fn verilog_multiplies_with_leaf_latency() {
    let ops = operands();
    let mut m = Model::new(&LEAF_MUL);
    let (clock, a, b, p) = (
        m.port("clock").unwrap(),
        m.port("a").unwrap(),
        m.port("b").unwrap(),
        m.port("p").unwrap(),
    );
    for i in 0..ops.len() + LEAF_LATENCY - 1 {
        let (x, y) = ops.get(i).copied().unwrap_or((0, 0));
        m.set_u64(a, x);
        m.set_u64(b, y);
        m.tick(clock);
        // After edge i+1, the product of the operands presented LEAF_LATENCY edges earlier.
        if i + 1 >= LEAF_LATENCY {
            let (x, y) = ops[i + 1 - LEAF_LATENCY];
            assert_eq!(m.get_u64(p), leaf_product(x, y), "cycle {i}");
        }
    }
}
