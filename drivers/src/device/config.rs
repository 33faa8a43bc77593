//! Deadlines, in device clock cycles so that they mean the same on a board and in simulation
//! (where wall time depends on the simulator's speed, not on the design). Each is a fixed part
//! plus a margin times what the work was measured to cost (bench/RESULTS.md "Curve engine").

use std::time::Duration;

use tollgate_abi::layout::Shape;
use tollgate_abi::{Group, Opcode};

/// Deadlines and polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Fixed part of every deadline (pipeline fill and drain, a program's prologue and
    /// epilogue, polling granularity); also the wait for READY after a reset.
    pub base_cycles: u64,
    /// One G1 point of an aggregation, per engine (measured 12.7 in steady state).
    pub g1_add_cycles: u64,
    /// One 64-bit G1 scalar multiplication, amortised per item over the lanes (measured
    /// ~1,300: a lane's takes ~52k cycles, 40 lanes interleaved).
    pub g1_scalar_mul_cycles: u64,
    /// G2 work costs this many times the G1 work (measured: add 39 / 12.7, scalar mul ~2.9).
    pub g2_factor: u64,
    /// One signature decoding (DecodeG2), per engine (measured 5,046 in steady state,
    /// bench/RESULTS.md "Whole verification (microcode)").
    pub decode_g2_cycles: u64,
    /// One hash to G2 after hash_to_field (HashToG2), per engine (measured 12,891).
    pub hash_to_g2_cycles: u64,
    /// One Miller-loop pair (MillerLoop), per engine (measured 8,447).
    pub miller_pair_cycles: u64,
    /// One step of the bucket method (BucketSumG2), per engine: its body of 54 instructions,
    /// one G2 addition and three selects, whatever the flag.
    pub bucket_step_cycles: u64,
    /// Bytes per cycle the deadlines assume the DMA moves at least (the port moves 32; a
    /// congested link less).
    pub dma_bytes_per_cycle: u64,
    /// Jobs kept in the device at once (job slots in host memory; the rings are the next
    /// power of two above). Two overlap one job's transfers with another's compute.
    pub in_flight: usize,
    /// Items per device job at most, below what the device holds (smaller jobs: results of
    /// the first sooner, more jobs in flight); `None`: as many as the device holds.
    pub max_job_items: Option<usize>,
    /// Multiplies the measured costs (never below 1).
    pub margin: u64,
    /// Cycles the device is left alone between two polls.
    pub poll_cycles: u32,
    /// The same pause on real hardware.
    pub poll_pause: Duration,
    /// No wait on a board lasts longer than this, whatever the cycle budget comes to: a
    /// deadline in wall time is cycles over the reported clock, and a device that never
    /// answers must not hold the batch beyond an absolute bound.
    pub max_wall_wait: Duration,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        // The measured fixed cost is ≤ 5k cycles (fill/drain 34–194, prologue and epilogue a
        // few thousand); 20k leaves room without making every hang cost a long wait.
        DeviceConfig {
            base_cycles: 20_000,
            g1_add_cycles: 13,
            g1_scalar_mul_cycles: 1_300,
            g2_factor: 3,
            decode_g2_cycles: 5_100,
            hash_to_g2_cycles: 12_900,
            miller_pair_cycles: 8_500,
            bucket_step_cycles: 54,
            dma_bytes_per_cycle: 8,
            in_flight: 4,
            max_job_items: None,
            margin: 2,
            poll_cycles: 64,
            poll_pause: Duration::from_micros(5),
            // The largest job (1,363 hashes to G2, margin 2) is ~0.14 s at 250 MHz.
            max_wall_wait: Duration::from_secs(10),
        }
    }
}

impl DeviceConfig {
    /// The deadline for the engine's work on a job of `rounds` rounds (doorbell → completion,
    /// counted from the last input word, when the device starts computing).
    pub fn compute_cycles(&self, shape: &Shape, opcode: Opcode, rounds: u32) -> u64 {
        let items = rounds as u64 * shape.items_per_round(opcode) as u64;
        self.base_cycles + self.margin.max(1) * items * self.item_cycles(opcode)
    }

    /// What one item of `opcode` costs an engine.
    fn item_cycles(&self, opcode: Opcode) -> u64 {
        let group = match opcode.group() {
            Group::G1 => 1,
            Group::G2 => self.g2_factor,
        };
        match opcode {
            Opcode::DecodeG2 => self.decode_g2_cycles,
            Opcode::HashToG2 => self.hash_to_g2_cycles,
            Opcode::MillerLoop => self.miller_pair_cycles,
            Opcode::BucketSumG2 => self.bucket_step_cycles,
            _ if opcode.has_scalars() => self.g1_scalar_mul_cycles * group,
            _ => self.g1_add_cycles * group,
        }
    }

