//! The instruction-set executor: the semantics of every instruction of `spec::isa` (LOAD, STORE,
//! GEMM with every B source and output mode, LAYERNORM, SOFTMAX, COLMEAN, SELECT), once, on a
//! [`Machine`] (scratchpad banks and DRAM). The golden device backend of `host` runs programs
//! with it; hardware unit tests can use it as their reference ([`select`] also works on plain
//! rows, without a machine).
//!
//! An instruction given to [`Machine::execute`] is resolved (live sizes filled in) and has passed
//! `Insn::check`; what remains to fail is data: a DRAM access outside the memory (AXI_ERROR) or a
//! requantization word outside the numerics contract (BAD_FIELD).

mod gemm;
pub mod select;
mod vector;

use spec::isa::{Dma, Insn, Op};
use spec::regmap::error_code;
use spec::AccelConfig;

/// Why an instruction stopped: its ERROR_CODE (`spec::regmap::error_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecFault(pub u32);

/// What an instruction left besides memory contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing else.
    Done,
    /// A SELECT: the keep decision of every live token and the new live token count (the value
    /// of LIVE_TOKENS from now on).
    Selected {
        /// Per live token: kept (by the decision or as a prefix token).
        keep: Vec<bool>,
        /// Tokens live after the SELECT (kept tokens plus the package token, if any).
        live: u16,
    },
}

/// The state instructions act on: the scratchpad banks and DRAM.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The configuration (array size, banks, bank size).
    pub cfg: AccelConfig,
    /// Scratchpad banks, `bank_words` words of `R` bytes each.
    pub banks: Vec<Vec<u8>>,
    /// DRAM; byte address `a` is `mem[a]`.
    pub mem: Vec<u8>,
}

impl Machine {
    /// Zeroed banks and `mem_bytes` of zeroed DRAM.
    pub fn new(cfg: &AccelConfig, mem_bytes: usize) -> Self {
        let bank_bytes = cfg.bank_words * cfg.word_bytes();
        Machine { cfg: cfg.clone(), banks: vec![vec![0; bank_bytes]; cfg.banks], mem: vec![0; mem_bytes] }
    }

    /// Run one resolved, checked instruction.
    pub fn execute(&mut self, insn: &Insn) -> Result<Outcome, ExecFault> {
        match &insn.op {
            Op::Load(d) => self.load(d)?,
            Op::Store(d) => self.store(d)?,
            Op::Gemm(g) => self.gemm(g)?,
            Op::LayerNorm(v) => self.layernorm(v),
            Op::Softmax(v) => self.softmax(v),
            Op::ColMean(v) => self.colmean(v),
            Op::Select(v) => return Ok(self.select(v)),
        }
        Ok(Outcome::Done)
    }

    /// `len` bytes of DRAM from `addr`, or AXI_ERROR if any lies outside the memory.
    pub fn dram(&self, addr: u64, len: usize) -> Result<&[u8], ExecFault> {
        let end = addr.checked_add(len as u64).ok_or(ExecFault(error_code::AXI_ERROR))?;
        if end > self.mem.len() as u64 {
            return Err(ExecFault(error_code::AXI_ERROR));
        }
        Ok(&self.mem[addr as usize..end as usize])
    }

    /// Byte offset in a bank of byte `b` of word `addr` (word addresses wrap modulo the bank
    /// size, as the hardware's address bits do).
    pub fn at(&self, addr: u64, b: usize) -> usize {
        (addr % self.cfg.bank_words as u64) as usize * self.cfg.word_bytes() + b
    }

    /// Byte `b` of word `addr` of `bank`.
    fn sp(&self, bank: u8, addr: u64, b: usize) -> u8 {
        self.banks[bank as usize][self.at(addr, b)]
    }

    /// Byte `i` of the byte string starting at word `addr` of `bank`.
    fn sp_seq(&self, bank: u8, addr: u64, i: usize) -> u8 {
        let r = self.cfg.word_bytes();
        self.sp(bank, addr + (i / r) as u64, i % r)
    }

    /// Byte offset in its bank of channel `i` of row `row` of a token-major matrix at word
    /// `addr` with row stride `stride`.
    fn channel(&self, addr: u32, stride: u32, row: usize, i: usize) -> usize {
        let r = self.cfg.word_bytes();
        self.at(addr as u64 + row as u64 * stride as u64 + (i / r) as u64, i % r)
    }

    fn load(&mut self, d: &Dma) -> Result<(), ExecFault> {
        let wb = self.cfg.word_bytes();
        for r in 0..d.rows as u64 {
            let src = self.dram(d.dram + r * d.dram_stride, d.words as usize * wb)?.to_vec();
            for w in 0..d.words as u64 {
                let a = self.at(d.sp.addr as u64 + r * d.sp_stride as u64 + w, 0);
                let s = w as usize * wb;
                self.banks[d.sp.bank as usize][a..a + wb].copy_from_slice(&src[s..s + wb]);
            }
        }
        Ok(())
    }

    fn store(&mut self, d: &Dma) -> Result<(), ExecFault> {
        let wb = self.cfg.word_bytes();
        for r in 0..d.rows as u64 {
            let dst = d.dram + r * d.dram_stride;
            self.dram(dst, d.words as usize * wb)?;
            for w in 0..d.words as u64 {
                let a = self.at(d.sp.addr as u64 + r * d.sp_stride as u64 + w, 0);
                let o = (dst + w * wb as u64) as usize;
                self.mem[o..o + wb].copy_from_slice(&self.banks[d.sp.bank as usize][a..a + wb]);
            }
        }
        Ok(())
    }
}
