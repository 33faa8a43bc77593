//! The top level's Verilog body, generated from the ABI and the engine's program table.

use std::fmt::Write as _;

use tollgate_abi::layout::Shape;
use tollgate_abi::{completion, control, error, regs, status, Opcode, FP_WORDS};
use tollgate_microcode::compile::programs::ProgramKind;

use crate::engine::{range_values, EngineParams, RANGE_PORTS};
use crate::field::FP_BITS;
use crate::rtl::CLOCK_MHZ;

/// The line of the body that holds the design hash; the generator emits it zero, hashes the
/// text, and substitutes the hash (see `crate::rtl::emit_with_design_hash`).
pub const DESIGN_HASH_LINE: &str = "localparam [255:0] DESIGN_HASH = 256'h0;";

/// What the generated top level is built for.
#[derive(Debug, Clone, Copy)]
pub struct TopParams {
    /// Elements (381-bit words) the input buffer holds.
    pub in_elements: usize,
    /// Elements the output buffer holds.
    pub out_elements: usize,
}

impl TopParams {
    /// 8,192 elements each way: 3.1 Mbit, ~87 RAMB36 per buffer, enough for 2,640 G1 points
    /// of aggregation or 2,040 64-bit G1 scalar multiplications per job.
    pub fn standard() -> TopParams {
        TopParams {
            in_elements: 8192,
            out_elements: 8192,
        }
    }

    /// The stream shape the identity page reports.
    pub fn shape(&self) -> Shape {
        let cfg = EngineParams::standard().rom.config;
        Shape {
            lanes: cfg.lanes as u32,
            aggregate_fanin: cfg.accumulators as u32,
            in_words: (self.in_elements * FP_WORDS) as u32,
            out_words: (self.out_elements * FP_WORDS) as u32,
        }
    }
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
    }
}

/// One opcode's row of the job table.
struct Row {
    op: Opcode,
    ranges: [usize; 6],
    in_per_round: usize,
    out_per_round: usize,
    sum: bool,
    max_rounds: u32,
}

/// The job table, checked against the ABI's layout: what the microcode loads and stores per
/// body run must be exactly what `tollgate_abi::layout` streams.
fn rows(params: &TopParams) -> Vec<Row> {
    let rom = &EngineParams::standard().rom;
    let shape = params.shape();
    let lanes = rom.config.lanes;
    Opcode::ALL
        .into_iter()
        .map(|op| {
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
            Row {
                op,
                ranges: range_values(e),
                in_per_round,
                out_per_round: out_words,
                sum: op.is_sum(),
                max_rounds,
            }
        })
        .collect()
}

