//! The engine core's Verilog body, generated from the microcode configuration and ROM.

use std::fmt::Write as _;
use std::sync::OnceLock;

use num_bigint::BigUint;
use tollgate_microcode::compile::isa::{self, flag_code, instr_bits, AluKind, IoOp, Operand};
use tollgate_microcode::compile::programs::ProgramKind;
use tollgate_microcode::compile::rom::Rom;
use tollgate_microcode::compile::{CompileError, EngineConfig, BANKS, BANK_LOAD, BANK_MUL};
use tollgate_microcode::field::Constant;
use tollgate_microcode::trace::{Const, FlagTest};

use super::{LANE_BITS, PC_BITS};
use crate::field::add_sub::ADD_SUB_LATENCY;
use crate::field::mont_mul::MONT_MUL_LATENCY;
use crate::field::{modulus, mont_r, FP_BITS};

/// Add/sub units the core instantiates (the encoding's maximum).
const ALU_SLOTS: usize = 3;
/// Cycles from a unit's result to the next read of its lane: the sequencer, ROM and register
/// read stages in front of the units (see `core_body`).
const ISSUE_STAGES: usize = 2;
/// Cycles the core stays busy after a job's last issue: every unit's last write lands.
pub const DRAIN_CYCLES: usize = MONT_MUL_LATENCY + ISSUE_STAGES + 4;

/// Fewest lanes that hide the field units' latency: a lane's next instruction reads its
/// operands K + 1 cycles after its issue cycle, a product is readable L + 3 cycles after it,
/// so K ≥ L + 2 (see `core_body`'s pipeline).
pub const MIN_LANES: usize = if MONT_MUL_LATENCY > ADD_SUB_LATENCY {
    MONT_MUL_LATENCY
} else {
    ADD_SUB_LATENCY
} + 2;

/// Lanes of the whole-verification core: the fewest that hide the latencies ([`MIN_LANES`])
/// rounded up so that the lanes' 8-byte scalars of a stream group fill whole memory-port beats
/// (the top level's unpacker takes one element kind per beat). The per-item cycles do not
/// depend on K; a few lanes more cost only register-file depth (see bench/RESULTS.md).
pub const VERIFY_LANES: usize =
    MIN_LANES.next_multiple_of(tollgate_abi::mem::BEAT_BYTES / tollgate_abi::SCALAR_BYTES);

/// The programs of the whole-verification core: signature decoding, hash to G2 (with the
/// subgroup check and cofactor clearing it is built from, also runnable alone), the blinding
/// of a batch check (r·pk in G1; Σ rᵢσᵢ in G2 by the bucket method, whose 54-instruction
/// step replaces MultiScalarG2's 4,055-instruction body in the ROM and in the cycles) and the
/// Miller loop, one pair per body run.
pub const VERIFY_PROGRAMS: [ProgramKind; 7] = [
    ProgramKind::DecodeG2,
    ProgramKind::SubgroupCheckG2,
    ProgramKind::ClearCofactorG2,
    ProgramKind::HashToG2,
    ProgramKind::ScalarMulG1,
    ProgramKind::BucketSumG2,
    ProgramKind::MillerLoop { pairs: 1 },
];

/// ISA features beyond the standard core's. Each costs logic, so the core has it only when
/// its ROM uses it: the standard core (the top level's) has neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    /// Operand codes [`isa::OPERAND_TABLE`].. read the [`Constant`] table.
    pub constant_table: bool,
    /// Alu opcode 0 with a test code sets one bit of the lane's scalar register.
    pub computed_flags: bool,
}

impl Extensions {
    /// Both features (to measure what they cost).
    pub const ALL: Extensions = Extensions {
        constant_table: true,
        computed_flags: true,
    };

    /// The features `rom`'s instructions use.
    pub fn used_by(rom: &Rom) -> Extensions {
        let table = |op: &Operand| matches!(op, Operand::Const(Const::Table(_)));
        let mut used = Extensions::default();
        for instr in &rom.instrs {
            if let Some(m) = &instr.mul {
                used.constant_table |= table(&m.a) || table(&m.b);
            }
            for op in instr.alu.iter().flatten() {
                used.constant_table |= table(&op.a) || table(&op.b);
                used.computed_flags |= matches!(op.kind, AluKind::SetFlag { .. });
            }
            if let Some(IoOp::Store { src }) = &instr.io {
                used.constant_table |= table(src);
            }
        }
        used
    }
}

