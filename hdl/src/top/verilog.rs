//! The top level's Verilog body, generated from the ABI and the engine's program table.

use std::fmt::Write as _;

use rust_hdl::prelude::{Direction, Signal, Synth};

use tollgate_abi::layout::Shape;
use tollgate_abi::{
    bus, completion, control, descriptor, error, mem, regs, status, CompletionStatus, Field,
    Opcode, FP_BYTES, FP_WORDS, RING_MAX_LOG2, SCALAR_BYTES,
};
use tollgate_microcode::compile::programs::ProgramKind;

use crate::engine::{range_values, EngineCore, EngineParams, PC_BITS, RANGE_PORTS};
use crate::field::FP_BITS;
use crate::rtl::CLOCK_MHZ;

/// The line of the body that holds the design hash; the generator emits it zero, hashes the
/// text, and substitutes the hash (see `crate::rtl::emit_with_design_hash`).
pub const DESIGN_HASH_LINE: &str = "localparam [255:0] DESIGN_HASH = 256'h0;";

/// What the generated top level is built for.
#[derive(Debug, Clone, Copy)]
pub struct TopParams {
    /// Elements (381-bit words) each of the two input buffers holds.
    pub in_elements: usize,
    /// Elements the output buffer holds.
    pub out_elements: usize,
    /// The engine core behind the register map.
    pub engine: &'static EngineParams,
    /// The opcodes it serves (its CAPABILITIES), each run by its program in the engine's ROM.
    pub opcodes: &'static [Opcode],
}

/// Elements each way of both designs: 3.1 Mbit, ~87 RAMB36 per buffer (three of them: two
/// input banks and the output).
const BUFFER_ELEMENTS: usize = 8192;

impl TopParams {
    /// `tollgate_top`: the standard engine and the curve opcodes. Enough for 2,640 G1 points
    /// of aggregation or 2,040 64-bit G1 scalar multiplications per job.
    pub fn standard() -> TopParams {
        TopParams {
            in_elements: BUFFER_ELEMENTS,
            out_elements: BUFFER_ELEMENTS,
            engine: EngineParams::standard(),
            opcodes: &Opcode::CURVE,
        }
    }

    /// `tollgate_top_verify`: the verification engine ([`EngineParams::verification`],
    /// [`crate::engine::VERIFY_LANES`] lanes) and every stage of a min_pk batch check
    /// ([`Opcode::MIN_PK_BATCH`]). Per job (32 lanes): 1,344 items of decoding, hashing and
    /// Miller pairs (42 rounds: the output buffer bounds the first two, the input buffer the
    /// pairs), 2,048 G1 scalar multiplications, 1,152 steps of Σ rᵢσᵢ (36 rounds).
    pub fn verification() -> TopParams {
        TopParams {
            in_elements: BUFFER_ELEMENTS,
            out_elements: BUFFER_ELEMENTS,
            engine: EngineParams::verification(),
            opcodes: &Opcode::MIN_PK_BATCH,
        }
    }

    /// The stream shape the identity page reports.
    pub fn shape(&self) -> Shape {
        let cfg = self.engine.rom.config;
        Shape {
            lanes: cfg.lanes as u32,
            aggregate_fanin: cfg.accumulators as u32,
            in_words: (self.in_elements * FP_WORDS) as u32,
            out_words: (self.out_elements * FP_WORDS) as u32,
        }
    }
}

/// The width of an engine port, read from its type so the top level follows the engine.
fn port_bits<D: Direction, T: Synth>(_port: fn(&EngineCore) -> &Signal<D, T>) -> usize {
    T::BITS
}

/// The engine program behind each opcode.
fn program(op: Opcode) -> ProgramKind {
    match op {
        Opcode::AggregateG1 => ProgramKind::AggregateG1,
        Opcode::AggregateG2 => ProgramKind::AggregateG2,
        Opcode::MultiScalarG1 => ProgramKind::MultiScalarG1,
        Opcode::MultiScalarG2 => ProgramKind::MultiScalarG2,
        Opcode::ScalarMulG1 => ProgramKind::ScalarMulG1,
        Opcode::ScalarMulG2 => ProgramKind::ScalarMulG2,
        Opcode::DecodeG2 => ProgramKind::DecodeG2,
        Opcode::HashToG2 => ProgramKind::HashToG2,
        Opcode::MillerLoop => ProgramKind::MillerLoop { pairs: 1 },
        Opcode::BucketSumG2 => ProgramKind::BucketSumG2,
    }
}

/// One opcode's row of the job table.
struct Row {
    op: Opcode,
    ranges: [usize; 6],
    in_per_round: usize,
    out_per_round: usize,
    in_bytes_per_round: usize,
    out_bytes_per_round: usize,
    /// Element groups (all lanes' element e) per round: the unpacker's kind cycle.
    groups: usize,
    sum: bool,
    scalars: bool,
    max_rounds: u32,
}

/// The job table, checked against the ABI's layout: what the microcode loads and stores per
/// body run must be exactly what `tollgate_abi::layout` streams.
fn rows(params: &TopParams) -> Vec<Row> {
    let rom = &params.engine.rom;
    let shape = params.shape();
    let lanes = rom.config.lanes;
    params
        .opcodes
        .iter()
        .map(|&op| {
            let e = rom.entry(program(op));
            let in_per_round = shape.input_words(op, 1) / FP_WORDS;
            assert_eq!(
                e.loads_per_item * lanes,
                in_per_round,
                "{op:?}: microcode loads ≠ ABI layout"
            );
            let out_words = shape.output_words(op, 1) / FP_WORDS;
            // Sums store only in the epilogue, per-item programs only in the body.
            let (stores, others) = if op.is_sum() {
                (e.stores_at_end, e.stores_per_item)
            } else {
                (e.stores_per_item, e.stores_at_end)
            };
            assert!(
                others == 0 && stores * lanes == out_words,
                "{op:?}: microcode stores ≠ ABI layout"
            );
            let max_rounds = shape.max_rounds(op);
            assert!(
                (1..256).contains(&max_rounds),
                "{op:?}: {max_rounds} rounds fit the buffers"
            );
            // The unpacker takes a beat of one kind at a time: with scalars, every group of K
            // scalars or K Fp elements must be whole beats; without, the Fp elements run on
            // across groups and only a round must be (pairs of elements). The packer writes
            // pairs of elements.
            let whole_groups = (lanes * SCALAR_BYTES).is_multiple_of(mem::BEAT_BYTES)
                && (lanes * FP_BYTES).is_multiple_of(2 * FP_BYTES);
            assert!(
                (2 * FP_BYTES).is_multiple_of(mem::BEAT_BYTES)
                    && (whole_groups || !op.has_scalars())
                    && in_per_round.is_multiple_of(2)
                    && out_words.is_multiple_of(2),
                "{op:?} on {lanes} lanes does not pack into {}-byte beats",
                mem::BEAT_BYTES
            );
            Row {
                op,
                ranges: range_values(e),
                in_per_round,
                out_per_round: out_words,
                in_bytes_per_round: shape.input_bytes(op, 1),
                out_bytes_per_round: shape.output_bytes(op, 1),
                groups: in_per_round / lanes,
                sum: op.is_sum(),
                scalars: op.has_scalars(),
                max_rounds,
            }
        })
        .collect()
}

