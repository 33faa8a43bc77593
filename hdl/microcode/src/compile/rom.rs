//! The microcode ROM image: every program's segments back to back, and a table of where each
//! starts, which the sequencer uses to step through a job.

use std::ops::Range;

use super::isa::{instr_bits, Instr};
use super::programs::{compile_program, Program, ProgramKind};
use super::{CompileError, EngineConfig};

/// Where one program lives in the ROM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramEntry {
    /// Which program.
    pub kind: ProgramKind,
    /// Prologue instructions.
    pub prologue: Range<usize>,
    /// Body instructions (repeated per item).
    pub body: Range<usize>,
    /// Epilogue instructions.
    pub epilogue: Range<usize>,
    /// Input words per item.
    pub loads_per_item: usize,
    /// Output words per item.
    pub stores_per_item: usize,
    /// Output words of the epilogue.
    pub stores_at_end: usize,
}

/// The compiled microcode of every program for one engine configuration.
#[derive(Clone, Debug)]
pub struct Rom {
    /// The configuration it was compiled for.
    pub config: EngineConfig,
    /// All instructions.
    pub instrs: Vec<Instr>,
    /// The program table.
    pub programs: Vec<ProgramEntry>,
    /// The compiled programs (with per-segment statistics).
    pub compiled: Vec<Program>,
}

impl Rom {
    /// Compiles every program of the hardware ROM ([`ProgramKind::ALL`]).
    pub fn build(config: EngineConfig) -> Result<Rom, CompileError> {
        Rom::build_programs(config, &ProgramKind::ALL)
    }

    /// Compiles `kinds`, in that order.
    pub fn build_programs(
        config: EngineConfig,
        kinds: &[ProgramKind],
    ) -> Result<Rom, CompileError> {
        let mut instrs = Vec::new();
        let mut programs = Vec::new();
        let mut compiled = Vec::new();
        for &kind in kinds {
            let program = compile_program(kind, &config)?;
            let mut place = |seg: &[Instr]| {
                let start = instrs.len();
                instrs.extend_from_slice(seg);
                start..instrs.len()
            };
            let prologue = place(&program.prologue.instrs);
            let body = place(&program.body.instrs);
            let epilogue = place(&program.epilogue.instrs);
            programs.push(ProgramEntry {
                kind,
                prologue,
                body,
                epilogue,
                loads_per_item: program.body.loads,
                stores_per_item: program.body.stores,
                stores_at_end: program.epilogue.stores,
            });
            compiled.push(program);
        }
        Ok(Rom {
            config,
            instrs,
            programs,
            compiled,
        })
    }

    /// The table entry of `kind`.
    pub fn entry(&self, kind: ProgramKind) -> &ProgramEntry {
        self.programs
            .iter()
            .find(|p| p.kind == kind)
            .expect("the ROM holds this program")
    }

    /// The compiled program of `kind`.
    pub fn program(&self, kind: ProgramKind) -> &Program {
        self.compiled
            .iter()
            .find(|p| p.kind == kind)
            .expect("the ROM holds this program")
    }

    /// The ROM words, one per instruction.
    pub fn words(&self) -> Vec<u128> {
        self.instrs.iter().map(Instr::encode).collect()
    }

    /// Width of a ROM word in bits.
    pub fn word_bits(&self) -> usize {
        instr_bits(self.config.alu_slots)
    }
}
