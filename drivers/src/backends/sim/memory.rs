//! The host memory the simulated device's memory port reaches: one mapped region (what VFIO
//! would map; everything else faults like an IOMMU would), served under a link model, with
//! the device-side faults of [`Fault`].
//!
//! The model knows the rings' addresses (the transport snoops the ring registers), so it can
//! tell a descriptor fetch from an input read and a completion from a result write: that is
//! where the faults strike. The device loads one job while it computes and stores the one
//! before, so a fault follows its job: input reads belong to the job whose descriptor came
//! last, result and completion writes to the oldest job not yet completed.

use std::collections::VecDeque;

use tollgate_abi::{
    descriptor, error, mem, CompletionEntry, CompletionStatus, Descriptor, Opcode, ENTRY_WORDS,
    FP_BYTES, FP_WORDS, SCALAR_BYTES,
};

use crate::transport::fault::Fault;

/// Words of one beat of the memory port.
pub const BEAT_WORDS: usize = mem::BEAT_BYTES / 4;

/// The link between the device and host memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkModel {
    /// Bytes per device clock cycle, each direction.
    pub bytes_per_cycle: f64,
    /// Cycles from a read request to its response, with an idle link.
    pub latency_cycles: u64,
}

impl Default for LinkModel {
    /// PCIe Gen3 x16: 8 GT/s × 16 lanes × 128/130 ≈ 15.75 GB/s raw, ≈ 13 GB/s of payload
    /// after TLP headers at 256-byte payloads; 52 bytes per cycle at 250 MHz (the 32-byte
    /// port, not the link, then bounds a stream). A read round trip of ~1 µs (250 cycles),
    /// the usual measured DMA read latency through a root complex.
    fn default() -> Self {
        LinkModel {
            bytes_per_cycle: 52.0,
            latency_cycles: 250,
        }
    }
}

/// Ring addresses as the driver programmed them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rings {
    /// Submission ring base.
    pub sq_base: u64,
    /// Completion ring base.
    pub cq_base: u64,
    /// log2 of the entries.
    pub log2: u32,
}

impl Rings {
    fn bytes(&self) -> u64 {
        (mem::BEAT_BYTES as u64) << self.log2.min(tollgate_abi::RING_MAX_LOG2)
    }

    fn in_sq(&self, addr: u64) -> bool {
        addr >= self.sq_base && addr - self.sq_base < self.bytes()
    }

    fn in_cq(&self, addr: u64) -> bool {
        addr >= self.cq_base && addr - self.cq_base < self.bytes()
    }
}

struct PendingRead {
    ready_at: u64,
    addr: u64,
    error: bool,
    /// A descriptor fetch, and the fault of its job.
    descriptor: Option<Option<Fault>>,
    /// Never answered until a reset (a hung job).
    held: bool,
}

/// Totals of the traffic, for the benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes the device read.
    pub read_bytes: u64,
    /// Bytes the device wrote.
    pub write_bytes: u64,
    /// Device accesses outside the mapped region (refused; must stay 0).
    pub violations: u64,
}

/// The mapped region and the link.
pub struct HostMemory {
    iova: u64,
    bytes: Vec<u8>,
    link: LinkModel,
    now: u64,
    reads: VecDeque<PendingRead>,
    read_link_free: f64,
    write_link_free: f64,
    /// The rings, as snooped from the register writes.
    pub rings: Rings,
    armed: VecDeque<Option<Fault>>,
    /// The fault of the job being loaded (taken by its first input read if it strikes there).
    loading: Option<Fault>,
    /// The faults of the fetched jobs not yet completed, oldest first.
    jobs: VecDeque<Option<Fault>>,
    /// The output regions (address, bytes, rounds) of fetched DecodeG2 jobs under
    /// [`Fault::DecodeAcceptsAll`], oldest first: their residues are zeroed at completion.
    accepting: VecDeque<Option<(u64, usize, usize)>>,
    traffic: Traffic,
}

/// Where the region is mapped on the device's bus: not 0, so that an address bug shows.
pub const IOVA_BASE: u64 = 0x1_0000_0000;

impl HostMemory {
    /// An empty region under `link`.
    pub fn new(link: LinkModel) -> HostMemory {
        HostMemory {
            iova: IOVA_BASE,
            bytes: Vec::new(),
            link,
            now: 0,
            reads: VecDeque::new(),
            read_link_free: 0.0,
            write_link_free: 0.0,
            rings: Rings::default(),
            armed: VecDeque::new(),
            loading: None,
            jobs: VecDeque::new(),
            accepting: VecDeque::new(),
            traffic: Traffic::default(),
        }
    }

