//! The engine core's Verilog body, generated from the microcode configuration and ROM.

use std::fmt::Write as _;
use std::sync::OnceLock;

use tollgate_microcode::compile::isa::instr_bits;
use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::compile::{CompileError, EngineConfig, BANKS, BANK_LOAD, BANK_MUL};

use super::{LANE_BITS, PC_BITS};
use crate::field::add_sub::ADD_SUB_LATENCY;
use crate::field::mont_mul::MONT_MUL_LATENCY;
use crate::field::{modulus, mont_r, FP_BITS};

/// Add/sub units the core instantiates (the encoding's maximum).
const ALU_SLOTS: usize = 3;
/// Cycles from a unit's result to the next read of its lane: the sequencer, ROM and register
/// read stages in front of the units (see `core_body`).
const ISSUE_STAGES: usize = 2;

/// What the generated core is built for.
#[derive(Debug)]
pub struct EngineParams {
    /// The compiled microcode (and the configuration it was compiled for).
    pub rom: Rom,
}

/// Why a configuration cannot be built as this core.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The microcode does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The core's shape is fixed in places.
    #[error("unsupported engine shape: {0}")]
    Shape(String),
}

impl EngineParams {
    /// Compiles the microcode for `config` and checks the core can run it without hazards.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        let shape = |cond: bool, what: &str| {
            if cond {
                Ok(())
            } else {
                Err(EngineError::Shape(what.into()))
            }
        };
        shape(
            config.alu_slots == ALU_SLOTS,
            "the core has exactly three add/sub units",
        )?;
        shape(config.lanes <= 1 << LANE_BITS, "at most 64 lanes")?;
        // A product lands ISSUE_STAGES + latency + 1 cycles after issue; the lane's next
        // instruction reads its operands K + ISSUE_STAGES - 1 cycles after issue... the write
        // must come first.
        shape(
            config.lanes > MONT_MUL_LATENCY.max(ADD_SUB_LATENCY) + 1,
            "too few lanes to hide the field units' latency",
        )?;
        shape(
            config.bank_regs.iter().all(|&n| n.is_power_of_two()),
            "bank sizes are powers of two",
        )?;
        let rom = Rom::build(config)?;
        shape(
            rom.instrs.len() < 1 << PC_BITS,
            "ROM larger than the program counter",
        )?;
        Ok(EngineParams { rom })
    }

    /// The microcode crate's default configuration, compiled once.
    pub fn standard() -> &'static EngineParams {
        static STANDARD: OnceLock<EngineParams> = OnceLock::new();
        STANDARD.get_or_init(|| {
            EngineParams::new(EngineConfig::DEFAULT)
                .expect("the default configuration fits the core")
        })
    }
}

fn log2(n: usize) -> usize {
    n.trailing_zeros() as usize
}

/// `hi..lo` bit slice of `v`, `w` bits from `lo`.
fn slice(v: &str, lo: usize, w: usize) -> String {
    format!("{v}[{}:{lo}]", lo + w - 1)
}

/// Bit offsets of the fields of an instruction word (see tollgate_microcode::compile::isa).
struct Fields;
impl Fields {
    const MUL_EN: usize = 0;
    const MUL_DST: usize = 1;
    const MUL_A: usize = 8;
    const MUL_B: usize = 15;
    fn alu(i: usize) -> usize {
        22 + 29 * i
    }
    fn io() -> usize {
        22 + 29 * ALU_SLOTS
    }
}

/// Operand code of the constant 0 (tollgate_microcode::compile::isa); every other code
/// outside the banks is the constant 1.
const OPERAND_ZERO: usize = 112;

