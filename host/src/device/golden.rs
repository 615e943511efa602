//! The `golden` backend: an instruction-set simulator of the accelerator built on the golden
//! model's integer kernels (like VTA's fsim). It executes a program instruction by instruction
//! with the hardware's semantics (scratchpad banks, packed weight streams, requantization) and
//! fills CYCLES/ACTIVE from the analytic cycle model, so the same program can be checked on it
//! and on the RTL.

use super::{Device, DeviceError};
use crate::cycle_model::CycleModel;
use spec::isa::{self, Dma, Gemm, Insn, IsaError, INSN_BYTES};
use spec::numerics::{requant_i8, Dyadic, MAX_SHIFT, MULT_FRAC_BITS};
use spec::regmap::{self, error_code, status};
use spec::AccelConfig;
use std::time::Duration;

/// The instruction-set simulator.
pub struct GoldenDevice {
    cfg: AccelConfig,
    mem: Vec<u8>,
    banks: Vec<Vec<u8>>,
    regs: Vec<u32>,
    model: CycleModel,
}

/// Why an instruction stopped (mirrors ERROR_CODE).
struct Fault(u32);

impl From<IsaError> for Fault {
    fn from(e: IsaError) -> Self {
        match e {
            IsaError::BadOpcode(_) => Fault(error_code::BAD_OPCODE),
            IsaError::BadField { .. } => Fault(error_code::BAD_FIELD),
        }
    }
}

impl GoldenDevice {
    /// A device with `mem_bytes` of DRAM.
    pub fn new(cfg: &AccelConfig, mem_bytes: usize) -> Self {
        let bank_bytes = cfg.bank_words * cfg.word_bytes();
        GoldenDevice {
            cfg: cfg.clone(),
            mem: vec![0; mem_bytes],
            banks: vec![vec![0; bank_bytes]; cfg.banks],
            regs: vec![0; 0x40 / 4],
            model: CycleModel::new(cfg),
        }
    }

    fn reg(&self, r: regmap::Register) -> u32 {
        self.regs[(r.offset / 4) as usize]
    }

    fn set(&mut self, r: regmap::Register, v: u32) {
        self.regs[(r.offset / 4) as usize] = v;
    }

    fn dram(&self, addr: u64, len: usize) -> Result<&[u8], Fault> {
        let end = addr.checked_add(len as u64).ok_or(Fault(error_code::AXI_ERROR))?;
        if end > self.mem.len() as u64 {
            return Err(Fault(error_code::AXI_ERROR));
        }
        Ok(&self.mem[addr as usize..end as usize])
    }

    /// Byte `b` of word `addr` (wrapping modulo the bank size, as the hardware does) of `bank`.
    fn sp_byte(&self, bank: u8, addr: u64, b: usize) -> u8 {
        let words = self.cfg.bank_words as u64;
        self.banks[bank as usize][(addr % words) as usize * self.cfg.word_bytes() + b]
    }

    fn check_bank(&self, bank: u8, addr: u32, stride: u32) -> Result<(), Fault> {
        let max = self.cfg.bank_words as u32;
        if bank as usize >= self.cfg.banks || addr >= max || stride >= max {
            return Err(Fault(error_code::BAD_FIELD));
        }
        Ok(())
    }

    fn check_dma(&self, d: &Dma) -> Result<(), Fault> {
        let wb = self.cfg.word_bytes() as u64;
        self.check_bank(d.sp.bank, d.sp.addr, d.sp_stride)?;
        if d.rows == 0 || d.words == 0 || !d.dram.is_multiple_of(wb) || !d.dram_stride.is_multiple_of(wb) {
            return Err(Fault(error_code::BAD_FIELD));
        }
        Ok(())
    }