    /// Maps a zeroed region of `len` bytes; returns its bus address.
    pub fn map(&mut self, len: usize) -> u64 {
        self.bytes = vec![0; len];
        self.iova
    }

    /// The region, as the host sees it.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The region, to write.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Traffic so far.
    pub fn traffic(&self) -> Traffic {
        self.traffic
    }

    /// The link model in force.
    pub fn link(&self) -> LinkModel {
        self.link
    }

    /// Changes the link model.
    pub fn set_link(&mut self, link: LinkModel) {
        self.link = link;
    }

    /// A fault (or none) for the job of the next doorbell.
    pub fn arm(&mut self, fault: Option<Fault>) {
        self.armed.push_back(fault);
    }

    /// A soft reset dropped every job: forget their faults; reads of a hung job now fail as
    /// a PCIe completion timeout would. A full reset also forgets the reads (the device's
    /// count of outstanding reads is reset with it).
    pub fn reset_jobs(&mut self, full: bool) {
        self.armed.clear();
        self.loading = None;
        self.jobs.clear();
        self.accepting.clear();
        if full {
            self.reads.clear();
        }
        for read in &mut self.reads {
            if read.held {
                read.held = false;
                read.error = true;
                read.ready_at = self.now;
            }
        }
    }

    /// One clock cycle passed.
    pub fn advance(&mut self) {
        self.now += 1;
    }

    fn offset(&self, addr: u64) -> Option<usize> {
        let offset = usize::try_from(addr.checked_sub(self.iova)?).ok()?;
        (offset.checked_add(mem::BEAT_BYTES)? <= self.bytes.len()).then_some(offset)
    }

    fn beat_cycles(&self) -> f64 {
        mem::BEAT_BYTES as f64 / self.link.bytes_per_cycle.max(1e-3)
    }

    /// The device issued a read of the beat at `addr` in this cycle.
    pub fn request_read(&mut self, addr: u64) {
        let descriptor = self.rings.in_sq(addr).then(|| {
            // The device fetches descriptors in doorbell order: the job starts here.
            let fault = self.armed.pop_front().flatten();
            self.loading = fault;
            self.jobs.push_back(fault);
            fault
        });
        if let Some(Some(fault @ (Fault::ScalarsIgnored | Fault::ItemDropped | Fault::HashWrong))) =
            descriptor
        {
            self.tamper_input(addr, fault);
        }
        if let Some(Some(Fault::DecodeAcceptsAll)) = descriptor {
            // One entry per such job (none for another opcode's), popped at its completion.
            let region = self
                .descriptor_at(addr)
                .filter(|job| job.opcode == Opcode::DecodeG2 as u32)
                .map(|job| {
                    (
                        job.out_addr,
                        job.out_len as usize,
                        job.rounds.max(1) as usize,
                    )
                });
            self.accepting.push_back(region);
        }
        let mut error = self.offset(addr).is_none();
        if error {
            self.traffic.violations += 1;
        }
        let input = descriptor.is_none();
        let held = input && self.loading == Some(Fault::Hang);
        if input && self.loading == Some(Fault::DmaReadError) {
            error = true;
            self.loading = None;
        }
        let slot = (self.now as f64).max(self.read_link_free) + self.beat_cycles();
        self.read_link_free = slot;
        let ready_at = (self.now + self.link.latency_cycles).max(slot.ceil() as u64);
        self.reads.push_back(PendingRead {
            ready_at,
            addr,
            error,
            descriptor,
            held,
        });
    }