/// The Verilog body of [`super::EngineCore`] for `params`.
///
/// Pipeline (cycle numbers relative to the cycle in which the sequencer points at a lane's
/// instruction): c+1 instruction word read from the ROM; c+2 operands read from every bank
/// (registered reads), selected, and presented to the units, stream port and select units;
/// the multiplier's product is written back at c+2+L+1, the add/sub results at c+2+4+1.
pub fn core_body(params: &EngineParams) -> String {
    let cfg = params.rom.config;
    let k = cfg.lanes;
    let wb = instr_bits(ALU_SLOTS);
    let fp = FP_BITS;
    let lb = LANE_BITS;
    let base: Vec<usize> = (0..BANKS)
        .map(|b| cfg.bank_regs[..b].iter().sum())
        .collect();
    let one = mont_r() % modulus();
    let mut v = String::new();
    let w = &mut v;

    // ---- ROM ----
    let _ = writeln!(
        w,
        "reg [{}:0] rom [0:{}];",
        wb - 1,
        params.rom.instrs.len() - 1
    );
    let _ = writeln!(w, "initial begin");
    for (i, word) in params.rom.words().iter().enumerate() {
        let _ = writeln!(w, "  rom[{i}] = {wb}'h{word:x};");
    }
    let _ = writeln!(w, "end");

    // ---- sequencer ----
    let _ = writeln!(
        w,
        "reg [1:0] phase; reg [{p}:0] pc; reg [{p}:0] last_pc; reg [{l}:0] lane; reg [31:0] rounds_left; reg [7:0] drain;
reg [{p}:0] j_body_start; reg [{p}:0] j_body_len; reg [{p}:0] j_epi_start; reg [{p}:0] j_epi_len;
wire seg_end = (lane == {l1}'d{km1}) && (pc == last_pc);",
        p = PC_BITS - 1,
        l = lb - 1,
        l1 = lb,
        km1 = k - 1
    );
    let enter = |phase: usize, start: &str, len: &str| {
        format!("begin phase <= 2'd{phase}; pc <= {start}; last_pc <= {start} + {len} - 1'b1; lane <= 0; end")
    };
    let finish = format!(
        "begin phase <= 2'd0; drain <= 8'd{}; end",
        MONT_MUL_LATENCY + ISSUE_STAGES + 4
    );
    let after_body = format!(
        "if (j_epi_len != 0) {} else {}",
        enter(3, "j_epi_start", "j_epi_len"),
        finish
    );
    let _ = writeln!(
        w,
        "always @(posedge clock) begin
  if (reset) begin phase <= 2'd0; drain <= 8'd0; lane <= 0; pc <= 0; last_pc <= 0; rounds_left <= 0; end
  else if (phase == 2'd0) begin
    if (drain != 0) drain <= drain - 1'b1;
    if (start) begin
      j_body_start <= body_start; j_body_len <= body_len; j_epi_start <= epi_start; j_epi_len <= epi_len;
      rounds_left <= rounds - 1'b1;
      if (pro_len != 0) {pro}
      else if (body_len != 0 && rounds != 0) {body_now}
      else if (epi_len != 0) {epi_now}
    end
  end
  else if (seg_end) begin
    if (phase == 2'd1) begin
      if (j_body_len != 0 && rounds_left != 32'hffffffff) {body}
      else {after_body}
    end
    else if (phase == 2'd2) begin
      if (rounds_left != 0) begin rounds_left <= rounds_left - 1'b1; {body} end
      else {after_body}
    end
    else {finish}
  end
  else if (lane == {l1}'d{km1}) begin lane <= 0; pc <= pc + 1'b1; end
  else lane <= lane + 1'b1;
end",
        pro = enter(1, "pro_start", "pro_len"),
        body_now = enter(2, "body_start", "body_len"),
        epi_now = enter(3, "epi_start", "epi_len"),
        body = enter(2, "j_body_start", "j_body_len"),
        l1 = lb,
        km1 = k - 1
    );

    // ---- stage 1: instruction word ----
    let _ = writeln!(
        w,
        "reg [{}:0] instr1; reg [{}:0] lane1; reg v1;
always @(posedge clock) begin instr1 <= rom[pc]; lane1 <= lane; v1 <= !reset && phase != 2'd0; end",
        wb - 1,
        lb - 1
    );

    // ---- register file: one single-writer bank per unit ----
    for b in 0..BANKS {
        let _ = writeln!(
            w,
            "reg [{}:0] bank{b} [0:{}];",
            fp - 1,
            k * cfg.bank_regs[b] - 1
        );
    }
    // Read consumers: multiplier a/b, each add/sub unit's a/b, the store operand.
    let mut consumers: Vec<(String, usize)> = vec![
        ("mul_a".into(), Fields::MUL_A),
        ("mul_b".into(), Fields::MUL_B),
    ];
    for i in 0..ALU_SLOTS {
        consumers.push((format!("alu{i}_a"), Fields::alu(i) + 9));
        consumers.push((format!("alu{i}_b"), Fields::alu(i) + 16));
    }
    consumers.push(("st".into(), Fields::io() + 2));
    // Which bank (or constant) an operand code names: 0..BANKS banks, BANKS zero, BANKS+1 one.
    let source_of = |code: &str| {
        let mut e = format!("3'd{}", BANKS + 1);
        e = format!("({code} == 7'd{OPERAND_ZERO}) ? 3'd{BANKS} : {e}");
        for b in (0..BANKS).rev() {
            let low = if base[b] == 0 {
                String::new()
            } else {
                format!("{code} >= 7'd{} && ", base[b])
            };
            e = format!(
                "({low}{code} < 7'd{}) ? 3'd{b} : {e}",
                base[b] + cfg.bank_regs[b]
            );
        }
        e
    };
    let _ = writeln!(
        w,
        "reg [{}:0] instr2; reg [{}:0] lane2; reg v2;",
        wb - 1,
        lb - 1
    );
    let _ = writeln!(
        w,
        "always @(posedge clock) begin instr2 <= instr1; lane2 <= lane1; v2 <= v1 && !reset; end"
    );
    let _ = writeln!(
        w,
        "always @(*) busy = (phase != 2'd0) || (drain != 0) || v1 || v2;"
    );
    for (name, off) in &consumers {
        let code = slice("instr1", *off, 7);
        let _ = writeln!(w, "reg [2:0] src_{name};");
        let _ = writeln!(
            w,
            "always @(posedge clock) src_{name} <= {};",
            source_of(&code)
        );
        for (b, (&regs, &base)) in cfg.bank_regs.iter().zip(&base).enumerate() {
            let bits = log2(regs);
            let _ = writeln!(
                w,
                "wire [6:0] loc_{name}_{b} = {code} - 7'd{};
reg [{}:0] rd_{name}_{b};
always @(posedge clock) rd_{name}_{b} <= bank{b}[{{lane1, loc_{name}_{b}[{}:0]}}];",
                base,
                fp - 1,
                bits - 1
            );
        }
        let mut sel = format!("{fp}'h{one:x}");
        sel = format!("(src_{name} == 3'd{BANKS}) ? {fp}'d0 : {sel}");
        for b in (0..BANKS).rev() {
            sel = format!("(src_{name} == 3'd{b}) ? rd_{name}_{b} : {sel}");
        }
        let _ = writeln!(w, "wire [{}:0] val_{name} = {sel};", fp - 1);
    }

    // ---- stage 2: issue to the units ----
    let _ = writeln!(
        w,
        "always @(*) begin
  mul$clock = clock;
  mul$in_valid = v2 && instr2[{en}];
  mul$in_tag = {{lane2, {dst}}};
  mul$a = val_mul_a;
  mul$b = val_mul_b;
  mul_issue = v2 && instr2[{en}];
end",
        en = Fields::MUL_EN,
        dst = slice("instr2", Fields::MUL_DST, 7)
    );
    let write = |bank: usize, tag: &str| {
        format!(
            "bank{bank}[{{{tag}[{hi}:7], {sub}}}]",
            hi = lb + 6,
            sub = {
                let bits = log2(cfg.bank_regs[bank]);
                format!(
                    "({tag}[{}:0] - {bits}'d{})",
                    bits - 1,
                    base[bank] % (1 << bits)
                )
            }
        )
    };
    let _ = writeln!(
        w,
        "always @(posedge clock) if (mul$out_valid) {} <= mul$result;",
        write(BANK_MUL, "mul$out_tag")
    );
    let _ = writeln!(w, "reg [63:0] scalar [0:{}];", k - 1);
    for i in 0..ALU_SLOTS {
        let at = Fields::alu(i);
        let code = slice("instr2", at, 2);
        let dst = slice("instr2", at + 2, 7);
        let bit = slice("instr2", at + 23, 6);
        let _ = writeln!(
            w,
            "always @(*) begin
  alu{i}$clock = clock;
  alu{i}$in_valid = v2 && ({code} == 2'd1 || {code} == 2'd2);
  alu{i}$in_tag = {{lane2, {dst}}};
  alu{i}$op = ({code} == 2'd2) ? 2'd1 : 2'd0;
  alu{i}$a = val_alu{i}_a;
  alu{i}$b = val_alu{i}_b;
end"
        );
        // The select unit: a mux on the lane's scalar bit, delayed to the add/sub latency so
        // that the bank's single write port never sees two results at once.
        let _ = writeln!(
            w,
            "reg sel{i}_v [0:{}]; reg [{}:0] sel{i}_tag [0:{}]; reg [{}:0] sel{i}_val [0:{}];",
            ADD_SUB_LATENCY - 1,
            lb + 6,
            ADD_SUB_LATENCY - 1,
            fp - 1,
            ADD_SUB_LATENCY - 1
        );
        let _ = writeln!(
            w,
            "wire [63:0] sc{i} = scalar[lane2];
always @(posedge clock) begin
  sel{i}_v[0] <= v2 && {code} == 2'd3;
  sel{i}_tag[0] <= {{lane2, {dst}}};
  sel{i}_val[0] <= sc{i}[{bit}] ? val_alu{i}_a : val_alu{i}_b;
end"
        );
        for s in 1..ADD_SUB_LATENCY {
            let _ = writeln!(
                w,
                "always @(posedge clock) begin sel{i}_v[{s}] <= sel{i}_v[{p}]; sel{i}_tag[{s}] <= sel{i}_tag[{p}]; sel{i}_val[{s}] <= sel{i}_val[{p}]; end",
                p = s - 1
            );
        }
        let last = ADD_SUB_LATENCY - 1;
        let _ = writeln!(
            w,
            "wire [{t}:0] sel{i}_out_tag = sel{i}_tag[{last}];
always @(posedge clock) begin
  if (alu{i}$out_valid) {} <= alu{i}$result;
  else if (sel{i}_v[{last}]) {} <= sel{i}_val[{last}];
end",
            write(i, &format!("alu{i}$out_tag")),
            write(i, &format!("sel{i}_out_tag")),
            t = lb + 6
        );
    }

    // ---- stream port ----
    let io = Fields::io();
    let io_code = slice("instr2", io, 2);
    let load_bits = log2(cfg.bank_regs[BANK_LOAD]);
    let load_reg = slice("instr2", io + 2, load_bits);
    let _ = writeln!(
        w,
        "always @(*) begin in_pop = v2 && ({io_code} == 2'd1 || {io_code} == 2'd2); in_lane = lane2; end
always @(posedge clock) begin
  if (v2 && {io_code} == 2'd1) bank{BANK_LOAD}[{{lane2, {load_reg} - {load_bits}'d{lbase}}}] <= in_data;
  if (v2 && {io_code} == 2'd2) scalar[lane2] <= in_data[63:0];
end
reg out_valid_r; reg [{l}:0] out_lane_r; reg [{f}:0] out_data_r;
always @(posedge clock) begin out_valid_r <= v2 && {io_code} == 2'd3; out_lane_r <= lane2; out_data_r <= val_st; end
always @(*) begin out_valid = out_valid_r; out_lane = out_lane_r; out_data = out_data_r; end",
        lbase = base[BANK_LOAD] % (1 << load_bits),
        l = lb - 1,
        f = fp - 1
    );
    v
}