/// What the generated core is built for.
#[derive(Clone, Debug)]
pub struct EngineParams {
    /// The compiled microcode (and the configuration it was compiled for).
    pub rom: Rom,
    /// The ISA features the core implements (by default those the ROM uses).
    pub extensions: Extensions,
    /// Banks declared with `(* ram_style = "ultra" *)` (none by default: the committed RTL
    /// has no attribute). yosys 0.23 maps a bank to URAM288 only when told: with `-uram`
    /// alone its cost table (1,024 per URAM288 against 257 per RAMB36) always picks block
    /// RAM. Simulation ignores the attribute.
    pub ultra_ram_banks: [bool; BANKS],
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
    /// Compiles the hardware ROM's programs for `config` and checks the core can run them
    /// without hazards.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        EngineParams::with_programs(config, &ProgramKind::ALL)
    }

    /// Compiles `kinds` for `config` and checks the core can run them without hazards.
    pub fn with_programs(config: EngineConfig, kinds: &[ProgramKind]) -> Result<Self, EngineError> {
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
        shape(
            config.lanes >= MIN_LANES,
            "too few lanes to hide the field units' latency",
        )?;
        shape(
            config.bank_regs.iter().all(|&n| n >= 2),
            "every bank holds at least two registers",
        )?;
        let rom = Rom::build_programs(config, kinds)?;
        shape(
            rom.instrs.len() < 1 << PC_BITS,
            "ROM larger than the program counter",
        )?;
        let extensions = Extensions::used_by(&rom);
        Ok(EngineParams {
            rom,
            extensions,
            ultra_ram_banks: [false; BANKS],
        })
    }

    /// The microcode crate's default configuration, compiled once.
    pub fn standard() -> &'static EngineParams {
        static STANDARD: OnceLock<EngineParams> = OnceLock::new();
        STANDARD.get_or_init(|| {
            EngineParams::new(EngineConfig::DEFAULT)
                .expect("the default configuration fits the core")
        })
    }

    /// The whole-verification core: [`VERIFY_PROGRAMS`] compiled for
    /// `EngineConfig::VERIFY`'s register window on [`VERIFY_LANES`] lanes (the ROM does not
    /// depend on K as long as K covers every latency: each dependence costs one instruction),
    /// compiled once. The model's multiplier latency is K, the longest any hazard-free
    /// schedule on K lanes may assume, so its hazard count (0 in the tests) covers this core.
    pub fn verification() -> &'static EngineParams {
        static VERIFY: OnceLock<EngineParams> = OnceLock::new();
        VERIFY.get_or_init(|| {
            let config = EngineConfig {
                lanes: VERIFY_LANES,
                mul_latency: VERIFY_LANES,
                ..EngineConfig::VERIFY
            };
            EngineParams::with_programs(config, &VERIFY_PROGRAMS)
                .expect("the verification programs fit the core")
        })
    }
}

/// Address bits of a bank of `n` registers per lane. A lane's part of a bank is rounded up to
/// a power of two, so that its address is {lane, register} and a register's offset in its bank
/// is the low bits of (number − base) whatever the base: a bank of 36 registers per lane
/// stores 64.
fn log2(n: usize) -> usize {
    bits_for(n)
}

/// `hi..lo` bit slice of `v`, `w` bits from `lo`.
fn slice(v: &str, lo: usize, w: usize) -> String {
    format!("{v}[{}:{lo}]", lo + w - 1)
}

/// Bit offsets of the fields of an instruction word (see tollgate_microcode::compile::isa).
struct Fields;
impl Fields {
    fn alu(i: usize) -> usize {
        isa::MUL_BITS + isa::ALU_BITS * i
    }
    fn io() -> usize {
        Fields::alu(ALU_SLOTS)
    }
}