    /// A wrong-input fault: the job's input, as the device will read it, rewritten in place
    /// when its descriptor is fetched (the driver never reads an input back). The compact
    /// layout (`tollgate_abi::layout`) per round: every lane's scalar (opcodes with scalars),
    /// then every lane's first data element, and so on; the lane count follows from the
    /// descriptor's length.
    fn tamper_input(&mut self, descriptor_addr: u64, fault: Fault) {
        let Some(job) = self.descriptor_at(descriptor_addr) else {
            return;
        };
        let Some(opcode) = Opcode::from_u32(job.opcode).filter(|op| tampers(fault, *op)) else {
            return;
        };
        let scalars = usize::from(opcode.has_scalars());
        let elements = scalars + opcode.data_elements();
        let item_bytes = scalars * SCALAR_BYTES + opcode.data_elements() * FP_BYTES;
        let rounds = job.rounds.max(1) as usize;
        let lanes = job.in_len as usize / (rounds * item_bytes);
        let Some(base) = self
            .offset(job.in_addr)
            .filter(|base| base + job.in_len as usize <= self.bytes.len())
        else {
            return;
        };
        // Item i's element e (the scalar first, if any, then the Fp elements).
        let element = |item: usize, e: usize| {
            let (round, lane) = (item / lanes, item % lanes);
            let (start, size) = match e < scalars {
                true => (0, SCALAR_BYTES),
                false => (
                    lanes * (scalars * SCALAR_BYTES + (e - scalars) * FP_BYTES),
                    FP_BYTES,
                ),
            };
            let at = base + round * lanes * item_bytes + start + lane * size;
            at..at + size
        };
        match fault {
            Fault::ScalarsIgnored => {
                for item in 0..lanes * rounds {
                    self.bytes[element(item, 0)].copy_from_slice(&1u64.to_le_bytes());
                }
            }
            Fault::ItemDropped | Fault::HashWrong if lanes * rounds > 1 => {
                for e in 0..elements {
                    let (from, to) = (element(1, e), element(0, e));
                    self.bytes.copy_within(from, to.start);
                }
            }
            _ => {}
        }
    }

    /// The descriptor at `addr`, if it lies in the region.
    fn descriptor_at(&self, addr: u64) -> Option<Descriptor> {
        let at = self.offset(addr)?;
        let mut words = [0u32; ENTRY_WORDS];
        for (i, word) in words.iter_mut().enumerate() {
            let bytes = &self.bytes[at + 4 * i..at + 4 * i + 4];
            *word = u32::from_le_bytes(bytes.try_into().unwrap_or_default());
        }
        Some(Descriptor::decode(&words))
    }

    /// [`Fault::DecodeAcceptsAll`] at the job's completion: its results' residue elements
    /// (result elements 2..6 of each round: curve.c0, curve.c1, subgroup.c0, subgroup.c1;
    /// the output stream holds every lane's element c of a round, then c + 1) set to zero.
    fn accept_all(&mut self) {
        let Some(Some((addr, len, rounds))) = self.accepting.pop_front() else {
            return;
        };
        let Some(base) = self
            .offset(addr)
            .filter(|base| base + len <= self.bytes.len())
        else {
            return;
        };
        let elements = Opcode::DecodeG2.result_words() / FP_WORDS;
        let group = len / (rounds * elements);
        for round in 0..rounds {
            let residues = base + (round * elements + 2) * group;
            self.bytes[residues..residues + (elements - 2) * group].fill(0);
        }
    }

    /// The response the port presents in this cycle, if one is due: the beat and its error.
    pub fn response(&self) -> Option<([u32; BEAT_WORDS], bool)> {
        let read = self.reads.front()?;
        if read.held || read.ready_at > self.now {
            return None;
        }
        let mut beat = [0u32; BEAT_WORDS];
        if read.error {
            return Some((beat, true));
        }
        let offset = self.offset(read.addr)?;
        for (i, word) in beat.iter_mut().enumerate() {
            let at = offset + 4 * i;
            *word = u32::from_le_bytes(self.bytes[at..at + 4].try_into().unwrap_or_default());
        }
        if read.descriptor == Some(Some(Fault::DescriptorOutside)) {
            // The input now starts just past the region: outside the window.
            let end = self.iova + self.bytes.len() as u64;
            let field = descriptor::IN_ADDR;
            beat[field.word] = end as u32;
            beat[field.word + 1] = (end >> 32) as u32;
        }
        Some((beat, false))
    }

    /// The device took the response presented in this cycle.
    pub fn pop_response(&mut self) {
        if let Some(read) = self.reads.pop_front() {
            if !read.error {
                self.traffic.read_bytes += mem::BEAT_BYTES as u64;
            }
        }
    }

    /// Whether the write channel takes a beat in this cycle.
    pub fn write_ready(&self) -> bool {
        self.write_link_free <= self.now as f64
    }