    /// The deadline's share for moving `bytes` bytes by DMA (a job's input and output).
    pub fn transfer_cycles(&self, bytes: usize) -> u64 {
        self.margin.max(1) * bytes as u64 / self.dma_bytes_per_cycle.max(1)
    }

    /// `cycles` of a `clock_khz` clock in wall time, at most [`DeviceConfig::max_wall_wait`].
    pub fn wall_wait(&self, cycles: u64, clock_khz: u32) -> Duration {
        let khz = u64::from(clock_khz.max(1));
        Duration::from_micros(cycles.saturating_mul(1000) / khz).min(self.max_wall_wait)
    }

    /// Every cost scaled by `factor` (a slow host or link), polling unchanged.
    pub fn scaled(self, factor: u64) -> DeviceConfig {
        let factor = factor.max(1);
        DeviceConfig {
            base_cycles: self.base_cycles * factor,
            margin: self.margin.max(1) * factor,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        lanes: 40,
        aggregate_fanin: 3,
        in_words: 1 << 16,
        out_words: 1 << 14,
    };

    #[test]
    fn deadlines_follow_the_measured_costs_with_the_margin() {
        let config = DeviceConfig::default();
        // One round of G1 scalar multiplications: 40 items × 1,300 cycles, doubled.
        assert_eq!(
            config.compute_cycles(&SHAPE, Opcode::ScalarMulG1, 1),
            20_000 + 2 * 40 * 1_300
        );
        // The measured whole job (51,994 cycles) fits with room to spare.
        assert!(config.compute_cycles(&SHAPE, Opcode::ScalarMulG1, 1) > 2 * 51_994 - 10_000);
        // Measured: Σ kᵢPᵢ G2, 2 rounds, 302,034 cycles.
        assert!(config.compute_cycles(&SHAPE, Opcode::MultiScalarG2, 2) > 302_034 * 3 / 2);
        // Measured: aggregate G1, 20 rounds of 3 points per lane, 31,874 cycles.
        assert!(config.compute_cycles(&SHAPE, Opcode::AggregateG1, 20) > 31_874 * 3 / 2);
        // Measured: aggregate G2, 2 rounds, 13,554 cycles (prologue/epilogue dominate).
        assert!(config.compute_cycles(&SHAPE, Opcode::AggregateG2, 2) > 13_554 * 3 / 2);
        // The verification core (29 lanes), measured per round of 29 items: hash to G2
        // 373,873 cycles, decoding 146,368, a Miller pair 245,693.
        let verify = Shape { lanes: 29, ..SHAPE };
        for (op, measured) in [
            (Opcode::HashToG2, 373_873),
            (Opcode::DecodeG2, 146_368),
            (Opcode::MillerLoop, 245_693),
        ] {
            assert!(
                config.compute_cycles(&verify, op, 1) > measured * 3 / 2,
                "{op:?}"
            );
        }
        // The bucket job on the verification core (32 lanes): 36 rounds of steps, measured
        // 62,208 issue cycles + the pipeline's drain.
        let verify32 = Shape { lanes: 32, ..SHAPE };
        assert!(config.compute_cycles(&verify32, Opcode::BucketSumG2, 36) > 62_208 * 3 / 2);
        // Rounds, not items: a deadline grows with the work the device really does.
        assert_eq!(
            config.compute_cycles(&SHAPE, Opcode::AggregateG2, 4) - config.base_cycles,
            2 * (config.compute_cycles(&SHAPE, Opcode::AggregateG2, 2) - config.base_cycles)
        );
    }

    #[test]
    fn wall_waits_follow_the_clock_up_to_the_absolute_cap() {
        let config = DeviceConfig::default();
        assert_eq!(config.wall_wait(250_000, 250_000), Duration::from_millis(1));
        assert_eq!(config.wall_wait(u64::MAX, 250_000), config.max_wall_wait);
        assert_eq!(config.wall_wait(1 << 40, 0), config.max_wall_wait);
    }

    #[test]
    fn scaling_stretches_every_deadline() {
        let config = DeviceConfig::default();
        let slow = config.scaled(5);
        assert_eq!(slow.transfer_cycles(1000), 5 * config.transfer_cycles(1000));
        assert_eq!(
            slow.compute_cycles(&SHAPE, Opcode::ScalarMulG2, 3),
            5 * config.compute_cycles(&SHAPE, Opcode::ScalarMulG2, 3)
        );
        assert_eq!(config.scaled(0), config);
    }
}