/// Declarations of a delay line of `ADD_SUB_LATENCY` stages carrying `fields` (name, width),
/// registers `<prefix>_<name>[stage]`.
fn delay_line_regs(prefix: &str, fields: &[(&str, usize)]) -> String {
    fields
        .iter()
        .map(|&(name, width)| {
            let range = if width == 1 {
                String::new()
            } else {
                format!("[{}:0] ", width - 1)
            };
            format!("reg {range}{prefix}_{name} [0:{}];", ADD_SUB_LATENCY - 1)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The shifts of a delay line declared by [`delay_line_regs`], one line per stage after the
/// first.
fn delay_line_stages(prefix: &str, fields: &[(&str, usize)]) -> String {
    (1..ADD_SUB_LATENCY)
        .map(|s| {
            let shifts: Vec<String> = fields
                .iter()
                .map(|(name, _)| format!("{prefix}_{name}[{s}] <= {prefix}_{name}[{}];", s - 1))
                .collect();
            format!("always @(posedge clock) begin {} end\n", shifts.join(" "))
        })
        .collect()
}

/// Bits needed to number `n` things.
fn bits_for(n: usize) -> usize {
    (usize::BITS - (n - 1).leading_zeros()) as usize
}

/// The register image (Montgomery form, R = 2^384 as in crate::field) of a table constant.
fn table_image(c: Constant) -> BigUint {
    use ark_ff::{BigInteger as _, PrimeField as _};
    BigUint::from_bytes_be(&c.value().into_bigint().to_bytes_be()) * mont_r() % modulus()
}

/// The Verilog body of [`super::EngineCore`] for `params`.
///
/// Pipeline (cycle numbers relative to the cycle in which the sequencer points at a lane's
/// instruction): c+1 instruction word read from the ROM; c+2 operands read from every bank
/// (registered reads), selected, and presented to the units, stream port and select units;
/// the multiplier's product is written back at c+2+L+1, the add/sub results at c+2+4+1.
///
/// With [`Extensions::constant_table`], operand codes from [`isa::OPERAND_TABLE`] select the
/// table's constants in the operand multiplexers (no register-file port); with
/// [`Extensions::computed_flags`], each add/sub slot has a flag unit beside its select unit:
/// the test on operand a's image, delayed like the select to the add/sub latency, written to
/// one bit of the lane's scalar register.
pub fn core_body(params: &EngineParams) -> String {
    let cfg = params.rom.config;
    let ext = params.extensions;
    let ob = isa::OPERAND_BITS;
    let table: Vec<Constant> = if ext.constant_table {
        Constant::ALL.to_vec()
    } else {
        Vec::new()
    };
    // Operand sources: the banks, the constants 0 and 1, the table's entries.
    let sw = bits_for(BANKS + 2 + table.len());
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
    let finish = format!("begin phase <= 2'd0; drain <= 8'd{DRAIN_CYCLES}; end");
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
    for (b, &ultra) in params.ultra_ram_banks.iter().enumerate() {
        let _ = writeln!(
            w,
            "{}reg [{}:0] bank{b} [0:{}];",
            if ultra {
                "(* ram_style = \"ultra\" *) "
            } else {
                ""
            },
            fp - 1,
            (k << log2(cfg.bank_regs[b])) - 1
        );
    }
    // Read consumers: multiplier a/b, each add/sub unit's a/b, the store operand.
    let mut consumers: Vec<(String, usize)> =
        vec![("mul_a".into(), isa::MUL_A), ("mul_b".into(), isa::MUL_B)];
    for i in 0..ALU_SLOTS {
        consumers.push((format!("alu{i}_a"), Fields::alu(i) + isa::ALU_A));
        consumers.push((format!("alu{i}_b"), Fields::alu(i) + isa::ALU_B));
    }
    consumers.push(("st".into(), Fields::io() + isa::IO_OPERAND));
    // Which bank (or constant) an operand code names: 0..BANKS banks, BANKS zero, BANKS+1 one
    // (every other code outside the banks, without the table), BANKS+2+i table entry i.
    let source_of = |code: &str| {
        let mut e = format!("{sw}'d{}", BANKS + 1);
        for (i, c) in table.iter().enumerate().rev() {
            e = format!(
                "({code} == {ob}'d{}) ? {sw}'d{} : {e}",
                isa::OPERAND_TABLE as usize + c.index(),
                BANKS + 2 + i
            );
        }
        e = format!(
            "({code} == {ob}'d{}) ? {sw}'d{BANKS} : {e}",
            isa::OPERAND_ZERO
        );
        for b in (0..BANKS).rev() {
            let low = if base[b] == 0 {
                String::new()
            } else {
                format!("{code} >= {ob}'d{} && ", base[b])
            };
            e = format!(
                "({low}{code} < {ob}'d{}) ? {sw}'d{b} : {e}",
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
        let code = slice("instr1", *off, ob);
        let _ = writeln!(w, "reg [{}:0] src_{name};", sw - 1);
        let _ = writeln!(
            w,
            "always @(posedge clock) src_{name} <= {};",
            source_of(&code)
        );
        for (b, (&regs, &base)) in cfg.bank_regs.iter().zip(&base).enumerate() {
            let bits = log2(regs);
            let _ = writeln!(
                w,
                "wire [{}:0] loc_{name}_{b} = {code} - {ob}'d{};
reg [{}:0] rd_{name}_{b};
always @(posedge clock) rd_{name}_{b} <= bank{b}[{{lane1, loc_{name}_{b}[{}:0]}}];",
                ob - 1,
                base,
                fp - 1,
                bits - 1
            );
        }
        let mut sel = format!("{fp}'h{one:x}");
        for (i, c) in table.iter().enumerate().rev() {
            sel = format!(
                "(src_{name} == {sw}'d{}) ? {fp}'h{:x} : {sel}",
                BANKS + 2 + i,
                table_image(*c)
            );
        }
        sel = format!("(src_{name} == {sw}'d{BANKS}) ? {fp}'d0 : {sel}");
        for b in (0..BANKS).rev() {
            sel = format!("(src_{name} == {sw}'d{b}) ? rd_{name}_{b} : {sel}");
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
        en = isa::MUL_EN,
        dst = slice("instr2", isa::MUL_DST, ob)
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
        let cb = isa::OPCODE_BITS;
        let code = slice("instr2", at, cb);
        let dst = slice("instr2", at + isa::ALU_DST, ob);
        let bit = slice("instr2", at + isa::ALU_BIT, isa::BIT_INDEX_BITS);
        let (add, sub, select) = (isa::ALU_ADD, isa::ALU_SUB, isa::ALU_SELECT);
        let _ = writeln!(
            w,
            "always @(*) begin
  alu{i}$clock = clock;
  alu{i}$in_valid = v2 && ({code} == {cb}'d{add} || {code} == {cb}'d{sub});
  alu{i}$in_tag = {{lane2, {dst}}};
  alu{i}$op = ({code} == {cb}'d{sub}) ? 2'd1 : 2'd0;
  alu{i}$a = val_alu{i}_a;
  alu{i}$b = val_alu{i}_b;
end"
        );
        // The select unit: a mux on the lane's scalar bit, delayed to the add/sub latency so
        // that the bank's single write port never sees two results at once.
        let select_line = [("v", 1), ("tag", lb + 7), ("val", fp)];
        let _ = writeln!(w, "{}", delay_line_regs(&format!("sel{i}"), &select_line));
        let _ = writeln!(
            w,
            "wire [63:0] sc{i} = scalar[lane2];
always @(posedge clock) begin
  sel{i}_v[0] <= v2 && {code} == {cb}'d{select};
  sel{i}_tag[0] <= {{lane2, {dst}}};
  sel{i}_val[0] <= sc{i}[{bit}] ? val_alu{i}_a : val_alu{i}_b;
end"
        );
        w.push_str(&delay_line_stages(&format!("sel{i}"), &select_line));
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
        if ext.computed_flags {
            // The flag unit: the test code rides in the destination field of opcode 0 (0
            // there is "no operation"); the result takes the select's path and latency.
            let flag_line = [
                ("v", 1),
                ("lane", lb),
                ("bit", isa::BIT_INDEX_BITS),
                ("val", 1),
            ];
            let (zero, lsb) = (flag_code(FlagTest::IsZero), flag_code(FlagTest::ImageLsb));
            let _ = writeln!(w, "{}", delay_line_regs(&format!("fl{i}"), &flag_line));
            let _ = writeln!(
                w,
                "wire [{}:0] fl{i}_test = {dst};
always @(posedge clock) begin
  fl{i}_v[0] <= v2 && {code} == {cb}'d{none} && (fl{i}_test == {ob}'d{zero} || fl{i}_test == {ob}'d{lsb});
  fl{i}_lane[0] <= lane2;
  fl{i}_bit[0] <= {bit};
  fl{i}_val[0] <= (fl{i}_test == {ob}'d{zero}) ? ~|val_alu{i}_a : val_alu{i}_a[0];
end",
                ob - 1,
                none = isa::ALU_NONE_OR_FLAG
            );
            w.push_str(&delay_line_stages(&format!("fl{i}"), &flag_line));
        }
    }

    // ---- stream port ----
    let io = Fields::io();
    let io_code = slice("instr2", io, isa::OPCODE_BITS);
    let load_bits = log2(cfg.bank_regs[BANK_LOAD]);
    let load_reg = slice("instr2", io + isa::IO_OPERAND, load_bits);
    // Computed flags land in the scalar registers beside the loads, in the same process: one
    // write per slot per cycle, to one bit (the compiler keeps a lane's loads and flags apart).
    let last = ADD_SUB_LATENCY - 1;
    let flag_writes: String = (0..ALU_SLOTS)
        .filter(|_| ext.computed_flags)
        .map(|i| {
            format!(
                "  if (fl{i}_v[{last}]) scalar[fl{i}_lane[{last}]][fl{i}_bit[{last}]] <= fl{i}_val[{last}];\n"
            )
        })
        .collect();
    let _ = writeln!(
        w,
        "always @(*) begin in_pop = v2 && ({io_code} == 2'd1 || {io_code} == 2'd2); in_lane = lane2; end
always @(posedge clock) begin
  if (v2 && {io_code} == 2'd1) bank{BANK_LOAD}[{{lane2, {load_reg} - {load_bits}'d{lbase}}}] <= in_data;
  if (v2 && {io_code} == 2'd2) scalar[lane2] <= in_data[63:0];
{flag_writes}end
reg out_valid_r; reg [{l}:0] out_lane_r; reg [{f}:0] out_data_r;
always @(posedge clock) begin out_valid_r <= v2 && {io_code} == 2'd3; out_lane_r <= lane2; out_data_r <= val_st; end
always @(*) begin out_valid = out_valid_r; out_lane = out_lane_r; out_data = out_data_r; end",
        lbase = base[BANK_LOAD] % (1 << load_bits),
        l = lb - 1,
        f = fp - 1
    );
    v
}