    /// The device wrote `beat` at `addr` in this cycle.
    pub fn write(&mut self, addr: u64, mut beat: [u32; BEAT_WORDS]) {
        self.write_link_free = (self.now as f64).max(self.write_link_free) + self.beat_cycles();
        let completion = self.rings.in_cq(addr);
        let mut also = None;
        if completion {
            match self.jobs.pop_front().flatten() {
                Some(Fault::CompletionLost) | Some(Fault::Hang) => return,
                Some(Fault::DecodeAcceptsAll) => self.accept_all(),
                Some(Fault::ErrorStatus) => {
                    let mut entry = CompletionEntry::decode(&entry_words(&beat));
                    entry.status = CompletionStatus::Failed as u32;
                    entry.error |= error::INTERNAL;
                    beat = entry.encode();
                }
                Some(Fault::CompletionTwice) => {
                    let next =
                        (addr - self.rings.cq_base + mem::BEAT_BYTES as u64) % self.rings.bytes();
                    also = Some(self.rings.cq_base + next);
                }
                // Any other fault of the job ends with its completion.
                _ => {}
            }
        } else if let Some(fault @ Some(Fault::CorruptResult)) = self.jobs.front_mut() {
            beat[0] ^= 1;
            *fault = None;
        }
        for at in std::iter::once(addr).chain(also) {
            match self.offset(at) {
                Some(offset) => {
                    for (i, word) in beat.iter().enumerate() {
                        self.bytes[offset + 4 * i..offset + 4 * i + 4]
                            .copy_from_slice(&word.to_le_bytes());
                    }
                    self.traffic.write_bytes += mem::BEAT_BYTES as u64;
                }
                None => self.traffic.violations += 1,
            }
        }
    }
}

/// Whether the wrong-input `fault` rewrites a job of `opcode`'s input: the blinding faults
/// strike the jobs with scalars, [`Fault::HashWrong`] the hashing.
fn tampers(fault: Fault, opcode: Opcode) -> bool {
    match fault {
        Fault::ScalarsIgnored | Fault::ItemDropped => opcode.has_scalars(),
        Fault::HashWrong => opcode == Opcode::HashToG2,
        _ => false,
    }
}