/// `always @(*)` lookup of the job table by the opcode in `sel` into `<prefix>_*` regs, either
/// the job's shape (checked at the doorbell) or its microcode ranges (driven while it runs).
fn table(w: &mut String, rows: &[Row], sel: &str, prefix: &str, ranges: bool) {
    let row_fields = |r: Option<&Row>| -> Vec<(&'static str, usize, usize)> {
        let at = |i: usize| r.map_or(0, |r| r.ranges[i]);
        if ranges {
            RANGE_PORTS
                .into_iter()
                .enumerate()
                .map(|(i, f)| (f, 16, at(i)))
                .collect()
        } else {
            vec![
                ("valid", 1, r.is_some() as usize),
                ("sum", 1, r.is_some_and(|r| r.sum) as usize),
                ("max_rounds", 8, r.map_or(0, |r| r.max_rounds as usize)),
                ("in_per_round", 16, r.map_or(0, |r| r.in_per_round)),
                ("out_per_round", 16, r.map_or(0, |r| r.out_per_round)),
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
        let _ = writeln!(w, "    32'd{}: begin{} end", r.op as u32, assign(Some(r)));
    }
    let _ = writeln!(w, "    default: begin{} end\n  endcase\nend", assign(None));
}

fn bits_for(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()) as usize
}

/// The Verilog body of [`super::TollgateTop`] for `params`.
///
/// Read timing: a read sampled on edge 1 is answered on edge 2 (`bus_rvalid` one cycle), so
/// that the output buffer can be a registered block RAM read.
pub fn top_body(params: &TopParams) -> String {
    let shape = params.shape();
    let rows = rows(params);
    assert!(params.in_elements.is_power_of_two() && params.out_elements.is_power_of_two());
    let (ib, ob) = (bits_for(params.in_elements), bits_for(params.out_elements));
    let fp = FP_BITS;
    let capabilities: u32 = Opcode::ALL.iter().map(|op| op.capability_bit()).sum();
    let bit = |mask: u32| mask.trailing_zeros();
    let mut v = String::new();
    let w = &mut v;

    let _ = writeln!(w, "{DESIGN_HASH_LINE}");
    let _ = writeln!(
        w,
        "localparam IDLE = 2'd0, LOAD = 2'd1, START = 2'd2, RUN = 2'd3;
reg [1:0] state; reg enabled; reg [31:0] err; reg [31:0] scratch; reg [31:0] job_opcode; reg [31:0] job_rounds;
reg comp_valid; reg [15:0] comp_tag; reg [7:0] comp_status;
reg [15:0] tag; reg [31:0] op; reg [7:0] rounds; reg soft_reset; reg [5:0] in_lane_n; reg [5:0] out_lane_n;
reg [{ip}:0] in_wr; reg [{ip}:0] in_rd; reg [{ip}:0] in_expect; reg [3:0] in_wi; reg [351:0] in_asm;
reg [{op_}:0] out_wr; reg [{op_}:0] out_rd; reg [{op_}:0] out_expect; reg [3:0] out_wi;
reg [63:0] cycles; reg [63:0] busy_cycles; reg [31:0] cycles_hi; reg [31:0] busy_hi;
reg [31:0] jobs_done; reg [31:0] runs_done; reg [31:0] mul_issues; reg [31:0] job_cycles; reg [31:0] last_job_cycles;
reg r_pending; reg r_fifo; reg r_fifo_ok; reg [3:0] r_word; reg [31:0] r_reg;
reg [31:0] rdata_q; reg rvalid_q;",
        ip = ib - 1,
        op_ = ob - 1
    );
    table(w, &rows, "job_opcode", "req", false);
    table(w, &rows, "op", "cur", true);
    let _ = writeln!(
        w,
        "// Only the low bits are kept: the doorbell refuses rounds whose totals exceed the buffers.
/* verilator lint_off UNUSEDSIGNAL */
wire [15:0] req_in_total = job_rounds[7:0] * req_in_per_round;
wire [15:0] req_out_total = req_sum ? req_out_per_round : job_rounds[7:0] * req_out_per_round;
/* verilator lint_on UNUSEDSIGNAL */"
    );

    // ---- buffers ----
    let _ = writeln!(
        w,
        "reg [{f}:0] in_mem [0:{in_last}]; reg [{f}:0] out_mem [0:{out_last}];
reg [{f}:0] in_head; reg [{f}:0] out_q;
wire in_word = bus_write && bus_addr == 12'h{in_fifo:03x};
wire in_push = in_word && state == LOAD && in_wr != in_expect && in_wi == 4'd11;
wire out_push = state == RUN && engine$out_valid && out_wr != out_expect;
wire pop = state == RUN && engine$in_pop;
// The engine takes in_data in the cycle it pops: in_head always holds in_mem[in_rd].
always @(posedge clock) begin
  if (in_push) in_mem[in_wr[{ipm}:0]] <= {{bus_wdata[{top}:0], in_asm}};
  in_head <= in_mem[pop ? in_rd[{ipm}:0] + 1'b1 : in_rd[{ipm}:0]];
  if (out_push) out_mem[out_wr[{opm}:0]] <= engine$out_data;
  out_q <= out_mem[out_rd[{opm}:0]];
end",
        f = fp - 1,
        in_last = params.in_elements - 1,
        out_last = params.out_elements - 1,
        in_fifo = regs::IN_FIFO,
        ipm = ib - 2,
        opm = ob - 2,
        top = fp - 352 - 1,
    );

    // ---- engine wiring ----
    let _ = writeln!(
        w,
        "always @(*) begin
  engine$clock = clock; engine$reset = reset || soft_reset; engine$start = state == START;
  engine$pro_start = cur_pro_start; engine$pro_len = cur_pro_len;
  engine$body_start = cur_body_start; engine$body_len = cur_body_len;
  engine$epi_start = cur_epi_start; engine$epi_len = cur_epi_len;
  engine$rounds = {{24'd0, rounds}}; engine$in_data = in_head;
  bus_rdata = rdata_q; bus_rvalid = rvalid_q; irq = comp_valid;
end"
    );

    // ---- register reads (edge 1) ----
    let hash = |i: usize| format!("DESIGN_HASH[{}:{}]", 32 * i + 31, 32 * i);
    let mut reads: Vec<(u32, String)> = vec![
        (regs::MAGIC, format!("32'h{:08x}", tollgate_abi::MAGIC)),
        (regs::ABI_VERSION, format!("32'h{:08x}", tollgate_abi::ABI_VERSION)),
        (regs::CAPABILITIES, format!("32'h{capabilities:08x}")),
        (regs::CLOCK_KHZ, format!("32'd{}", CLOCK_MHZ * 1000)),
        (regs::MONT_R_LOG2, format!("32'd{}", tollgate_abi::MONT_R_LOG2)),
        (regs::IN_FIFO_DEPTH, format!("32'd{}", shape.in_words)),
        (regs::OUT_FIFO_DEPTH, format!("32'd{}", shape.out_words)),
        (regs::LANES, format!("32'd{}", shape.lanes)),
        (regs::AGGREGATE_FANIN, format!("32'd{}", shape.aggregate_fanin)),
        (regs::CONTROL, "{30'd0, enabled, 1'b0}".into()),
        (
            regs::STATUS,
            format!(
                "(state == IDLE && !comp_valid && enabled ? 32'd{} : 32'd0) | (state != IDLE ? 32'd{} : 32'd0) | (err != 0 ? 32'd{} : 32'd0) | (comp_valid ? 32'd{} : 32'd0) | (enabled ? 32'd{} : 32'd0)",
                status::READY,
                status::BUSY,
                status::ERROR,
                status::DONE,
                status::ENABLED
            ),
        ),
        (regs::ERROR, "err".into()),
        (regs::SCRATCH, "scratch".into()),
        (regs::JOB_OPCODE, "job_opcode".into()),
        (regs::JOB_ROUNDS, "job_rounds".into()),
        (
            regs::COMPLETION,
            "comp_valid ? {1'b1, 7'd0, comp_status, comp_tag} : 32'd0".into(),
        ),
        (
            regs::IN_FIFO_FREE,
            format!("state == LOAD ? {{{pad}'d0, in_expect - in_wr}} * 32'd12 - {{28'd0, in_wi}} : 32'd0", pad = 32 - ib),
        ),
        (
            regs::OUT_FIFO_COUNT,
            format!("{{{pad}'d0, out_wr - out_rd}} * 32'd12 - {{28'd0, out_wi}}", pad = 32 - ob),
        ),
        (regs::CYCLES_LO, "cycles[31:0]".into()),
        (regs::CYCLES_HI, "cycles_hi".into()),
        (regs::BUSY_CYCLES_LO, "busy_cycles[31:0]".into()),
        (regs::BUSY_CYCLES_HI, "busy_hi".into()),
        (regs::JOBS_DONE, "jobs_done".into()),
        (regs::RUNS_DONE, "runs_done".into()),
        (regs::LAST_JOB_CYCLES, "last_job_cycles".into()),
        (regs::MUL_ISSUES, "mul_issues".into()),
        (regs::OUT_FIFO, "32'd0".into()),
    ];
    reads.extend(
        (0..tollgate_abi::DESIGN_HASH_WORDS).map(|i| (regs::DESIGN_HASH + 4 * i as u32, hash(i))),
    );
    assert_eq!(completion::STATUS_SHIFT, 16);
    let writable = [
        regs::CONTROL,
        regs::SCRATCH,
        regs::JOB_OPCODE,
        regs::JOB_ROUNDS,
        regs::DOORBELL,
        regs::COMPLETION_ACK,
        regs::IN_FIFO,
    ];

    let _ = writeln!(w, "wire [383:0] out_wide = {{3'd0, out_q}}; wire [31:0] out_word = out_wide[{{r_word, 5'd0}} +: 32];");
    let _ = writeln!(w, "always @(posedge clock) begin");
    let _ = writeln!(w, "  r_pending <= bus_read && !reset;");
    let _ = writeln!(w, "  case (bus_addr)");
    for (addr, value) in &reads {
        let _ = writeln!(w, "    12'h{addr:03x}: r_reg <= {value};");
    }
    let _ = writeln!(w, "    default: r_reg <= 32'd0;\n  endcase");
    let _ = writeln!(
        w,
        "  rvalid_q <= r_pending;
  rdata_q <= r_fifo ? (r_fifo_ok ? out_word : 32'd0) : r_reg;
end"
    );
    let known = |addrs: Vec<u32>| {
        addrs
            .iter()
            .map(|a| format!("bus_addr == 12'h{a:03x}"))
            .collect::<Vec<_>>()
            .join(" || ")
    };
    let readable = known(reads.iter().map(|(a, _)| *a).collect());
    let writable = known(writable.to_vec());

    // ---- sequencer, registers, counters ----
    let fail = |bits: u32| {
        format!(
            "begin err[{b}] <= 1'b1; comp_valid <= 1'b1; comp_tag <= bus_wdata[15:0]; comp_status <= 8'd1; end",
            b = bit(bits)
        )
    };
    let _ = writeln!(
        w,
        "always @(posedge clock) begin
  if (reset) begin
    state <= IDLE; enabled <= 1'b0; err <= 32'd0; scratch <= 32'd0; job_opcode <= 32'd0; job_rounds <= 32'd0;
    comp_valid <= 1'b0; comp_tag <= 16'd0; comp_status <= 8'd0; tag <= 16'd0; op <= 32'd0; rounds <= 8'd0;
    soft_reset <= 1'b0; in_wr <= 0; in_rd <= 0; in_expect <= 0; in_wi <= 4'd0; out_wr <= 0; out_rd <= 0;
    out_expect <= 0; out_wi <= 4'd0; cycles <= 64'd0; busy_cycles <= 64'd0; cycles_hi <= 32'd0; busy_hi <= 32'd0;
    jobs_done <= 32'd0; runs_done <= 32'd0; mul_issues <= 32'd0; job_cycles <= 32'd0; last_job_cycles <= 32'd0;
    r_fifo <= 1'b0; r_fifo_ok <= 1'b0; r_word <= 4'd0; in_lane_n <= 6'd0; out_lane_n <= 6'd0;
  end else begin
    soft_reset <= 1'b0;
    cycles <= cycles + 1'b1;
    if (engine$mul_issue) mul_issues <= mul_issues + 1'b1;
    if (state != IDLE) begin busy_cycles <= busy_cycles + 1'b1; job_cycles <= job_cycles + 1'b1; end
    // The engine's side. The stream layout assumes element n belongs to lane n mod K; the
    // engine's lane outputs prove it on every word.
    if (pop) begin
      in_rd <= in_rd + 1'b1; in_lane_n <= in_lane_n == 6'd{last_lane} ? 6'd0 : in_lane_n + 1'b1;
      if (engine$in_lane != in_lane_n) err[{internal}] <= 1'b1;
    end
    if (out_push) begin
      out_wr <= out_wr + 1'b1; out_lane_n <= out_lane_n == 6'd{last_lane} ? 6'd0 : out_lane_n + 1'b1;
      if (engine$out_lane != out_lane_n) err[{internal}] <= 1'b1;
    end
    if (state == RUN && engine$out_valid && out_wr == out_expect) err[{internal}] <= 1'b1;
    case (state)
      LOAD: if (in_wr == in_expect) state <= START;
      START: state <= RUN;
      RUN: if (!engine$busy) begin
        state <= IDLE; comp_valid <= 1'b1; comp_tag <= tag;
        if (in_rd == in_expect && out_wr == out_expect) comp_status <= 8'd0;
        else begin comp_status <= 8'd1; err[{internal}] <= 1'b1; end
        jobs_done <= jobs_done + 1'b1; runs_done <= runs_done + rounds * 32'd{lanes}; last_job_cycles <= job_cycles;
      end
      default: ;
    endcase
    // Reads with side effects.
    if (bus_read) begin
      r_fifo <= bus_addr == 12'h{out_fifo:03x}; r_fifo_ok <= 1'b0; r_word <= out_wi;
      if (bus_addr == 12'h{cycles_lo:03x}) cycles_hi <= cycles[63:32];
      if (bus_addr == 12'h{busy_lo:03x}) busy_hi <= busy_cycles[63:32];
      if (bus_addr == 12'h{out_fifo:03x}) begin
        if (out_rd == out_wr) err[{underflow}] <= 1'b1;
        else begin
          r_fifo_ok <= 1'b1;
          if (out_wi == 4'd11) begin out_wi <= 4'd0; out_rd <= out_rd + 1'b1; end else out_wi <= out_wi + 1'b1;
        end
      end
      if (!({readable})) err[{bad_addr}] <= 1'b1;
    end
    // Writes.
    if (bus_write) begin
      if (!({writable})) err[{bad_addr}] <= 1'b1;
      if (bus_addr == 12'h{scratch:03x}) scratch <= bus_wdata;
      if (bus_addr == 12'h{job_op:03x}) job_opcode <= bus_wdata;
      if (bus_addr == 12'h{job_rounds:03x}) job_rounds <= bus_wdata;
      if (bus_addr == 12'h{ack:03x}) comp_valid <= 1'b0;
      if (in_word) begin
        if (state != LOAD || in_wr == in_expect) err[{overflow}] <= 1'b1;
        else if (in_wi == 4'd11) begin in_wi <= 4'd0; in_wr <= in_wr + 1'b1; end
        else begin in_asm[{{in_wi, 5'd0}} +: 32] <= bus_wdata; in_wi <= in_wi + 1'b1; end
      end
      if (bus_addr == 12'h{doorbell:03x}) begin
        if (state != IDLE || comp_valid) err[{busy_bell}] <= 1'b1;
        else if (!enabled) {not_enabled}
        else if (!req_valid) {bad_opcode}
        else if (job_rounds == 32'd0 || job_rounds > {{24'd0, req_max_rounds}}) {bad_rounds}
        else begin
          state <= LOAD; tag <= bus_wdata[15:0]; op <= job_opcode; rounds <= job_rounds[7:0];
          in_expect <= req_in_total[{ip}:0]; out_expect <= req_out_total[{op_}:0]; in_lane_n <= 6'd0; out_lane_n <= 6'd0;
          in_wr <= 0; in_rd <= 0; in_wi <= 4'd0; out_wr <= 0; out_rd <= 0; out_wi <= 4'd0; job_cycles <= 32'd0;
        end
      end
      if (bus_addr == 12'h{control:03x}) begin
        enabled <= bus_wdata[{enable}];
        if (bus_wdata[{clear}]) err <= 32'd0;
        if (bus_wdata[{soft}]) begin
          state <= IDLE; comp_valid <= 1'b0; err <= 32'd0; soft_reset <= 1'b1;
          in_wr <= 0; in_rd <= 0; in_wi <= 4'd0; out_wr <= 0; out_rd <= 0; out_wi <= 4'd0;
        end
      end
    end
  end
end",
        internal = bit(error::INTERNAL),
        underflow = bit(error::OUT_UNDERFLOW),
        overflow = bit(error::IN_OVERFLOW),
        bad_addr = bit(error::BAD_ADDRESS),
        busy_bell = bit(error::BUSY_DOORBELL),
        not_enabled = fail(error::NOT_ENABLED),
        bad_opcode = fail(error::BAD_OPCODE),
        bad_rounds = fail(error::BAD_ROUNDS),
        lanes = shape.lanes,
        out_fifo = regs::OUT_FIFO,
        cycles_lo = regs::CYCLES_LO,
        busy_lo = regs::BUSY_CYCLES_LO,
        scratch = regs::SCRATCH,
        job_op = regs::JOB_OPCODE,
        job_rounds = regs::JOB_ROUNDS,
        ack = regs::COMPLETION_ACK,
        doorbell = regs::DOORBELL,
        control = regs::CONTROL,
        enable = bit(control::ENABLE),
        clear = bit(control::CLEAR_ERRORS),
        soft = bit(control::SOFT_RESET),
        ip = ib - 1,
        op_ = ob - 1,
        last_lane = shape.lanes - 1,
    );
    v
}