    fn load(&mut self, d: &Dma) -> Result<(), Fault> {
        self.check_dma(d)?;
        let wb = self.cfg.word_bytes();
        let words = self.cfg.bank_words as u64;
        for r in 0..d.rows as u64 {
            let src = self.dram(d.dram + r * d.dram_stride, d.words as usize * wb)?.to_vec();
            for w in 0..d.words as u64 {
                let a = ((d.sp.addr as u64 + r * d.sp_stride as u64 + w) % words) as usize * wb;
                self.banks[d.sp.bank as usize][a..a + wb].copy_from_slice(&src[w as usize * wb..(w as usize + 1) * wb]);
            }
        }
        Ok(())
    }

    fn store(&mut self, d: &Dma) -> Result<(), Fault> {
        self.check_dma(d)?;
        let wb = self.cfg.word_bytes();
        for r in 0..d.rows as u64 {
            let dst = d.dram + r * d.dram_stride;
            self.dram(dst, d.words as usize * wb)?;
            for w in 0..d.words as u64 {
                for b in 0..wb {
                    let v = self.sp_byte(d.sp.bank, d.sp.addr as u64 + r * d.sp_stride as u64 + w, b);
                    self.mem[(dst + w * wb as u64) as usize + b] = v;
                }
            }
        }
        Ok(())
    }

    fn gemm(&mut self, g: &Gemm) -> Result<(), Fault> {
        let cfg = &self.cfg;
        let (rows, cols, wb) = (cfg.array_rows, cfg.array_cols, cfg.word_bytes());
        let bad = Err(Fault(error_code::BAD_FIELD));
        if g.m == 0 || g.m as usize > cfg.max_tokens || g.k == 0 || g.k as usize > cfg.max_width {
            return bad;
        }
        if g.n == 0 || g.n as usize > cfg.max_width || !g.weights.is_multiple_of(wb as u64) {
            return bad;
        }
        self.check_bank(g.a.bank, g.a.addr, g.a_stride)?;
        self.check_bank(g.out.bank, g.out.addr, g.out_stride)?;
        let (m, k, n) = (g.m as usize, g.k as usize, g.n as usize);
        let kt = k.div_ceil(rows);
        let words = isa::weight_stream_words(k, n, rows, cols);
        let stream = self.dram(g.weights, words * wb)?.to_vec();
        let tile_words = isa::weight_header_bytes(cols) / rows + kt * rows;
        let mut outs = Vec::new();
        for nt in 0..n.div_ceil(cols) {
            let base = nt * tile_words * wb;
            let hdr = &stream[base..base + isa::weight_header_bytes(cols)];
            let word = |i: usize| u32::from_le_bytes(hdr[4 * i..4 * i + 4].try_into().expect("4 bytes"));
            for c in 0..cols.min(n - nt * cols) {
                let ch = nt * cols + c;
                let bias = word(c) as i32;
                let rq = word(cols + c);
                let d = Dyadic { m: rq as u16, s: (rq >> 16) as u8 & 0x3f };
                if d.m as u32 >= 1 << MULT_FRAC_BITS || d.s as u32 > MAX_SHIFT {
                    return bad; // outside the numerics contract (the RTL leaves it undefined)
                }
                for row in 0..m {
                    // The hardware multiplies every row of every k-tile: K is padded to kt * R
                    // with the stream's (zero) weights against whatever A holds there.
                    let mut acc = bias;
                    for kk in 0..kt * rows {
                        let wrow = base + (isa::weight_header_bytes(cols) / rows + kk) * wb;
                        let w = stream[wrow + c] as i8 as i32;
                        let a_byte = self.sp_byte(
                            g.a.bank,
                            g.a.addr as u64 + row as u64 * g.a_stride as u64 + (kk / rows) as u64,
                            kk % rows,
                        );
                        let a = if g.a_unsigned { a_byte as i32 } else { a_byte as i8 as i32 };
                        acc = acc.wrapping_add(a * w);
                    }
                    outs.push((row, ch, requant_i8(acc as i64, d) as u8));
                }
            }
        }
        let bank_words = self.cfg.bank_words as u64;
        for (row, ch, v) in outs {
            let a = (g.out.addr as u64 + row as u64 * g.out_stride as u64 + (ch / wb) as u64) % bank_words;
            self.banks[g.out.bank as usize][a as usize * wb + ch % wb] = v;
        }
        Ok(())
    }

