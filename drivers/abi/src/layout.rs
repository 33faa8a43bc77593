//! The stream layout (crate docs, "Stream layout"): a job's items, in the host's order and
//! [`Opcode::item_words`] format, to the lane-interleaved element stream the device consumes,
//! and the device's output stream back to results.
//!
//! Item `i` goes to body run `u = i / per_run` (`per_run` = the aggregation fan-in, else 1),
//! slot `i % per_run` of that run; run `u` is lane `u mod K`'s run number `u / K`, i.e. the
//! job's round `u / K`. Every lane runs every round, so the last round is padded with neutral
//! items ([`padding_item`]: infinity, and scalar 0 where there are scalars; see the crate
//! docs for the verification opcodes), which add nothing to a sum and whose per-item results
//! are dropped.

use crate::{Opcode, FP_BYTES, FP_WORDS, SCALAR_BYTES, SCALAR_WORDS};

/// Montgomery form of 1 (`R mod p`, R = 2^384), little-endian words: the Y of infinity.
pub const ONE_MONT_WORDS: [u32; FP_WORDS] = [
    0x0002_fffd,
    0x7609_0000,
    0xc40c_0002,
    0xebf4_000b,
    0x53c7_58ba,
    0x5f48_9857,
    0x7052_5745,
    0x77ce_5853,
    0xa256_ec6d,
    0x5c07_1a97,
    0xfa80_e493,
    0x15f6_5ec3,
];

/// The G2 generator's affine coordinates x.c0, x.c1, y.c0, y.c1 in Montgomery form: the Q of
/// MillerLoop's padding pair.
pub const G2_GENERATOR_WORDS: [[u32; FP_WORDS]; 4] = [
    [
        0x0294_0a10,
        0xf5f2_8fa2,
        0x87b4_961a,
        0xb3f5_fb26,
        0x3e2a_e580,
        0xa1a8_93b5,
        0x1a3c_aee9,
        0x9894_999d,
        0x1863_366b,
        0x6f67_b763,
        0x4350_bcd7,
        0x0581_9192,
    ],
    [
        0x9e23_f606,
        0xa5a9_c075,
        0xbccd_60c3,
        0xaaa0_c59d,
        0xe286_7806,
        0x3bb1_7e18,
        0x8541_b367,
        0x1b1a_b6cc,
        0xf215_8547,
        0xc2b6_ed0e,
        0x7360_edf3,
        0x1192_2a09,
    ],
    [
        0x6049_4c4a,
        0x4c73_0af8,
        0x5e36_9c5a,
        0x597c_fa1f,
        0xaa0a_635a,
        0xe7e6_856c,
        0x6e0d_495f,
        0xbbef_b5e9,
        0xf0ef_25a2,
        0x07d3_a975,
        0x7e80_dae5,
        0x0083_fd8e,
    ],
    [
        0xdf64_b05d,
        0xadc0_fc92,
        0x2b14_61dc,
        0x18aa_270a,
        0x3be4_eba0,
        0x86ad_ac6a,
        0xc93d_a33a,
        0x7949_5c4e,
        0xa43c_caed,
        0xe717_5850,
        0x63de_1bf2,
        0x0b2b_c2a1,
    ],
];

/// The neutral item of `opcode` in [`Opcode::item_words`] format (see the module docs).
pub fn padding_item(opcode: Opcode) -> Vec<u32> {
    let mut item = vec![0u32; opcode.item_words()];
    let data = if opcode.has_scalars() {
        SCALAR_WORDS
    } else {
        0
    };
    match opcode {
        // x = 0; u0 = u1 = 0: results dropped.
        Opcode::DecodeG2 | Opcode::HashToG2 => {}
        // P = (0, 0), Q = the generator.
        Opcode::MillerLoop => {
            for (i, c) in G2_GENERATOR_WORDS.iter().enumerate() {
                let at = data + 2 * FP_WORDS + i * FP_WORDS;
                item[at..at + FP_WORDS].copy_from_slice(c);
            }
        }
        // Infinity (0 : 1 : 0): only Y's first Fp is non-zero.
        _ => {
            let y = data + opcode.group().point_words() / 3;
            item[y..y + FP_WORDS].copy_from_slice(&ONE_MONT_WORDS);
        }
    }
    item
}