/// `always @(*)` lookup of the job table by the opcode in `sel` into `<prefix>_*` regs, either
/// the job's shape (checked at the doorbell) or its microcode ranges (driven while it runs).
fn table(w: &mut String, rows: &[Row], (sel, sel_bits): (&str, usize), prefix: &str, ranges: bool) {
    // Each column as wide as its largest value needs (lengths: the descriptor's field).
    let widest = |f: fn(&Row) -> usize| bits_for(rows.iter().map(f).max().unwrap_or(0)).max(1);
    let len_bits = descriptor::IN_LEN.bits as usize;
    let row_fields = |r: Option<&Row>| -> Vec<(&'static str, usize, usize)> {
        let at = |i: usize| r.map_or(0, |r| r.ranges[i]);
        if ranges {
            RANGE_PORTS
                .into_iter()
                .enumerate()
                .map(|(i, f)| (f, PC_BITS, at(i)))
                .collect()
        } else {
            vec![
                ("valid", 1, r.is_some() as usize),
                ("sum", 1, r.is_some_and(|r| r.sum) as usize),
                ("scalars", 1, r.is_some_and(|r| r.scalars) as usize),
                (
                    "max_rounds",
                    descriptor::ROUNDS.bits as usize,
                    r.map_or(0, |r| r.max_rounds as usize),
                ),
                ("groups", widest(|r| r.groups), r.map_or(0, |r| r.groups)),
                ("in_per_round", len_bits, r.map_or(0, |r| r.in_per_round)),
                ("out_per_round", len_bits, r.map_or(0, |r| r.out_per_round)),
                ("in_bytes", len_bits, r.map_or(0, |r| r.in_bytes_per_round)),
                (
                    "out_bytes",
                    len_bits,
                    r.map_or(0, |r| r.out_bytes_per_round),
                ),
            ]
        }
    };
    for (f, width, _) in row_fields(None) {
        let _ = writeln!(w, "reg [{}:0] {prefix}_{f};", width - 1);
    }
    let assign = |r: Option<&Row>| {
        row_fields(r)
            .iter()
            .map(|(f, width, v)| format!(" {prefix}_{f} = {width}'d{v};"))
            .collect::<String>()
    };
    let _ = writeln!(w, "always @(*) begin\n  case ({sel})");
    for r in rows {
        let _ = writeln!(
            w,
            "    {sel_bits}'d{}: begin{} end",
            r.op as u32,
            assign(Some(r))
        );
    }
    let _ = writeln!(w, "    default: begin{} end\n  endcase\nend", assign(None));
}