    fn execute(&mut self) {
        let base = self.reg(regmap::INSN_BASE_LO) as u64 | (self.reg(regmap::INSN_BASE_HI) as u64 & 0xff) << 32;
        let count = self.reg(regmap::INSN_COUNT);
        let mut done = 0u32;
        let (mut cycles, mut active) = (0u64, 0u64);
        for pc in 0..count {
            let r = (|| -> Result<(u64, u64), Fault> {
                let bytes: [u8; INSN_BYTES] =
                    self.dram(base + pc as u64 * INSN_BYTES as u64, INSN_BYTES)?.try_into().expect("32 bytes");
                let insn = Insn::decode(&bytes)?;
                match &insn {
                    Insn::Load(d) => self.load(d)?,
                    Insn::Store(d) => self.store(d)?,
                    Insn::Gemm(g) => self.gemm(g)?,
                }
                Ok(self.model.insn(&insn))
            })();
            match r {
                Ok((c, a)) => {
                    cycles += c;
                    active += a;
                    done += 1;
                }
                Err(Fault(code)) => {
                    self.set(regmap::STATUS, status::ERROR);
                    self.set(regmap::ERROR_CODE, code);
                    self.set(regmap::ERROR_INSN, pc);
                    self.set(regmap::INSN_DONE, done);
                    return;
                }
            }
        }
        self.set(regmap::STATUS, status::DONE);
        self.set(regmap::INSN_DONE, done);
        self.set(regmap::CYCLES_LO, cycles as u32);
        self.set(regmap::CYCLES_HI, (cycles >> 32) as u32);
        self.set(regmap::ACTIVE_LO, active as u32);
        self.set(regmap::ACTIVE_HI, (active >> 32) as u32);
    }
}

impl Device for GoldenDevice {
    fn config(&self) -> &AccelConfig {
        &self.cfg
    }
    fn name(&self) -> &'static str {
        "golden"
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        let size = self.mem.len();
        let end = addr as usize + data.len();
        if end > size {
            return Err(DeviceError::OutOfMemory { addr, len: data.len(), size });
        }
        self.mem[addr as usize..end].copy_from_slice(data);
        Ok(())
    }
    fn read_mem(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, DeviceError> {
        let size = self.mem.len();
        if addr as usize + len > size {
            return Err(DeviceError::OutOfMemory { addr, len, size });
        }
        Ok(self.mem[addr as usize..addr as usize + len].to_vec())
    }
    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), DeviceError> {
        let r = regmap::REGISTERS.iter().find(|r| r.offset == offset).copied();
        match r {
            Some(r) if r == regmap::CTRL && value & 1 != 0 => {
                for reg in [regmap::ERROR_CODE, regmap::ERROR_INSN, regmap::INSN_DONE, regmap::STATUS] {
                    self.set(reg, 0);
                }
                self.execute();
            }
            Some(r) if r.access == regmap::Access::RW => {
                let v = if r == regmap::INSN_BASE_HI { value & 0xff } else { value };
                self.set(r, v);
            }
            _ => {}
        }
        Ok(())
    }
    fn read_reg(&mut self, offset: u32) -> Result<u32, DeviceError> {
        Ok(match regmap::REGISTERS.iter().find(|r| r.offset == offset) {
            Some(&r) if r == regmap::CONFIG_HASH => self.cfg.hash(),
            Some(&r) if r == regmap::HW_INFO => regmap::hw_info(&self.cfg),
            Some(&r) if r == regmap::CTRL => 0,
            Some(&r) => self.reg(r),
            None => 0,
        })
    }
    fn wait_idle(&mut self, _timeout: Duration) -> Result<(), DeviceError> {
        Ok(()) // execution is synchronous
    }
}