/// Why a job cannot be laid out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// No items.
    #[error("a job needs at least one item")]
    Empty,
    /// The input is not a whole number of items.
    #[error("{words} input words are not a whole number of {item_words}-word items")]
    Ragged {
        /// Words given.
        words: usize,
        /// Words per item.
        item_words: usize,
    },
    /// More items than one device job holds.
    #[error("{items} items need {rounds} rounds; the device's buffers hold {max_rounds}")]
    TooLarge {
        /// Items given.
        items: usize,
        /// Rounds they need.
        rounds: u32,
        /// Rounds the buffers hold.
        max_rounds: u32,
    },
    /// The output stream has the wrong length.
    #[error("expected {expected} output words, got {got}")]
    OutputLength {
        /// Words the job produces.
        expected: usize,
        /// Words given.
        got: usize,
    },
}

/// The engine's shape, as the identity page reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Interleaved lanes K ([`crate::regs::LANES`]).
    pub lanes: u32,
    /// Points per aggregation body run ([`crate::regs::AGGREGATE_FANIN`]).
    pub aggregate_fanin: u32,
    /// Input buffer, words ([`crate::regs::IN_BUFFER_WORDS`]).
    pub in_words: u32,
    /// Output buffer, words ([`crate::regs::OUT_BUFFER_WORDS`]).
    pub out_words: u32,
}

/// Elements of one item: the scalar (if any) then the data.
const fn item_elements(opcode: Opcode) -> usize {
    opcode.has_scalars() as usize + opcode.data_elements()
}

impl Shape {
    /// Items one body run consumes.
    pub fn items_per_run(&self, opcode: Opcode) -> usize {
        if opcode.is_aggregate() {
            self.aggregate_fanin as usize
        } else {
            1
        }
    }

    /// Items one round consumes (every lane runs the body once).
    pub fn items_per_round(&self, opcode: Opcode) -> usize {
        self.lanes as usize * self.items_per_run(opcode)
    }

    /// Elements a lane consumes per body run.
    fn run_elements(&self, opcode: Opcode) -> usize {
        self.items_per_run(opcode) * item_elements(opcode)
    }

    /// Rounds `items` items need.
    pub fn rounds(&self, opcode: Opcode, items: usize) -> u32 {
        items.div_ceil(self.items_per_round(opcode)) as u32
    }

    /// Input words of a job of `rounds` rounds.
    pub fn input_words(&self, opcode: Opcode, rounds: u32) -> usize {
        self.lanes as usize * rounds as usize * self.run_elements(opcode) * FP_WORDS
    }

    /// Output words of a job of `rounds` rounds: a result per item (padding included) for
    /// the per-item opcodes, a partial result per lane for the sums.
    pub fn output_words(&self, opcode: Opcode, rounds: u32) -> usize {
        let results = if opcode.is_sum() {
            self.lanes as usize
        } else {
            self.lanes as usize * rounds as usize
        };
        results * opcode.result_words()
    }

    /// Whether element `n` of the input stream is a scalar (crosses as [`SCALAR_BYTES`]).
    /// The stream holds all lanes' element e of a run, then e + 1: scalars are the groups
    /// whose element number within the run is 0.
    pub fn is_scalar_element(&self, opcode: Opcode, n: usize) -> bool {
        opcode.has_scalars()
            && (n / self.lanes as usize)
                .is_multiple_of(self.run_elements(opcode) / self.items_per_run(opcode))
    }

    /// Bytes of a job's input in host memory (the compact encoding, crate docs).
    pub fn input_bytes(&self, opcode: Opcode, rounds: u32) -> usize {
        let per_item =
            opcode.has_scalars() as usize * SCALAR_BYTES + opcode.data_elements() * FP_BYTES;
        self.lanes as usize * rounds as usize * self.items_per_run(opcode) * per_item
    }

    /// Bytes of a job's output in host memory.
    pub fn output_bytes(&self, opcode: Opcode, rounds: u32) -> usize {
        4 * self.output_words(opcode, rounds)
    }

