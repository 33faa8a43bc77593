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

use tollgate_abi::{descriptor, error, mem, CompletionEntry, CompletionStatus, ENTRY_WORDS};

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
}