fn entry_words(beat: &[u32; BEAT_WORDS]) -> [u32; ENTRY_WORDS] {
    let mut words = [0; ENTRY_WORDS];
    words.copy_from_slice(&beat[..ENTRY_WORDS]);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> HostMemory {
        let mut m = HostMemory::new(LinkModel {
            bytes_per_cycle: 16.0,
            latency_cycles: 10,
        });
        m.map(4096);
        m.rings = Rings {
            sq_base: IOVA_BASE,
            cq_base: IOVA_BASE + 256,
            log2: 3,
        };
        m
    }

    fn answers(m: &mut HostMemory, cycles: u64) -> Vec<u64> {
        let mut answered = vec![];
        for cycle in 0..cycles {
            if let Some((_, error)) = m.response() {
                assert!(!error);
                answered.push(cycle);
                m.pop_response();
            }
            m.advance();
        }
        answered
    }

    #[test]
    fn reads_pay_the_latency_and_the_bandwidth() {
        let mut m = memory();
        m.bytes_mut()[1024] = 0xAB;
        m.request_read(IOVA_BASE + 1024);
        assert_eq!(m.response(), None);
        for _ in 0..10 {
            m.advance();
        }
        assert_eq!(m.response().map(|(beat, _)| beat[0]), Some(0xAB));
        m.pop_response();
        // Latency 2: the link's 16 bytes per cycle (2 cycles a beat) bounds the stream.
        m.set_link(LinkModel {
            bytes_per_cycle: 16.0,
            latency_cycles: 2,
        });
        let start = m.now;
        for i in 0..4 {
            m.request_read(IOVA_BASE + 32 * i);
        }
        let answered: Vec<u64> = answers(&mut m, 20).iter().map(|c| c + start).collect();
        assert_eq!(answered, vec![start + 2, start + 4, start + 6, start + 8]);
    }

    #[test]
    fn accesses_outside_the_region_fault_and_are_counted() {
        let mut m = memory();
        m.request_read(IOVA_BASE + 4096);
        m.write(IOVA_BASE - 32, [1; BEAT_WORDS]);
        for _ in 0..20 {
            m.advance();
        }
        assert_eq!(m.response().map(|(_, e)| e), Some(true));
        assert_eq!(m.traffic().violations, 2);
        assert!(m.bytes().iter().all(|b| *b == 0));
    }

    #[test]
    fn completion_faults_strike_the_completion_ring() {
        let mut m = memory();
        m.arm(Some(Fault::CompletionTwice));
        m.request_read(IOVA_BASE);
        let entry = CompletionEntry {
            tag: 9,
            status: 0,
            phase: true,
            error: 0,
            load_cycles: 0,
            compute_cycles: 0,
            store_cycles: 0,
        };
        m.write(IOVA_BASE + 256 + 7 * 32, entry.encode());
        // The last slot's twin lands in slot 0 (the ring wraps).
        let slot0 = u32::from_le_bytes(m.bytes()[256..260].try_into().unwrap());
        assert_eq!(slot0 & 0xFFFF, 9);
        m.arm(Some(Fault::CompletionLost));
        m.request_read(IOVA_BASE + 32);
        m.write(IOVA_BASE + 256 + 32, entry.encode());
        assert!(m.bytes()[256 + 32..256 + 64].iter().all(|b| *b == 0));
    }

    const SHAPE: tollgate_abi::layout::Shape = tollgate_abi::layout::Shape {
        lanes: 4,
        aggregate_fanin: 3,
        in_words: 1 << 14,
        out_words: 1 << 14,
    };

    /// Item i's words, distinct everywhere: scalar i + 2, coordinates naming item and word.
    fn items(opcode: Opcode, n: usize) -> Vec<Vec<u32>> {
        (0..n)
            .map(|i| {
                let mut item = vec![i as u32 + 2, 0];
                item.extend((2..opcode.item_words()).map(|w| (i as u32) << 16 | w as u32));
                item
            })
            .collect()
    }

    /// The device's view of a job of `items` after `fault` struck its descriptor fetch.
    fn tampered(opcode: Opcode, items: &[Vec<u32>], fault: Fault) -> Vec<u8> {
        let (rounds, input) = SHAPE.input_bytes_stream(opcode, &items.concat()).unwrap();
        let mut m = memory();
        let in_at = 1024;
        m.bytes_mut()[in_at..in_at + input.len()].copy_from_slice(&input);
        let job = Descriptor {
            opcode: opcode as u32,
            rounds,
            tag: 1,
            in_addr: IOVA_BASE + in_at as u64,
            in_len: input.len() as u32,
            out_addr: IOVA_BASE + 3072,
            out_len: 32,
        };
        for (i, word) in job.encode().iter().enumerate() {
            m.bytes_mut()[4 * i..4 * i + 4].copy_from_slice(&word.to_le_bytes());
        }
        m.arm(Some(fault));
        m.request_read(IOVA_BASE);
        m.bytes()[in_at..in_at + input.len()].to_vec()
    }

    /// The input bytes of `items` as the host lays them out.
    fn laid_out(opcode: Opcode, items: &[Vec<u32>]) -> Vec<u8> {
        SHAPE.input_bytes_stream(opcode, &items.concat()).unwrap().1
    }

    #[test]
    fn ignored_scalars_are_all_read_as_one() {
        for opcode in [Opcode::ScalarMulG1, Opcode::MultiScalarG2] {
            // 6 items in two rounds of 4 lanes: 2 padding items (scalar 0, infinity), whose
            // scalars read as 1 too.
            let items = items(opcode, 6);
            let mut want = items.clone();
            let point_words = opcode.group().point_words();
            let mut infinity = vec![0; point_words];
            infinity[point_words / 3..point_words / 3 + FP_WORDS]
                .copy_from_slice(&tollgate_abi::layout::ONE_MONT_WORDS);
            want.extend(std::iter::repeat_n([vec![0, 0], infinity].concat(), 2));
            for item in &mut want {
                item[..2].copy_from_slice(&[1, 0]);
            }
            assert_eq!(
                tampered(opcode, &items, Fault::ScalarsIgnored),
                laid_out(opcode, &want)
            );
        }
    }

    #[test]
    fn a_dropped_item_is_read_as_its_neighbour() {
        for opcode in [Opcode::ScalarMulG2, Opcode::MultiScalarG1] {
            let items = items(opcode, 7);
            let mut dropped = items.clone();
            dropped[0] = items[1].clone();
            assert_eq!(
                tampered(opcode, &items, Fault::ItemDropped),
                laid_out(opcode, &dropped)
            );
        }
    }

    #[test]
    fn a_wrong_hash_is_item_0_hashed_as_item_1_and_nothing_else() {
        let messages = items(Opcode::HashToG2, 7);
        let mut wrong = messages.clone();
        wrong[0] = messages[1].clone();
        assert_eq!(
            tampered(Opcode::HashToG2, &messages, Fault::HashWrong),
            laid_out(Opcode::HashToG2, &wrong)
        );
        let keys = items(Opcode::ScalarMulG1, 5);
        let got = tampered(Opcode::ScalarMulG1, &keys, Fault::HashWrong);
        assert_eq!(got, laid_out(Opcode::ScalarMulG1, &keys));
    }

    #[test]
    fn jobs_without_the_wrong_input_fault_are_read_as_written() {
        let items = items(Opcode::ScalarMulG1, 5);
        let got = tampered(Opcode::ScalarMulG1, &items, Fault::CorruptResult);
        assert_eq!(got, laid_out(Opcode::ScalarMulG1, &items));
    }
}