    /// [`Shape::input_stream`] in the compact byte encoding the device reads by DMA, written
    /// straight from the items (no word stream in between): its rounds and bytes.
    pub fn input_bytes_stream(
        &self,
        opcode: Opcode,
        items: &[u32],
    ) -> Result<(u32, Vec<u8>), LayoutError> {
        let (rounds, len) = self.input_layout(opcode, items)?;
        let mut bytes = vec![0u8; len];
        self.write_input_bytes(opcode, items, rounds, &mut bytes);
        Ok((rounds, bytes))
    }

    /// The rounds of a job of `items` and the bytes of its compact input.
    pub fn input_layout(&self, opcode: Opcode, items: &[u32]) -> Result<(u32, usize), LayoutError> {
        let rounds = self.job_rounds(opcode, items)?;
        Ok((rounds, self.input_bytes(opcode, rounds)))
    }

    /// [`Shape::input_bytes_stream`]'s bytes written into `out`, [`Shape::input_layout`]'s
    /// length for these `items` and `rounds`: every byte of it, so that it can be a job's DMA
    /// slot still holding an earlier job's input. For the bucket job's steps (kilobytes per
    /// item) writing them once, in place, rather than into a fresh buffer then copying that
    /// in, is most of the host's stream work.
    pub fn write_input_bytes(&self, opcode: Opcode, items: &[u32], rounds: u32, out: &mut [u8]) {
        self.place_items(opcode, items, rounds, |n, words| {
            let at = self.element_byte_offset(opcode, n);
            for (chunk, word) in out[at..at + 4 * words.len()].chunks_exact_mut(4).zip(words) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
        });
    }

    /// Where element `n` of the input stream starts in the compact encoding: the element
    /// groups before it (all lanes' element e of a run, [`SCALAR_BYTES`] per lane for a
    /// scalar group, [`FP_BYTES`] otherwise), then the lanes before it in its group.
    fn element_byte_offset(&self, opcode: Opcode, n: usize) -> usize {
        let lanes = self.lanes as usize;
        let (group, lane) = (n / lanes, n % lanes);
        let scalar_groups = if opcode.has_scalars() {
            group.div_ceil(item_elements(opcode))
        } else {
            0
        };
        let element_bytes = if self.is_scalar_element(opcode, n) {
            SCALAR_BYTES
        } else {
            FP_BYTES
        };
        lanes * (scalar_groups * SCALAR_BYTES + (group - scalar_groups) * FP_BYTES)
            + lane * element_bytes
    }

    /// The most rounds of `opcode` one job may have (0 if not even one fits).
    pub fn max_rounds(&self, opcode: Opcode) -> u32 {
        let by_input = self.in_words as usize / self.input_words(opcode, 1).max(1);
        let fits_output = |r: usize| self.output_words(opcode, r as u32) <= self.out_words as usize;
        if opcode.is_sum() {
            if fits_output(1) {
                by_input as u32
            } else {
                0
            }
        } else {
            let by_output = self.out_words as usize / self.output_words(opcode, 1).max(1);
            by_input.min(by_output) as u32
        }
    }

    /// The most items of `opcode` one job may have.
    pub fn max_items(&self, opcode: Opcode) -> usize {
        self.max_rounds(opcode) as usize * self.items_per_round(opcode)
    }

    /// Where element `e` of run-slot `slot` of round `round` of `lane` sits in the stream.
    fn input_position(&self, opcode: Opcode, round: usize, lane: usize, element: usize) -> usize {
        (round * self.run_elements(opcode) + element) * self.lanes as usize + lane
    }

    /// Lays out `items` (concatenated in [`Opcode::item_words`] format) as the input stream;
    /// returns the job's rounds and its element words (see [`Shape::input_bytes_stream`] for
    /// the bytes the device reads).
    pub fn input_stream(
        &self,
        opcode: Opcode,
        items: &[u32],
    ) -> Result<(u32, Vec<u32>), LayoutError> {
        let rounds = self.job_rounds(opcode, items)?;
        let mut stream = vec![0u32; self.input_words(opcode, rounds)];
        self.place_items(opcode, items, rounds, |n, words| {
            let at = n * FP_WORDS;
            stream[at..at + words.len()].copy_from_slice(words);
        });
        Ok((rounds, stream))
    }

