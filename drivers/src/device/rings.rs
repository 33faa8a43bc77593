//! The host's half of the rings (ABI 3): where the submission ring, the completion ring and
//! each job slot's buffers sit in the DMA region, and the indices and phase the host keeps.
//!
//! Region layout: the submission ring, the completion ring, then one slot per job the host
//! keeps in flight: `[input][guard][output][guard]`. The guards are filled with
//! [`GUARD_BYTE`] and checked after every job: a device that writes past a job's output
//! buffer is caught, not trusted. The guard after a job's output starts where that job's
//! output ends (not at the end of the slot's capacity), so a write even one beat past a small
//! job's output shows.

use tollgate_abi::layout::Shape;
use tollgate_abi::{mem, CompletionEntry, Opcode, ENTRY_WORDS};

/// Bytes of each guard band.
pub const GUARD_BYTES: usize = 64;
/// What a guard band holds.
pub const GUARD_BYTE: u8 = 0xA5;

/// Where a job slot's buffers are in the DMA region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Offset of the input buffer.
    pub input: usize,
    /// Offset of the output buffer (a guard band before and after it).
    pub output: usize,
    /// Bytes the output buffer holds.
    pub output_capacity: usize,
}

/// The DMA region's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// log2 of the ring entries.
    pub ring_log2: u32,
    /// Offset of the submission ring.
    pub sq: usize,
    /// Offset of the completion ring.
    pub cq: usize,
    /// The job slots (one per job in flight).
    pub slots: Vec<Slot>,
    /// Bytes of the whole region.
    pub bytes: usize,
}

fn beat_align(bytes: usize) -> usize {
    bytes.next_multiple_of(mem::BEAT_BYTES)
}

impl Layout {
    /// Room for `in_flight` jobs of the largest size `shape` allows (rings of the smallest
    /// power of two above `in_flight`: a ring keeps one entry free).
    pub fn new(shape: &Shape, in_flight: usize) -> Layout {
        let in_flight = in_flight.max(1);
        let ring_log2 = (in_flight + 1).next_power_of_two().trailing_zeros();
        let entries = 1usize << ring_log2;
        let largest = |bytes: fn(&Shape, Opcode, u32) -> usize| {
            Opcode::ALL
                .iter()
                .map(|op| bytes(shape, *op, shape.max_rounds(*op)))
                .max()
                .unwrap_or(0)
        };
        let input_capacity = beat_align(largest(Shape::input_bytes));
        let output_capacity = beat_align(largest(Shape::output_bytes));
        let sq = 0;
        let cq = entries * mem::BEAT_BYTES;
        let mut at = cq + entries * mem::BEAT_BYTES;
        let slots = (0..in_flight)
            .map(|_| {
                let input = at;
                let output = input + input_capacity + GUARD_BYTES;
                at = output + output_capacity + GUARD_BYTES;
                Slot {
                    input,
                    output,
                    output_capacity,
                }
            })
            .collect();
        Layout {
            ring_log2,
            sq,
            cq,
            slots,
            bytes: at,
        }
    }

    /// Entries of each ring.
    pub fn entries(&self) -> u32 {
        1 << self.ring_log2
    }

    /// The guard bands around an output of `output_bytes` in slot `slot`: (offset, length)
    /// pairs, one just before the buffer and one just after the output.
    pub fn guards(&self, slot: usize, output_bytes: usize) -> [(usize, usize); 2] {
        let s = &self.slots[slot];
        [
            (s.output - GUARD_BYTES, GUARD_BYTES),
            (s.output + output_bytes.min(s.output_capacity), GUARD_BYTES),
        ]
    }
}

/// The host's ring indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingState {
    /// Next submission slot.
    pub sq_tail: u32,
    /// Next completion slot to consume.
    pub cq_head: u32,
    /// The phase a new completion in `cq_head` carries.
    pub phase: bool,
}

impl RingState {
    /// Both rings empty, first lap (the device's state after a reset).
    pub fn reset() -> RingState {
        RingState {
            sq_tail: 0,
            cq_head: 0,
            phase: true,
        }
    }

    /// Takes submission slot `sq_tail`; returns it and the new tail (the doorbell value).
    pub fn push(&mut self, entries: u32) -> (u32, u32) {
        let slot = self.sq_tail;
        self.sq_tail = (slot + 1) % entries;
        (slot, self.sq_tail)
    }

    /// The completion in `cq_head`, if the device has written it (its phase is ours).
    pub fn new_completion(&self, words: &[u32; ENTRY_WORDS]) -> Option<CompletionEntry> {
        let entry = CompletionEntry::decode(words);
        (entry.phase == self.phase).then_some(entry)
    }

    /// Consumes the completion in `cq_head`; returns the new head (for CQ_HEAD).
    pub fn pop(&mut self, entries: u32) -> u32 {
        self.cq_head = (self.cq_head + 1) % entries;
        if self.cq_head == 0 {
            self.phase = !self.phase;
        }
        self.cq_head
    }
}

/// Little-endian bytes of a ring entry.
pub fn entry_bytes(words: &[u32; ENTRY_WORDS]) -> [u8; mem::BEAT_BYTES] {
    let mut bytes = [0; mem::BEAT_BYTES];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    bytes
}

/// Words of a ring entry read from memory.
pub fn entry_words(bytes: &[u8; mem::BEAT_BYTES]) -> [u32; ENTRY_WORDS] {
    let mut words = [0; ENTRY_WORDS];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_abi::CompletionStatus;

    const SHAPE: Shape = Shape {
        lanes: 40,
        aggregate_fanin: 3,
        in_words: 8192 * 12,
        out_words: 8192 * 12,
    };

    #[test]
    fn slots_are_aligned_disjoint_and_guarded() {
        let layout = Layout::new(&SHAPE, 4);
        assert_eq!(layout.entries(), 8);
        assert_eq!(layout.slots.len(), 4);
        for (i, slot) in layout.slots.iter().enumerate() {
            assert_eq!(slot.input % mem::BEAT_BYTES, 0);
            assert_eq!(slot.output % mem::BEAT_BYTES, 0);
            for op in Opcode::ALL {
                let rounds = SHAPE.max_rounds(op);
                assert!(slot.input + SHAPE.input_bytes(op, rounds) <= layout.guards(i, 0)[0].0);
                assert!(SHAPE.output_bytes(op, rounds) <= slot.output_capacity);
            }
            let [_, after] = layout.guards(i, slot.output_capacity);
            assert!(after.0 + after.1 <= layout.slots.get(i + 1).map_or(layout.bytes, |s| s.input));
        }
        assert!(layout.slots[0].input >= layout.cq + 8 * mem::BEAT_BYTES);
    }

    #[test]
    fn the_phase_flips_at_each_wrap() {
        let mut ring = RingState::reset();
        let done = |phase| {
            CompletionEntry {
                tag: 1,
                status: CompletionStatus::Ok as u32,
                phase,
                error: 0,
                load_cycles: 0,
                compute_cycles: 0,
                store_cycles: 0,
            }
            .encode()
        };
        assert!(ring.new_completion(&done(true)).is_some());
        assert!(ring.new_completion(&done(false)).is_none());
        for _ in 0..3 {
            ring.pop(4);
        }
        assert!(ring.phase);
        assert_eq!(ring.pop(4), 0);
        assert!(!ring.phase && ring.new_completion(&done(false)).is_some());
        assert_eq!(ring.push(4), (0, 1));
        let words = done(true);
        assert_eq!(entry_words(&entry_bytes(&words)), words);
    }
}