fn bits_for(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

/// `[msb:lsb]` of a ring-entry field within the 256-bit beat.
fn slice(f: Field) -> String {
    format!("[{}:{}]", f.msb(), f.lsb())
}

/// The Verilog body of [`super::TollgateTop`] for `params`.
///
/// Read timing: a read sampled on edge 1 is answered on edge 2 (`bus_rvalid` one cycle).
///
/// Two jobs move through the device at once. The loader fetches a descriptor (L_DESC), checks
/// it (L_CHECK), reads the input by DMA into one of two input banks (L_LOAD: the unpacker turns
/// beats into elements) and hands the bank over (L_HAND). The executor runs the engine on the
/// other bank (X_START, X_RUN), writes the output by DMA (X_STORE: element pairs packed into
/// beats) and the completion (X_COMP). So the input of job n + 1 moves while job n computes
/// and stores. A failed job is handed over as a failure and completed by the executor, so
/// completions keep descriptor order. A job whose input read fails while reads are
/// outstanding waits for their responses (L_DRAIN), so that no stale beat lands in the next
/// job.
pub fn top_body(params: &TopParams) -> String {
    let shape = params.shape();
    let rows = rows(params);
    assert!(params.in_elements.is_power_of_two() && params.out_elements.is_power_of_two());
    let (ib, ob) = (bits_for(params.in_elements), bits_for(params.out_elements));
    let fp = FP_BITS;
    let beat = 8 * mem::BEAT_BYTES;
    // Every width below is the ABI's (fields, registers, beats) or the buffers': the text
    // states none of its own. The unpacker and packer move element pairs as three beats.
    assert_eq!(
        2 * FP_BYTES,
        3 * mem::BEAT_BYTES,
        "the unpacker and packer move two elements as three beats"
    );
    assert!(8 * FP_BYTES >= fp && FP_BYTES > mem::BEAT_BYTES);
    let d1 = bus::DATA_BITS - 1;
    let aw1 = mem::ADDR_BITS as usize - 1;
    let bits = |f: Field| f.bits as usize;
    let (opw, rw, tw, lw) = (
        bits(descriptor::OPCODE),
        bits(descriptor::ROUNDS),
        bits(descriptor::TAG),
        bits(descriptor::IN_LEN),
    );
    assert_eq!(lw, bits(descriptor::OUT_LEN));
    assert_eq!(bits(descriptor::IN_ADDR), mem::ADDR_BITS as usize);
    assert_eq!(bits(descriptor::OUT_ADDR), mem::ADDR_BITS as usize);
    assert!(rw <= bus::DATA_BITS && lw <= bus::DATA_BITS && opw <= bus::DATA_BITS);
    let (sw1, ew1, cw1) = (
        bits(completion::STATUS) - 1,
        bits(completion::ERROR) - 1,
        bits(completion::LOAD_CYCLES) - 1,
    );
    assert!(
        [completion::COMPUTE_CYCLES, completion::STORE_CYCLES]
            .iter()
            .all(|f| f.bits as usize == cw1 + 1),
        "the cycle fields share one width"
    );
    let (opw1, rw1, tw1, lw1) = (opw - 1, rw - 1, tw - 1, lw - 1);
    // Beats of a buffer (its length in bytes over the beat).
    let bw = lw - mem::BEAT_BYTES.trailing_zeros() as usize;
    let bw1 = bw - 1;
    // Lane counters are compared with the engine's lane numbers.
    let lane_w = crate::engine::LANE_BITS;
    assert!(shape.lanes as usize <= 1 << lane_w);
    let lane1 = lane_w - 1;
    let scalars_per_beat = mem::BEAT_BYTES / SCALAR_BYTES;
    let sc1 = bits_for(scalars_per_beat - 1) - 1;
    let (scalar_bits, scalar_shift) = (8 * SCALAR_BYTES, (8 * SCALAR_BYTES).trailing_zeros());
    let fp_pad = 8 * FP_BYTES - fp;
    // Bits of the first element in the second beat of a pair, and of the second element.
    let (first_tail, second_head) = (
        8 * (FP_BYTES - mem::BEAT_BYTES),
        8 * (2 * mem::BEAT_BYTES - FP_BYTES),
    );
    let groups_w = bits_for(rows.iter().map(|r| r.groups).max().unwrap_or(1));
    let gw1 = groups_w - 1;
    let pair1 = 2 * 8 * FP_BYTES - 1;
    let ring_bits = RING_MAX_LOG2 as usize;
    let out_bits = bits_for(mem::MAX_OUTSTANDING_READS as usize);
    let capabilities: u32 = params.opcodes.iter().map(|op| op.capability_bit()).sum();
    let bit = |mask: u32| mask.trailing_zeros();
    let mut v = String::new();
    let w = &mut v;

    let _ = writeln!(w, "{DESIGN_HASH_LINE}");
    let _ = writeln!(
        w,
        "localparam L_IDLE = 3'd0, L_DESC = 3'd1, L_CHECK = 3'd2, L_LOAD = 3'd3, L_DRAIN = 3'd4, L_HAND = 3'd5;
localparam X_IDLE = 3'd0, X_START = 3'd1, X_RUN = 3'd2, X_STORE = 3'd3, X_COMP = 3'd4;
reg [2:0] ls; reg [2:0] xs; reg enabled; reg [{ew1}:0] err; reg [{d1}:0] scratch; reg soft_reset;
reg [{aw1}:0] sq_base; reg [{aw1}:0] cq_base; reg [{aw1}:0] win_base; reg [{aw1}:0] win_size; reg [{d1}:0] ring_log2;
reg [{rb}:0] sq_tail; reg [{rb}:0] sq_head; reg [{rb}:0] cq_head; reg [{rb}:0] cq_tail; reg cq_phase;
// The executor's job (latched from its input bank when it starts).
reg [{tw1}:0] tag; reg [{opw1}:0] op; reg [{rw1}:0] rounds; reg [{sw1}:0] comp_status; reg [{ew1}:0] comp_err; reg [{aw1}:0] out_addr;
// The loader's job, and what it hands to the executor with each input bank.
reg [{tw1}:0] l_tag; reg [{sw1}:0] l_status; reg [{ew1}:0] l_err; reg [{cw1}:0] l_cycles; reg lb; reg xb; reg [1:0] full;
reg [{tw1}:0] b_tag [0:1]; reg [{opw1}:0] b_op [0:1]; reg [{rw1}:0] b_rounds [0:1]; reg [{sw1}:0] b_status [0:1];
reg [{ew1}:0] b_err [0:1]; reg [{aw1}:0] b_out_addr [0:1]; reg [{cw1}:0] b_cycles [0:1];
reg [{ip}:0] b_in_expect [0:1]; reg [{op_}:0] b_out_expect [0:1]; reg [{ip}:0] x_in_expect;
reg [{aw1}:0] rd_addr; reg [{bw1}:0] rd_left; reg [{ob_}:0] outstanding;
reg [1:0] gb_phase; reg [{sc1}:0] sc_left; reg [{sc1}:0] sc_idx; reg [{bt}:0] hold; reg [{lane1}:0] grp_lane; reg [{gw1}:0] grp_elem;
reg [{lane1}:0] in_lane_n; reg [{lane1}:0] out_lane_n;
reg [{ip}:0] in_wr; reg [{ip}:0] in_rd; reg [{ip}:0] in_expect;
reg [{op_}:0] out_wr; reg [{op_}:0] out_rd; reg [{op_}:0] out_expect;
reg [2:0] st; reg [{f}:0] pair_lo; reg [{f}:0] pair_hi; reg [{aw1}:0] wr_off;
reg [{cw1}:0] load_cycles; reg [{cw1}:0] compute_cycles; reg [{cw1}:0] store_cycles;
reg [{c_hi}:0] cycles; reg [{c_hi}:0] busy_cycles; reg [{d1}:0] cycles_hi; reg [{d1}:0] busy_hi;
reg [{d1}:0] jobs_done; reg [{d1}:0] runs_done; reg [{d1}:0] mul_issues; reg [{d1}:0] dma_read_bytes; reg [{d1}:0] dma_write_bytes;
reg r_pending; reg [{d1}:0] r_reg; reg [{d1}:0] rdata_q; reg rvalid_q;
// The descriptor beat: its reserved bits are never read.
/* verilator lint_off UNUSEDSIGNAL */
reg [{bt}:0] d_entry;
/* verilator lint_on UNUSEDSIGNAL */",
        rb = ring_bits - 1,
        bt = beat - 1,
        c_hi = 2 * bus::DATA_BITS - 1,
        ob_ = out_bits - 1,
        ip = ib - 1,
        op_ = ob - 1,
        f = fp - 1,
    );
    // ---- the descriptor and its checks ----
    let _ = writeln!(
        w,
        "wire [{opw1}:0] d_opcode = d_entry{opc}; wire [{rw1}:0] d_rounds = d_entry{rnd}; wire [{tw1}:0] d_tag = d_entry{tg};
wire [{lw1}:0] d_in_len = d_entry{il}; wire [{aw1}:0] d_in_addr = d_entry{ia}; wire [{lw1}:0] d_out_len = d_entry{ol}; wire [{aw1}:0] d_out_addr = d_entry{oa};",
        opc = slice(descriptor::OPCODE),
        rnd = slice(descriptor::ROUNDS),
        tg = slice(descriptor::TAG),
        il = slice(descriptor::IN_LEN),
        ia = slice(descriptor::IN_ADDR),
        ol = slice(descriptor::OUT_LEN),
        oa = slice(descriptor::OUT_ADDR),
    );
    table(w, &rows, ("d_opcode", opw), "req", false);
    table(w, &rows, ("op", opw), "cur", true);
    let entry_bytes = mem::BEAT_BYTES;
    let _ = writeln!(
        w,
        "// Only the low bits are kept: CHECK refuses rounds whose totals exceed the buffers.
/* verilator lint_off UNUSEDSIGNAL */
wire [{lw1}:0] req_in_total = {rounds_l} * req_in_per_round;
wire [{lw1}:0] req_out_total = req_sum ? req_out_per_round : {rounds_l} * req_out_per_round;
/* verilator lint_on UNUSEDSIGNAL */
wire [{lw1}:0] req_in_len = {rounds_l} * req_in_bytes;
wire [{lw1}:0] req_out_len = req_sum ? req_out_bytes : {rounds_l} * req_out_bytes;
// A buffer is servable when aligned to a beat and wholly inside the window (sums one bit
// wider: no wrap).
function in_window(input [{aw1}:0] addr, input [{aw1}:0] len);
  in_window = addr[{al}:0] == 0 && addr >= win_base && {{1'b0, addr - win_base}} + {{1'b0, len}} <= {{1'b0, win_size}};
endfunction
/* verilator lint_off UNUSEDSIGNAL */
wire [{rb_mask}:0] ring_mask = ({rb_mask_w}'d1 << ring_log2[{log2_1}:0]) - {rb_mask_w}'d1;
/* verilator lint_on UNUSEDSIGNAL */
wire [{rb}:0] ring_last = ring_mask[{rb}:0];
wire [{aw1}:0] ring_bytes = {{{pad_rb}'d0, ring_last}} * {aw}'d{entry_bytes} + {aw}'d{entry_bytes};
wire ring_ok = ring_log2 <= {d}'d{ring_max} && in_window(sq_base, ring_bytes) && in_window(cq_base, ring_bytes);
wire [{ew1}:0] check_err =
  !req_valid ? {ew}'d{bad_op} :
  (d_rounds == {rw}'d0 || d_rounds > req_max_rounds) ? {ew}'d{bad_rounds} :
  (d_in_len != req_in_len || d_out_len != req_out_len) ? {ew}'d{bad_len} :
  (!in_window(d_in_addr, {{{len_pad}'d0, d_in_len}}) || !in_window(d_out_addr, {{{len_pad}'d0, d_out_len}})) ? {ew}'d{oow} : {ew}'d0;
wire cq_room = ((cq_tail + 1'b1) & ring_last) != cq_head;",
        al = mem::BEAT_BYTES.trailing_zeros() - 1,
        rb = ring_bits - 1,
        pad_rb = mem::ADDR_BITS as usize - ring_bits,
        rb_mask = ring_bits,
        rb_mask_w = ring_bits + 1,
        log2_1 = bits_for(ring_bits) - 1,
        aw = mem::ADDR_BITS,
        d = bus::DATA_BITS,
        ew = ew1 + 1,
        len_pad = mem::ADDR_BITS as usize - lw,
        rounds_l = format!("{{{}'d0, d_rounds}}", lw - rw),
        ring_max = RING_MAX_LOG2,
        bad_op = error::BAD_OPCODE,
        bad_rounds = error::BAD_ROUNDS,
        bad_len = error::BAD_LENGTH,
        oow = error::OUT_OF_WINDOW,
    );

    // ---- memory port ----
    let mut comp_fields = vec![
        (completion::TAG, "tag".to_string()),
        (completion::STATUS, "comp_status".to_string()),
        (completion::PHASE, "cq_phase".to_string()),
        (completion::ERROR, "comp_err".to_string()),
        (completion::LOAD_CYCLES, "load_cycles".to_string()),
        (completion::COMPUTE_CYCLES, "compute_cycles".to_string()),
        (completion::STORE_CYCLES, "store_cycles".to_string()),
    ];
    comp_fields.sort_by_key(|(f, _)| f.lsb());
    let _ = writeln!(
        w,
        "reg [{}:0] comp_entry;\nalways @(*) begin\n  comp_entry = {beat}'d0;",
        beat - 1
    );
    for (f, name) in &comp_fields {
        let _ = writeln!(w, "  comp_entry{} = {name};", slice(*f));
    }
    let _ = writeln!(w, "end");
    let _ = writeln!(
        w,
        "wire [{pair1}:0] pair = {{{fp_pad}'d0, pair_hi, {fp_pad}'d0, pair_lo}};
wire rd_fire = mem_rd_valid && mem_rd_ready;
wire resp = mem_rresp_valid && mem_rresp_ready;
wire wr_fire = mem_wr_valid && mem_wr_ready;
// The unpacker: Fp beats in phases 0, 1, 2 (an element straddles 1.5 beats), a scalar beat
// holds {scalars_per_beat} scalars written over as many cycles.
wire scalar_group = req_scalars && grp_elem == {groups_w}'d0;
wire load_take = ls == L_LOAD && resp && !mem_rresp_err;
wire in_push = (load_take && (scalar_group || gb_phase != 2'd0)) || (ls == L_LOAD && sc_left != {sc}'d0);
reg [{f}:0] in_elem;
always @(*) begin
  if (sc_left != {sc}'d0) in_elem = {{{sc_pad}'d0, hold[{{sc_idx, {scalar_shift}'d0}} +: {scalar_bits}]}};
  else if (scalar_group) in_elem = {{{sc_pad}'d0, mem_rresp_data[{scalar_bits1}:0]}};
  else if (gb_phase == 2'd1) in_elem = {{mem_rresp_data[{lo_top}:0], hold}};
  else in_elem = {{mem_rresp_data[{hi_top}:0], hold[{second_head1}:0]}};
end",
        f = fp - 1,
        sc = sc1 + 1,
        sc_pad = fp - scalar_bits,
        scalar_bits1 = scalar_bits - 1,
        lo_top = fp - beat - 1,
        hi_top = fp - second_head - 1,
        second_head1 = second_head - 1,
    );

    // ---- buffers ----
    let _ = writeln!(
        w,
        "// Two input banks: the loader fills one while the engine runs from the other.
reg [{f}:0] in_mem [0:{in_last}]; reg [{f}:0] out_mem [0:{out_last}];
reg [{f}:0] in_head; reg [{f}:0] out_q;
wire out_push = xs == X_RUN && engine$out_valid && out_wr != out_expect;
wire pop = xs == X_RUN && engine$in_pop;
// The engine takes in_data in the cycle it pops: in_head always holds in_mem[xb, in_rd].
always @(posedge clock) begin
  if (in_push) in_mem[{{lb, in_wr[{ipm}:0]}}] <= in_elem;
  in_head <= in_mem[{{xb, pop ? in_rd[{ipm}:0] + 1'b1 : in_rd[{ipm}:0]}}];
  if (out_push) out_mem[out_wr[{opm}:0]] <= engine$out_data;
  out_q <= out_mem[out_rd[{opm}:0]];
end",
        f = fp - 1,
        in_last = 2 * params.in_elements - 1,
        out_last = params.out_elements - 1,
        ipm = ib - 2,
        opm = ob - 2,
    );

    // ---- engine and port wiring ----
    let _ = writeln!(
        w,
        "always @(*) begin
  engine$clock = clock; engine$reset = reset || soft_reset; engine$start = xs == X_START;
  engine$pro_start = cur_pro_start; engine$pro_len = cur_pro_len;
  engine$body_start = cur_body_start; engine$body_len = cur_body_len;
  engine$epi_start = cur_epi_start; engine$epi_len = cur_epi_len;
  engine$rounds = {{{rounds_pad}'d0, rounds}}; engine$in_data = in_head;
  bus_rdata = rdata_q; bus_rvalid = rvalid_q; irq = cq_tail != cq_head;
  mem_rd_valid = !reset && rd_left != {bw}'d0 && outstanding < {ob}'d{max_reads} && (ls == L_DESC || ls == L_LOAD);
  mem_rd_addr = rd_addr;
  mem_rresp_ready = ls == L_IDLE || ls == L_DESC || ls == L_DRAIN || (ls == L_LOAD && sc_left == {sc}'d0);
  mem_wr_valid = (xs == X_STORE && st >= 3'd4) || (xs == X_COMP && cq_room);
  mem_wr_addr = xs == X_COMP ? cq_base + {{{pad_rb}'d0, cq_tail}} * {aw}'d{entry_bytes} : out_addr + wr_off;
  mem_wr_data = xs == X_COMP ? comp_entry : (st == 3'd4 ? pair[{b1}:0] : st == 3'd5 ? pair[{b2}:{beat}] : pair[{pair1}:{b2p}]);
end",
        ob = out_bits,
        max_reads = mem::MAX_OUTSTANDING_READS,
        pad_rb = mem::ADDR_BITS as usize - ring_bits,
        aw = mem::ADDR_BITS,
        sc = sc1 + 1,
        bw = bw,
        rounds_pad = port_bits(|e: &EngineCore| &e.rounds) - rw,
        b1 = beat - 1,
        b2 = 2 * beat - 1,
        b2p = 2 * beat,
    );

    // ---- register reads (edge 1) ----
    let d = bus::DATA_BITS;
    let hash = |i: usize| format!("DESIGN_HASH[{}:{}]", d * i + d - 1, d * i);
    let ring = |r: &str| format!("{{{}'d0, {r}}}", d - ring_bits);
    let flag = |cond: &str, bit: u32| format!("({cond} ? {d}'d{bit} : {d}'d0)");
    let mut reads: Vec<(u32, String)> = vec![
        (regs::MAGIC, format!("{d}'h{:x}", tollgate_abi::MAGIC)),
        (regs::ABI_VERSION, format!("{d}'h{:x}", tollgate_abi::ABI_VERSION)),
        (regs::CAPABILITIES, format!("{d}'h{capabilities:x}")),
        (regs::CLOCK_KHZ, format!("{d}'d{}", CLOCK_MHZ * 1000)),
        (regs::MONT_R_LOG2, format!("{d}'d{}", tollgate_abi::MONT_R_LOG2)),
        (regs::IN_BUFFER_WORDS, format!("{d}'d{}", shape.in_words)),
        (regs::OUT_BUFFER_WORDS, format!("{d}'d{}", shape.out_words)),
        (regs::LANES, format!("{d}'d{}", shape.lanes)),
        (regs::AGGREGATE_FANIN, format!("{d}'d{}", shape.aggregate_fanin)),
        (regs::RING_MAX_LOG2, format!("{d}'d{RING_MAX_LOG2}")),
        (regs::CONTROL, flag("enabled", control::ENABLE)),
        (
            regs::STATUS,
            [
                flag(
                    "ls == L_IDLE && xs == X_IDLE && full == 2'd0 && sq_head == sq_tail && outstanding == 0 && enabled",
                    status::READY,
                ),
                flag("ls != L_IDLE || xs != X_IDLE || full != 2'd0", status::BUSY),
                flag("err != 0", status::ERROR),
                flag("cq_tail != cq_head", status::DONE),
                flag("enabled", status::ENABLED),
            ]
            .join(" | "),
        ),
        (regs::ERROR, "err".into()),
        (regs::SCRATCH, "scratch".into()),
        (regs::SQ_BASE_LO, format!("sq_base[{}:0]", d - 1)),
        (regs::SQ_BASE_HI, format!("sq_base[{}:{d}]", mem::ADDR_BITS as usize - 1)),
        (regs::CQ_BASE_LO, format!("cq_base[{}:0]", d - 1)),
        (regs::CQ_BASE_HI, format!("cq_base[{}:{d}]", mem::ADDR_BITS as usize - 1)),
        (regs::RING_LOG2, "ring_log2".into()),
        (regs::SQ_TAIL, ring("sq_tail")),
        (regs::SQ_HEAD, ring("sq_head")),
        (regs::CQ_HEAD, ring("cq_head")),
        (regs::CQ_TAIL, ring("cq_tail")),
        (regs::WINDOW_BASE_LO, format!("win_base[{}:0]", d - 1)),
        (regs::WINDOW_BASE_HI, format!("win_base[{}:{d}]", mem::ADDR_BITS as usize - 1)),
        (regs::WINDOW_SIZE_LO, format!("win_size[{}:0]", d - 1)),
        (regs::WINDOW_SIZE_HI, format!("win_size[{}:{d}]", mem::ADDR_BITS as usize - 1)),
        (regs::CYCLES_LO, format!("cycles[{}:0]", d - 1)),
        (regs::CYCLES_HI, "cycles_hi".into()),
        (regs::BUSY_CYCLES_LO, format!("busy_cycles[{}:0]", d - 1)),
        (regs::BUSY_CYCLES_HI, "busy_hi".into()),
        (regs::JOBS_DONE, "jobs_done".into()),
        (regs::RUNS_DONE, "runs_done".into()),
        (regs::MUL_ISSUES, "mul_issues".into()),
        (regs::DMA_READ_BYTES, "dma_read_bytes".into()),
        (regs::DMA_WRITE_BYTES, "dma_write_bytes".into()),
    ];
    reads.extend(
        (0..tollgate_abi::DESIGN_HASH_WORDS).map(|i| (regs::DESIGN_HASH + 4 * i as u32, hash(i))),
    );
    let writable = [
        regs::CONTROL,
        regs::SCRATCH,
        regs::SQ_BASE_LO,
        regs::SQ_BASE_HI,
        regs::CQ_BASE_LO,
        regs::CQ_BASE_HI,
        regs::RING_LOG2,
        regs::SQ_TAIL,
        regs::CQ_HEAD,
        regs::WINDOW_BASE_LO,
        regs::WINDOW_BASE_HI,
        regs::WINDOW_SIZE_LO,
        regs::WINDOW_SIZE_HI,
    ];

    let _ = writeln!(w, "always @(posedge clock) begin");
    let _ = writeln!(w, "  r_pending <= bus_read && !reset;");
    let _ = writeln!(w, "  case (bus_addr)");
    for (addr, value) in &reads {
        let _ = writeln!(
            w,
            "    {a}'h{addr:x}: r_reg <= {value};",
            a = bus::ADDR_BITS
        );
    }
    let _ = writeln!(w, "    default: r_reg <= {d}'d0;\n  endcase");
    let _ = writeln!(w, "  rvalid_q <= r_pending;\n  rdata_q <= r_reg;\nend");
    let known = |addrs: Vec<u32>| {
        addrs
            .iter()
            .map(|addr| format!("bus_addr == {}'h{addr:x}", bus::ADDR_BITS))
            .collect::<Vec<_>>()
            .join(" || ")
    };
    let readable = known(reads.iter().map(|(a, _)| *a).collect());
    let writable = known(writable.to_vec());

    // ---- sequencer, registers, counters ----
    let _ = writeln!(
        w,
        "always @(posedge clock) begin
  if (reset) begin
    ls <= L_IDLE; xs <= X_IDLE; enabled <= 1'b0; err <= 0; scratch <= 0; soft_reset <= 1'b0;
    sq_base <= 0; cq_base <= 0; win_base <= 0; win_size <= 0; ring_log2 <= 0;
    sq_tail <= 0; sq_head <= 0; cq_head <= 0; cq_tail <= 0; cq_phase <= 1'b1;
    d_entry <= 0; tag <= 0; op <= 0; rounds <= 0; comp_status <= 0; comp_err <= 0; out_addr <= 0;
    l_tag <= 0; l_status <= 0; l_err <= 0; l_cycles <= 0; lb <= 1'b0; xb <= 1'b0; full <= 2'd0;
    rd_addr <= 0; rd_left <= 0; outstanding <= 0;
    gb_phase <= 0; sc_left <= 0; sc_idx <= 0; hold <= 0; grp_lane <= 0; grp_elem <= 0;
    in_lane_n <= 0; out_lane_n <= 0; in_wr <= 0; in_rd <= 0; in_expect <= 0; x_in_expect <= 0; out_wr <= 0; out_rd <= 0; out_expect <= 0;
    st <= 3'd0; pair_lo <= 0; pair_hi <= 0; wr_off <= 0;
    load_cycles <= 0; compute_cycles <= 0; store_cycles <= 0;
    cycles <= 0; busy_cycles <= 0; cycles_hi <= 0; busy_hi <= 0;
    jobs_done <= 0; runs_done <= 0; mul_issues <= 0; dma_read_bytes <= 0; dma_write_bytes <= 0;
  end else begin
    soft_reset <= 1'b0;
    cycles <= cycles + 1'b1;
    if (engine$mul_issue) mul_issues <= mul_issues + 1'b1;
    if (ls != L_IDLE || xs != X_IDLE || full != 2'd0) busy_cycles <= busy_cycles + 1'b1;
    if (ls != L_IDLE && ls != L_HAND) l_cycles <= l_cycles + 1'b1;
    if (xs == X_START || xs == X_RUN) compute_cycles <= compute_cycles + 1'b1;
    if (xs == X_STORE || xs == X_COMP) store_cycles <= store_cycles + 1'b1;
    // The read channel: at most {max_reads} requests outstanding.
    outstanding <= outstanding + {{{ob_pad}'d0, rd_fire}} - {{{ob_pad}'d0, resp}};
    if (rd_fire) begin rd_addr <= rd_addr + {aw}'d{beat_bytes}; rd_left <= rd_left - 1'b1; end
    if (resp) dma_read_bytes <= dma_read_bytes + {d}'d{beat_bytes};
    if (wr_fire) dma_write_bytes <= dma_write_bytes + {d}'d{beat_bytes};
    // The unpacker's element counters: lanes within a group, groups within a round.
    if (in_push) begin
      in_wr <= in_wr + 1'b1;
      if (grp_lane == {lw_}'d{last_lane}) begin
        grp_lane <= 0; grp_elem <= grp_elem + 1'b1 == req_groups ? 0 : grp_elem + 1'b1;
      end else grp_lane <= grp_lane + 1'b1;
    end
    if (ls == L_LOAD && sc_left != 0) begin sc_left <= sc_left - 1'b1; sc_idx <= sc_idx + 1'b1; end
    if (load_take) begin
      if (scalar_group) begin hold <= mem_rresp_data; sc_left <= {sc_w}'d{sc_last}; sc_idx <= {sc_w}'d1; end
      else begin
        gb_phase <= gb_phase == 2'd2 ? 2'd0 : gb_phase + 1'b1;
        if (gb_phase == 2'd0) hold <= mem_rresp_data;
        else if (gb_phase == 2'd1) hold[{second_head1}:0] <= mem_rresp_data[{bt}:{first_tail}];
      end
    end
    // The engine's side. The stream layout assumes element n belongs to lane n mod K; the
    // engine's lane outputs prove it on every word.
    if (pop) begin
      in_rd <= in_rd + 1'b1; in_lane_n <= in_lane_n == {lw_}'d{last_lane} ? 0 : in_lane_n + 1'b1;
      if (engine$in_lane != in_lane_n) err[{internal}] <= 1'b1;
    end
    if (out_push) begin
      out_wr <= out_wr + 1'b1; out_lane_n <= out_lane_n == {lw_}'d{last_lane} ? 0 : out_lane_n + 1'b1;
      if (engine$out_lane != out_lane_n) err[{internal}] <= 1'b1;
    end
    if (xs == X_RUN && engine$out_valid && out_wr == out_expect) err[{internal}] <= 1'b1;
    // The loader: descriptor fetch and check, the input into bank lb, then the hand-off of
    // the bank (with the job, or its failure) to the executor. It starts a job only into a
    // free bank and once the responses of a dropped job have all come back.
    case (ls)
      L_IDLE: if (enabled && sq_head != sq_tail && outstanding == 0 && !full[lb]) begin
        if (!ring_ok) err[{bad_ring}] <= 1'b1;
        else begin
          ls <= L_DESC; rd_addr <= sq_base + {{{pad_rb}'d0, sq_head}} * {aw}'d{entry_bytes}; rd_left <= 1;
          l_cycles <= 0;
        end
      end
      L_DESC: if (resp) begin
        sq_head <= (sq_head + 1'b1) & ring_last;
        if (mem_rresp_err) begin
          ls <= L_HAND; l_tag <= 0; l_status <= {failed}; l_err <= {ew}'d{dma_read}; err[{dma_read_bit}] <= 1'b1;
        end else begin d_entry <= mem_rresp_data; ls <= L_CHECK; end
      end
      L_CHECK: begin
        l_tag <= d_tag;
        if (check_err != 0) begin
          ls <= L_HAND; l_status <= {failed}; l_err <= check_err; err <= err | check_err;
        end else begin
          ls <= L_LOAD; l_status <= {ok}; l_err <= 0;
          rd_addr <= d_in_addr; rd_left <= d_in_len[{lw1}:{beat_shift}];
          in_expect <= req_in_total[{ip}:0]; in_wr <= 0;
          gb_phase <= 0; sc_left <= 0; grp_lane <= 0; grp_elem <= 0;
        end
      end
      L_LOAD: if (resp && mem_rresp_err) begin
        ls <= L_DRAIN; rd_left <= 0; l_status <= {failed}; l_err <= {ew}'d{dma_read}; err[{dma_read_bit}] <= 1'b1;
      end else if (in_wr == in_expect) ls <= L_HAND;
      L_DRAIN: if (outstanding == 0 || (outstanding == 1 && resp)) ls <= L_HAND;
      L_HAND: begin
        b_tag[lb] <= l_tag; b_op[lb] <= d_opcode; b_rounds[lb] <= d_rounds; b_status[lb] <= l_status;
        b_err[lb] <= l_err; b_out_addr[lb] <= d_out_addr; b_cycles[lb] <= l_cycles;
        b_in_expect[lb] <= in_expect; b_out_expect[lb] <= req_out_total[{op_}:0];
        full[lb] <= 1'b1; lb <= !lb; ls <= L_IDLE;
      end
      default: ls <= L_IDLE;
    endcase
    // The executor: the engine on bank xb, the output by DMA, the completion. Jobs reach it
    // in descriptor order, so completions are written in that order.
    case (xs)
      X_IDLE: if (full[xb]) begin
        tag <= b_tag[xb]; op <= b_op[xb]; rounds <= b_rounds[xb]; comp_status <= b_status[xb];
        comp_err <= b_err[xb]; out_addr <= b_out_addr[xb]; load_cycles <= b_cycles[xb];
        x_in_expect <= b_in_expect[xb]; out_expect <= b_out_expect[xb];
        compute_cycles <= 0; store_cycles <= 0;
        in_rd <= 0; out_wr <= 0; out_rd <= 0; in_lane_n <= 0; out_lane_n <= 0;
        if (b_status[xb] == {ok}) xs <= X_START;
        else begin xs <= X_COMP; full[xb] <= 1'b0; xb <= !xb; end
      end
      X_START: xs <= X_RUN;
      // The input bank is free once the engine has stopped: the loader may refill it while
      // the output goes out.
      X_RUN: if (!engine$busy) begin
        runs_done <= runs_done + {{{runs_pad}'d0, rounds}} * {d}'d{lanes};
        full[xb] <= 1'b0; xb <= !xb;
        if (in_rd == x_in_expect && out_wr == out_expect) begin xs <= X_STORE; st <= 3'd0; out_rd <= 0; wr_off <= 0; end
        else begin xs <= X_COMP; comp_status <= {failed}; comp_err <= {ew}'d{internal_mask}; err[{internal}] <= 1'b1; end
      end
      // Two elements are read from the output buffer (registered reads: a wait, a capture,
      // each), then written as three beats.
      X_STORE: case (st)
        3'd0, 3'd2: st <= st + 1'b1;
        3'd1: begin pair_lo <= out_q; out_rd <= out_rd + 1'b1; st <= 3'd2; end
        3'd3: begin pair_hi <= out_q; out_rd <= out_rd + 1'b1; st <= 3'd4; end
        default: if (wr_fire) begin
          wr_off <= wr_off + {aw}'d{beat_bytes};
          if (st != 3'd6) st <= st + 1'b1;
          else if (out_rd == out_expect) xs <= X_COMP;
          else st <= 3'd0;
        end
      endcase
      X_COMP: if (wr_fire) begin
        xs <= X_IDLE; jobs_done <= jobs_done + 1'b1;
        cq_tail <= (cq_tail + 1'b1) & ring_last;
        if (cq_tail == ring_last) cq_phase <= !cq_phase;
      end
      default: xs <= X_IDLE;
    endcase
    // Reads.
    if (bus_read) begin
      if (bus_addr == {a}'h{cycles_lo:03x}) cycles_hi <= cycles[{c_hi}:{d}];
      if (bus_addr == {a}'h{busy_lo:03x}) busy_hi <= busy_cycles[{c_hi}:{d}];
      if (!({readable})) err[{bad_addr}] <= 1'b1;
    end
    // Writes.
    if (bus_write) begin
      if (!({writable})) err[{bad_addr}] <= 1'b1;
      if (bus_addr == {a}'h{scratch:03x}) scratch <= bus_wdata;
      if (bus_addr == {a}'h{sq_lo:03x}) sq_base[{d1}:0] <= bus_wdata;
      if (bus_addr == {a}'h{sq_hi:03x}) sq_base[{aw1}:{d}] <= bus_wdata;
      if (bus_addr == {a}'h{cq_lo:03x}) cq_base[{d1}:0] <= bus_wdata;
      if (bus_addr == {a}'h{cq_hi:03x}) cq_base[{aw1}:{d}] <= bus_wdata;
      if (bus_addr == {a}'h{wb_lo:03x}) win_base[{d1}:0] <= bus_wdata;
      if (bus_addr == {a}'h{wb_hi:03x}) win_base[{aw1}:{d}] <= bus_wdata;
      if (bus_addr == {a}'h{ws_lo:03x}) win_size[{d1}:0] <= bus_wdata;
      if (bus_addr == {a}'h{ws_hi:03x}) win_size[{aw1}:{d}] <= bus_wdata;
      if (bus_addr == {a}'h{ring_log2:03x}) ring_log2 <= bus_wdata;
      if (bus_addr == {a}'h{sq_tail:03x}) begin
        if (bus_wdata > {{{pad_r32}'d0, ring_last}}) err[{bad_ring}] <= 1'b1; else sq_tail <= bus_wdata[{rb}:0];
      end
      if (bus_addr == {a}'h{cq_head:03x}) begin
        if (bus_wdata > {{{pad_r32}'d0, ring_last}}) err[{bad_ring}] <= 1'b1; else cq_head <= bus_wdata[{rb}:0];
      end
      if (bus_addr == {a}'h{control:03x}) begin
        enabled <= bus_wdata[{enable}];
        if (bus_wdata[{clear}]) err <= 0;
        if (bus_wdata[{soft}]) begin
          ls <= L_IDLE; xs <= X_IDLE; full <= 2'd0; lb <= 1'b0; xb <= 1'b0;
          err <= 0; soft_reset <= 1'b1; rd_left <= 0; sc_left <= 0;
          sq_tail <= 0; sq_head <= 0; cq_head <= 0; cq_tail <= 0; cq_phase <= 1'b1;
        end
      end
    end
  end
end",
        max_reads = mem::MAX_OUTSTANDING_READS,
        beat_bytes = mem::BEAT_BYTES,
        a = bus::ADDR_BITS,
        aw = mem::ADDR_BITS,
        lw_ = lane_w,
        ew = ew1 + 1,
        runs_pad = d - rw,
        ob_pad = out_bits - 1,
        c_hi = 2 * d - 1,
        ok = format_args!("{}'d{}", sw1 + 1, CompletionStatus::Ok as u32),
        failed = format_args!("{}'d{}", sw1 + 1, CompletionStatus::Failed as u32),
        entry_bytes = entry_bytes,
        last_lane = shape.lanes - 1,
        lanes = shape.lanes,
        internal = bit(error::INTERNAL),
        internal_mask = error::INTERNAL,
        bad_ring = bit(error::BAD_RING),
        dma_read = error::DMA_READ,
        dma_read_bit = bit(error::DMA_READ),
        bad_addr = bit(error::BAD_ADDRESS),
        pad_rb = 64 - ring_bits,
        pad_r32 = d - ring_bits,
        sc_w = sc1 + 1,
        sc_last = scalars_per_beat - 1,
        second_head1 = second_head - 1,
        bt = beat - 1,
        beat_shift = mem::BEAT_BYTES.trailing_zeros(),
        rb = ring_bits - 1,
        ip = ib - 1,
        op_ = ob - 1,
        cycles_lo = regs::CYCLES_LO,
        busy_lo = regs::BUSY_CYCLES_LO,
        scratch = regs::SCRATCH,
        sq_lo = regs::SQ_BASE_LO,
        sq_hi = regs::SQ_BASE_HI,
        cq_lo = regs::CQ_BASE_LO,
        cq_hi = regs::CQ_BASE_HI,
        wb_lo = regs::WINDOW_BASE_LO,
        wb_hi = regs::WINDOW_BASE_HI,
        ws_lo = regs::WINDOW_SIZE_LO,
        ws_hi = regs::WINDOW_SIZE_HI,
        ring_log2 = regs::RING_LOG2,
        sq_tail = regs::SQ_TAIL,
        cq_head = regs::CQ_HEAD,
        control = regs::CONTROL,
        enable = bit(control::ENABLE),
        clear = bit(control::CLEAR_ERRORS),
        soft = bit(control::SOFT_RESET),
    );
    v
}