    /// The rounds of a job of `items`, if they are whole items, at least one, and fit.
    fn job_rounds(&self, opcode: Opcode, items: &[u32]) -> Result<u32, LayoutError> {
        let item_words = opcode.item_words();
        if !items.len().is_multiple_of(item_words) {
            return Err(LayoutError::Ragged {
                words: items.len(),
                item_words,
            });
        }
        let count = items.len() / item_words;
        if count == 0 {
            return Err(LayoutError::Empty);
        }
        let rounds = self.rounds(opcode, count);
        let max_rounds = self.max_rounds(opcode);
        if rounds > max_rounds {
            return Err(LayoutError::TooLarge {
                items: count,
                rounds,
                max_rounds,
            });
        }
        Ok(rounds)
    }

    /// Calls `place(n, words)` for each element of a job of `rounds` rounds: `n` its number in
    /// the stream, `words` its words (a scalar's [`SCALAR_WORDS`], a coordinate's
    /// [`FP_WORDS`]), padding included.
    fn place_items(
        &self,
        opcode: Opcode,
        items: &[u32],
        rounds: u32,
        mut place: impl FnMut(usize, &[u32]),
    ) {
        let item_words = opcode.item_words();
        let (per_run, lanes) = (self.items_per_run(opcode), self.lanes as usize);
        let padded = rounds as usize * self.items_per_round(opcode);
        let padding = padding_item(opcode);
        let first = opcode.has_scalars() as usize;
        for i in 0..padded {
            let (run, slot) = (i / per_run, i % per_run);
            let (round, lane) = (run / lanes, run % lanes);
            let item = items
                .get(i * item_words..(i + 1) * item_words)
                .unwrap_or(&padding);
            let (scalar, data) = item.split_at(first * SCALAR_WORDS);
            let element = |e: usize| {
                self.input_position(opcode, round, lane, slot * item_elements(opcode) + e)
            };
            if opcode.has_scalars() {
                place(element(0), scalar);
            }
            for (e, coordinate) in data.chunks_exact(FP_WORDS).enumerate() {
                place(element(first + e), coordinate);
            }
        }
    }

    /// The results in an output stream of a job of `rounds` rounds and `items` items:
    /// per-item opcodes → one result per item in item order; sums → one partial result per
    /// lane, whose sum (MillerLoop: product) is the job's result. Each in
    /// [`Opcode::result_words`] format.
    pub fn results(
        &self,
        opcode: Opcode,
        rounds: u32,
        items: usize,
        stream: &[u32],
    ) -> Result<Vec<u32>, LayoutError> {
        let expected = self.output_words(opcode, rounds);
        if stream.len() != expected {
            return Err(LayoutError::OutputLength {
                expected,
                got: stream.len(),
            });
        }
        let lanes = self.lanes as usize;
        let elements = opcode.result_words() / FP_WORDS;
        let points = if opcode.is_sum() { lanes } else { items };
        let mut out = Vec::with_capacity(points * opcode.result_words());
        for p in 0..points {
            // Point p is lane p mod K's output number p / K (sums: each lane's only one).
            let (round, lane) = (p / lanes, p % lanes);
            for c in 0..elements {
                let at = ((round * elements + c) * lanes + lane) * FP_WORDS;
                out.extend_from_slice(&stream[at..at + FP_WORDS]);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Shape = Shape {
        lanes: 4,
        aggregate_fanin: 3,
        in_words: 4 * 12 * 9 * 2,
        out_words: 4 * 72 * 2,
    };

    /// An item whose every word names it: item i's word w is i << 16 | w (w ≥ 1 so that no
    /// word of a real item is 0 and padding is told apart).
    fn items(opcode: Opcode, n: usize) -> Vec<u32> {
        (0..n)
            .flat_map(|i| (0..opcode.item_words()).map(move |w| (i as u32) << 16 | (w as u32 + 1)))
            .collect()
    }

    #[test]
    fn aggregate_items_are_dealt_to_lanes_and_padded_with_infinity() {
        let op = Opcode::AggregateG1;
        assert_eq!(SHAPE.max_rounds(op), 2);
        let (rounds, stream) = SHAPE.input_stream(op, &items(op, 13)).unwrap();
        assert_eq!(rounds, 2);
        assert_eq!(stream.len(), 4 * 2 * 9 * 12);
        // Element n belongs to lane n mod 4; lane 1's first run holds items 3, 4, 5.
        let element = |n: usize| &stream[n * 12..n * 12 + 12];
        assert_eq!(element(1)[0], 3 << 16 | 1);
        assert_eq!(element(4 + 1)[0], 3 << 16 | 13);
        assert_eq!(element(3 * 4 + 1)[0], 4 << 16 | 1);
        // Item 12 is lane 0's second run, slot 0; slot 1 is padding: X = 0, Y = 1, Z = 0.
        assert_eq!(element(9 * 4)[0], 12 << 16 | 1);
        assert!(element(12 * 4).iter().all(|w| *w == 0));
        assert_eq!(element(13 * 4), &ONE_MONT_WORDS);
        assert!(element(14 * 4).iter().all(|w| *w == 0));
    }

    #[test]
    fn scalar_items_keep_scalar_and_point_together() {
        let op = Opcode::ScalarMulG2;
        let (rounds, stream) = SHAPE.input_stream(op, &items(op, 6)).unwrap();
        assert_eq!(rounds, 2);
        let element = |n: usize| &stream[n * 12..n * 12 + 12];
        // Item 5 is lane 1, round 1: its scalar is element 7 of that lane's stream.
        assert_eq!(&element(7 * 4 + 1)[..3], &[5 << 16 | 1, 5 << 16 | 2, 0]);
        assert_eq!(element(8 * 4 + 1)[0], 5 << 16 | 3);
        // Padding (item 7: lane 3, round 1): scalar 0, Y.c0 = 1.
        assert!(element(7 * 4 + 3).iter().all(|w| *w == 0));
        assert_eq!(element(10 * 4 + 3), &ONE_MONT_WORDS);
    }

    #[test]
    fn results_follow_the_lanes_back_to_items() {
        let op = Opcode::ScalarMulG1;
        let rounds = 2;
        // Output element n is lane n mod 4's element n / 4; make each word say (lane, element).
        let stream: Vec<u32> = (0..SHAPE.output_words(op, rounds) / 12)
            .flat_map(|n| std::iter::repeat_n((((n % 4) << 8) | (n / 4)) as u32, 12))
            .collect();
        let out = SHAPE.results(op, rounds, 6, &stream).unwrap();
        assert_eq!(out.len(), 6 * 36);
        // Item 5 = lane 1, its second point: lane elements 3, 4, 5.
        assert_eq!(
            [out[5 * 36], out[5 * 36 + 12], out[5 * 36 + 24]],
            [1 << 8 | 3, 1 << 8 | 4, 1 << 8 | 5]
        );
        let sums = SHAPE
            .results(Opcode::AggregateG1, 1, 13, &stream[..4 * 36])
            .unwrap();
        assert_eq!(sums.len(), 4 * 36);
        assert_eq!(sums[2 * 36 + 12], 2 << 8 | 1);
    }

    #[test]
    fn the_compact_encoding_keeps_two_words_of_a_scalar() {
        let op = Opcode::ScalarMulG1;
        let (rounds, words) = SHAPE.input_stream(op, &items(op, 5)).unwrap();
        let (_, bytes) = SHAPE.input_bytes_stream(op, &items(op, 5)).unwrap();
        assert_eq!(bytes.len(), SHAPE.input_bytes(op, rounds));
        assert_eq!(bytes.len(), 4 * 2 * (8 + 3 * 48));
        // Lanes' scalars first (8 bytes each), then their X coordinates in full.
        assert_eq!(&bytes[8..12], &words[12].to_le_bytes());
        assert_eq!(&bytes[32..36], &words[4 * 12].to_le_bytes());
        assert!(SHAPE.is_scalar_element(op, 3) && !SHAPE.is_scalar_element(op, 4));
        assert!(SHAPE.is_scalar_element(op, 16) && !SHAPE.is_scalar_element(op, 15));
        let agg = Opcode::AggregateG1;
        assert_eq!(SHAPE.input_bytes(agg, 1), 4 * 3 * 3 * 48);
        assert!(!SHAPE.is_scalar_element(agg, 0));
    }

    #[test]
    fn the_byte_stream_is_the_word_stream_compacted() {
        let verify = Shape {
            lanes: 5,
            aggregate_fanin: 3,
            in_words: 5 * 7 * 12 * 3,
            out_words: 5 * 144 * 3,
        };
        for (shape, op) in [
            (SHAPE, Opcode::ScalarMulG2),
            (SHAPE, Opcode::AggregateG1),
            (verify, Opcode::BucketSumG2),
            (verify, Opcode::MillerLoop),
            (verify, Opcode::HashToG2),
        ] {
            let n = shape.max_items(op) - 1;
            let (rounds, words) = shape.input_stream(op, &items(op, n)).unwrap();
            let (_, bytes) = shape.input_bytes_stream(op, &items(op, n)).unwrap();
            let compacted: Vec<u8> = words
                .chunks_exact(FP_WORDS)
                .enumerate()
                .flat_map(|(e, element)| {
                    let keep = match shape.is_scalar_element(op, e) {
                        true => SCALAR_WORDS,
                        false => FP_WORDS,
                    };
                    element[..keep].iter().flat_map(|w| w.to_le_bytes())
                })
                .collect();
            assert_eq!(bytes, compacted, "{op:?}");
            assert_eq!(bytes.len(), shape.input_bytes(op, rounds));
            // Written in place over a slot that held something else: every byte is the job's.
            let mut slot = vec![0xA5; bytes.len()];
            shape.write_input_bytes(op, &items(op, n), rounds, &mut slot);
            assert_eq!(slot, bytes, "{op:?} in place");
        }
    }

    #[test]
    fn verification_items_are_padded_with_their_neutral_items() {
        let shape = Shape {
            lanes: 5,
            aggregate_fanin: 3,
            in_words: 5 * 6 * 12 * 2,
            out_words: 5 * 144,
        };
        let op = Opcode::MillerLoop;
        let (rounds, stream) = shape.input_stream(op, &items(op, 7)).unwrap();
        assert_eq!(rounds, 2);
        assert_eq!(stream.len(), shape.input_words(op, 2));
        let element = |n: usize| &stream[n * 12..n * 12 + 12];
        // Item 6 is lane 1's second run: its P.x is element 6 of the lane's stream.
        assert_eq!(element(6 * 5 + 1)[0], 6 << 16 | 1);
        // Item 8 (lane 3, round 1) is padding: P = (0, 0), Q = the generator.
        assert!(element(6 * 5 + 3).iter().all(|w| *w == 0));
        assert!(element(7 * 5 + 3).iter().all(|w| *w == 0));
        for (c, words) in G2_GENERATOR_WORDS.iter().enumerate() {
            assert_eq!(element((8 + c) * 5 + 3), words);
        }
        // One Fp12 per lane comes back; per-item opcodes return one result per item.
        assert_eq!(shape.output_words(op, 2), 5 * 144);
        assert_eq!(shape.output_words(Opcode::DecodeG2, 2), 2 * 5 * 72);
        assert_eq!(shape.input_bytes(Opcode::HashToG2, 1), 5 * 4 * 48);
        let (_, padded) = shape
            .input_stream(Opcode::HashToG2, &items(Opcode::HashToG2, 1))
            .unwrap();
        // Item 0 is lane 0's; the other lanes' u0, u1 are zero.
        assert!(padded
            .chunks(12)
            .enumerate()
            .all(|(n, e)| n % 5 == 0 || e.iter().all(|w| *w == 0)));
    }

    #[test]
    fn bad_jobs_are_refused() {
        let op = Opcode::AggregateG2;
        assert_eq!(SHAPE.input_stream(op, &[]), Err(LayoutError::Empty));
        assert!(matches!(
            SHAPE.input_stream(op, &[1, 2, 3]),
            Err(LayoutError::Ragged { .. })
        ));
        let too_many = SHAPE.max_items(op) + 1;
        assert!(matches!(
            SHAPE.input_stream(op, &items(op, too_many)),
            Err(LayoutError::TooLarge { .. })
        ));
        assert!(matches!(
            SHAPE.results(op, 1, 1, &[0; 5]),
            Err(LayoutError::OutputLength { .. })
        ));
    }
}
