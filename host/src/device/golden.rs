//! The `golden` backend: an instruction-set simulator of the accelerator built on the numerics
//! contract (`spec::numerics`), like VTA's fsim. The semantics of every instruction are
//! `golden::exec`'s; this module is the device around them: registers, program fetch and decode,
//! the static checks of [`crate::check`], and the cycle counters from the timeline of
//! [`crate::cycle_model::schedule`].
//!
//! On START it fetches and decodes the whole program (BAD_OPCODE / BAD_FIELD) and checks it
//! ([`check_program`]: fields, dependency counts that can never be met, bank conflicts between
//! instructions that may overlap) before running anything. Instructions before the first failing
//! one then run (the hardware dispatches them before it stops); a program that passes runs
//! completely. Execution is in program order, which the race check makes equivalent to any order
//! the units could take. CYCLES, ACTIVE and the unit busy counters come from [`schedule_with`]:
//! the program's timeline with per-instruction estimates from [`CycleModel::unit_cycles`] (for a
//! SELECT, from its actual decisions).

use super::{Device, DeviceError};
use crate::cycle_model::CycleModel;
use golden::exec::{ExecFault, Machine, Outcome};
use spec::isa::{Insn, IsaError, INSN_BYTES};
use spec::regmap::{self, error_code, status};
use spec::AccelConfig;
use std::time::Duration;

pub use crate::check::{check_program, dep_met, ProgramFault};
pub use crate::cycle_model::schedule::{schedule, schedule_with, Schedule};

/// The instruction-set simulator.
pub struct GoldenDevice {
    machine: Machine,
    regs: Vec<u32>,
    model: CycleModel,
    last: Vec<(Insn, u64)>,
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

impl From<ExecFault> for Fault {
    fn from(e: ExecFault) -> Self {
        Fault(e.0)
    }
}

impl GoldenDevice {
    /// A device with `mem_bytes` of DRAM.
    pub fn new(cfg: &AccelConfig, mem_bytes: usize) -> Self {
        let regs = regmap::REGISTERS.iter().map(|r| r.offset as usize / 4 + 1).max().unwrap_or(0);
        GoldenDevice {
            machine: Machine::new(cfg, mem_bytes),
            regs: vec![0; regs],
            model: CycleModel::new(cfg),
            last: vec![],
        }
    }

    /// The instructions of the last run as they were dispatched (live sizes resolved) with
    /// their unit cycles (SELECT's from its decisions), up to the first failing one.
    pub fn last_run(&self) -> &[(Insn, u64)] {
        &self.last
    }

    /// The executor's state: scratchpad banks and DRAM.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    fn reg(&self, r: regmap::Register) -> u32 {
        self.regs[(r.offset / 4) as usize]
    }

    fn set(&mut self, r: regmap::Register, v: u32) {
        self.regs[(r.offset / 4) as usize] = v;
    }

    fn set64(&mut self, lo: regmap::Register, hi: regmap::Register, v: u64) {
        self.set(lo, v as u32);
        self.set(hi, (v >> 32) as u32);
    }

    /// Run one (resolved, checked) instruction; `Some(unit cycles)` for a data-dependent one.
    fn run_insn(&mut self, insn: &Insn) -> Result<Option<u64>, Fault> {
        match (self.machine.execute(insn)?, &insn.op) {
            (Outcome::Selected { keep, live }, spec::isa::Op::Select(v)) => {
                self.set(regmap::LIVE_TOKENS, live as u32);
                Ok(Some(self.model.select_cycles(v, &keep)))
            }
            _ => Ok(None),
        }
    }

    /// Fetch and decode instruction `pc` (live sizes not yet resolved; `resolve` checks the live
    /// bits).
    fn fetch(&self, base: u64, pc: u32) -> Result<Insn, Fault> {
        let bytes: [u8; INSN_BYTES] =
            self.machine.dram(base + pc as u64 * INSN_BYTES as u64, INSN_BYTES)?.try_into().expect("one instruction");
        let insn = Insn::decode(&bytes)?;
        insn.resolve(0)?;
        Ok(insn)
    }

    fn execute(&mut self) {
        let base = self.reg(regmap::INSN_BASE_LO) as u64 | (self.reg(regmap::INSN_BASE_HI) as u64 & 0xff) << 32;
        let count = self.reg(regmap::INSN_COUNT);
        // Fetch, decode and check everything first: the first fault decides how far the program runs.
        let mut insns = Vec::new();
        let mut fault = None;
        for pc in 0..count {
            match self.fetch(base, pc) {
                Ok(i) => insns.push(i),
                Err(Fault(code)) => {
                    fault = Some((pc, code));
                    break;
                }
            }
        }
        // The program-level checks see the sizes as the first instruction would be dispatched;
        // a SELECT only lowers LIVE_TOKENS, so every size stays valid when it changes.
        let live0 = self.reg(regmap::LIVE_TOKENS) as u16;
        let first: Vec<Insn> = insns.iter().map(|i| i.resolve(live0).expect("live bits checked at fetch")).collect();
        if let Err(f) = check_program(&self.machine.cfg, &first) {
            insns.truncate(f.insn);
            fault = Some((f.insn as u32, f.code));
        }
        // Run in program order, each instruction resolved with LIVE_TOKENS as it is then (the
        // dispatch order; programs make live instructions wait for a SELECT).
        let mut ran = Vec::with_capacity(insns.len());
        let mut given = Vec::with_capacity(insns.len());
        for insn in &insns {
            let live = self.reg(regmap::LIVE_TOKENS) as u16;
            let step = insn.resolve(live).map_err(Fault::from).and_then(|i| {
                i.check(&self.machine.cfg)?;
                Ok(i)
            });
            match step.and_then(|i| self.run_insn(&i).map(|c| (i, c))) {
                Ok((i, c)) => {
                    ran.push(i);
                    given.push(c);
                }
                Err(Fault(code)) => {
                    fault = Some((ran.len() as u32, code));
                    break;
                }
            }
        }
        let done = ran.len();
        let s = schedule_with(&self.model, &ran, &given);
        self.last =
            ran.iter().zip(&given).map(|(i, c)| (*i, c.unwrap_or_else(|| self.model.unit_cycles(i).0))).collect();
        self.set64(regmap::CYCLES_LO, regmap::CYCLES_HI, s.cycles);
        self.set64(regmap::ACTIVE_LO, regmap::ACTIVE_HI, s.active);
        for (reg, busy) in [regmap::DMA_BUSY, regmap::GEMM_BUSY, regmap::VEC_BUSY].into_iter().zip(s.busy) {
            self.set(reg, busy as u32);
        }
        self.set(regmap::INSN_DONE, done as u32);
        match fault {
            Some((pc, code)) => {
                self.set(regmap::STATUS, status::ERROR);
                self.set(regmap::ERROR_CODE, code);
                self.set(regmap::ERROR_INSN, pc);
            }
            None => self.set(regmap::STATUS, status::DONE),
        }
    }
}

impl Device for GoldenDevice {
    fn config(&self) -> &AccelConfig {
        &self.machine.cfg
    }
    fn name(&self) -> &'static str {
        "golden"
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        let size = self.machine.mem.len();
        let end = addr as usize + data.len();
        if end > size {
            return Err(DeviceError::OutOfMemory { addr, len: data.len(), size });
        }
        self.machine.mem[addr as usize..end].copy_from_slice(data);
        Ok(())
    }
    fn read_mem(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, DeviceError> {
        let size = self.machine.mem.len();
        if addr as usize + len > size {
            return Err(DeviceError::OutOfMemory { addr, len, size });
        }
        Ok(self.machine.mem[addr as usize..addr as usize + len].to_vec())
    }
    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), DeviceError> {
        let r = regmap::REGISTERS.iter().find(|r| r.offset == offset).copied();
        match r {
            Some(r) if r == regmap::CTRL && value & 1 != 0 => {
                for reg in regmap::REGISTERS.iter().filter(|r| r.access == regmap::Access::RO) {
                    self.set(*reg, 0);
                }
                self.execute();
            }
            Some(r) if r.access == regmap::Access::RW => {
                let v = match r {
                    regmap::INSN_BASE_HI => value & 0xff,
                    regmap::LIVE_TOKENS => value & 0xffff,
                    _ => value,
                };
                self.set(r, v);
            }
            _ => {}
        }
        Ok(())
    }
    fn read_reg(&mut self, offset: u32) -> Result<u32, DeviceError> {
        Ok(match regmap::REGISTERS.iter().find(|r| r.offset == offset) {
            Some(&r) if r == regmap::CONFIG_HASH => self.machine.cfg.hash(),
            Some(&r) if r == regmap::HW_INFO => regmap::hw_info(&self.machine.cfg),
            Some(&r) if r == regmap::CTRL => 0,
            Some(&r) => self.reg(r),
            None => 0,
        })
    }
    fn wait_idle(&mut self, _timeout: Duration) -> Result<(), DeviceError> {
        Ok(()) // execution is synchronous
    }
}

#[cfg(test)]
mod tests {
    //! Every expected value here is computed independently of the simulator: naive loops over
    //! the logical matrices, placed in the scratchpad with the token-major layout of `spec::isa`,
    //! and the scalar functions of `spec::numerics`.

    use super::*;
    use crate::device::{run, RunStats};
    use crate::program::{pack_stream, Program};
    use golden::synth::Rng;
    use ndarray::Array2;
    use proptest::prelude::*;
    use spec::isa::{BankAddr, Deps as D, GemmOut};
    use spec::isa::{Dma, Gemm, Op, OutMode, VecOp, WeightSource};
    use spec::numerics::{exp_lut, softmax_row};
    use spec::numerics::{layernorm_row, requant_i16, requant_i8, softmax_row_with_max, Dyadic, LayerNormParams};
    use spec::timing::control::{DEP_LATENCY, DONE_CYCLES, SLOT_LATENCY};

    const MEM: usize = 0x10_0000;
    const INSN_BASE: u64 = 0xF_0000;
    const W_ADDR: u64 = 0x1000;

    /// R = 8, C = 4: two output groups per word.
    fn cfg84() -> AccelConfig {
        let c = AccelConfig {
            array_rows: 8,
            array_cols: 4,
            max_tokens: 32,
            max_width: 512,
            max_heads: 4,
            banks: 6,
            bank_words: 4096,
            weight_fifo_words: 16,
            clock_mhz: 100.0,
            dsp_packing: true,
            vector_lanes: None,
            select_lanes: None,
        };
        c.validate().unwrap();
        c
    }

    fn cfg_of(small: bool) -> AccelConfig {
        if small {
            AccelConfig::small()
        } else {
            cfg84()
        }
    }

    fn ba(bank: u8, addr: u32) -> BankAddr {
        BankAddr { bank, addr }
    }

    /// Element `(row, ch)` of a token-major matrix at word `at` with stride `s`: (word, byte).
    fn elem(cfg: &AccelConfig, at: usize, s: usize, row: usize, ch: usize) -> (usize, usize) {
        let r = cfg.word_bytes();
        (at + row * s + ch / r, ch % r)
    }

    fn put(dev: &mut GoldenDevice, bank: u8, (word, byte): (usize, usize), v: u8) {
        let r = dev.machine.cfg.word_bytes();
        dev.machine.banks[bank as usize][word * r + byte] = v;
    }

    fn get(dev: &GoldenDevice, bank: u8, (word, byte): (usize, usize)) -> u8 {
        dev.machine.banks[bank as usize][word * dev.machine.cfg.word_bytes() + byte]
    }

    /// Bytes from the start of word `word` on.
    fn put_bytes(dev: &mut GoldenDevice, bank: u8, word: usize, bytes: &[u8]) {
        let o = word * dev.machine.cfg.word_bytes();
        dev.machine.banks[bank as usize][o..o + bytes.len()].copy_from_slice(bytes);
    }

    fn randomize_banks(dev: &mut GoldenDevice, rng: &mut Rng) {
        for b in dev.machine.banks.iter_mut() {
            b.iter_mut().for_each(|v| *v = rng.next_u64() as u8);
        }
    }

    fn exec(dev: &mut GoldenDevice, insns: &[Insn]) -> Result<RunStats, DeviceError> {
        let prog =
            Program { insns: insns.to_vec(), insn_base: INSN_BASE, dram_bytes: MEM as u64, ..Default::default() };
        run(dev, &prog, Duration::from_secs(1))
    }

    fn exec_err(dev: &mut GoldenDevice, insns: &[Insn]) -> (u32, u32) {
        match exec(dev, insns) {
            Err(DeviceError::Execution { code, insn, .. }) => (code, insn),
            other => panic!("expected an execution error, got {other:?}"),
        }
    }

    /// Whole banks equal, reporting the first difference.
    fn same_banks(got: &[Vec<u8>], want: &[Vec<u8>], r: usize) -> Result<(), TestCaseError> {
        for (b, (g, w)) in got.iter().zip(want).enumerate() {
            if let Some(i) = g.iter().zip(w).position(|(x, y)| x != y) {
                return Err(TestCaseError::fail(format!(
                    "bank {b} word {} byte {}: got {:#04x}, want {:#04x}",
                    i / r,
                    i % r,
                    g[i],
                    w[i]
                )));
            }
        }
        Ok(())
    }

    fn random_dyadic(rng: &mut Rng, s_lo: usize, s_hi: usize) -> Dyadic {
        Dyadic { m: rng.range(1 << 14, (1 << 15) - 1) as u16, s: rng.range(s_lo, s_hi) as u8 }
    }

    fn mode_of(i: u8) -> OutMode {
        match i % 4 {
            0 => OutMode::Int8,
            1 => OutMode::Int8Lut,
            2 => OutMode::Resid16 { hi_bank: 2 },
            _ => OutMode::Int8Dup { copy_bank: 2 },
        }
    }

    /// Apply the output mode of `mode` to `v` at byte `o` of the output bank, in `want` (the
    /// expected banks, which hold the inputs of the residual).
    fn expect_out(want: &mut [Vec<u8>], out_bank: u8, mode: OutMode, o: usize, v: i64, d: Dyadic, lut: &[i8; 256]) {
        match mode {
            OutMode::Int8 => want[out_bank as usize][o] = requant_i8(v, d) as u8,
            OutMode::Int8Lut => want[out_bank as usize][o] = lut[(requant_i8(v, d) as i32 + 128) as usize] as u8,
            OutMode::Int8Dup { copy_bank } => {
                want[out_bank as usize][o] = requant_i8(v, d) as u8;
                want[copy_bank as usize][o] = requant_i8(v, d) as u8;
            }
            OutMode::Resid16 { hi_bank } => {
                let x = want[out_bank as usize][o] as u16 as i16 | ((want[hi_bank as usize][o] as i16) << 8);
                let y = x.saturating_add(requant_i16(v, d));
                want[out_bank as usize][o] = y as u8;
                want[hi_bank as usize][o] = (y >> 8) as u8;
            }
        }
    }

    #[test]
    fn dependency_counts_compare_modulo_2_16() {
        assert!(dep_met(0, 0) && dep_met(5, 5) && dep_met(6, 5));
        assert!(!dep_met(4, 5) && !dep_met(0, 1));
        assert!(dep_met(1, 0xffff), "65537 completed >= 65535");
        assert!(!dep_met(0xffff, 1), "65535 is 'before' 1 modulo 2^16");
        assert!(!dep_met(0x8000, 0));
    }

    #[test]
    fn load_store_round_trip_with_strides() {
        let cfg = AccelConfig::small();
        let mut dev = GoldenDevice::new(&cfg, MEM);
        let mut rng = Rng::new(7);
        let src: Vec<u8> = (0..5 * 40).map(|_| rng.next_u64() as u8).collect();
        dev.write_mem(0x1000, &src).unwrap();
        // 5 rows of 3 words: DRAM rows 40 bytes apart (2 gap words), bank rows 4 words apart.
        let dma = |dram, dram_stride| Dma { sp: ba(2, 7), sp_stride: 4, rows: 5, words: 3, dram, dram_stride };
        let stats =
            exec(&mut dev, &[Insn::new(Op::Load(dma(0x1000, 40))), Insn::new(Op::Store(dma(0x8000, 32)))]).unwrap();
        assert_eq!(stats.insns, 2);
        for r in 0..5 {
            for w in 0..4 {
                for b in 0..8 {
                    let want = if w < 3 { src[r * 40 + w * 8 + b] } else { 0 };
                    assert_eq!(get(&dev, 2, (7 + r * 4 + w, b)), want, "bank row {r} word {w}");
                }
            }
        }
        let back = dev.read_mem(0x8000, 5 * 32).unwrap();
        for r in 0..5 {
            for i in 0..32 {
                let want = if i < 24 { src[r * 40 + i] } else { 0 };
                assert_eq!(back[r * 32 + i], want, "DRAM row {r} byte {i}");
            }
        }
    }

    #[test]
    fn dma_outside_memory_is_an_axi_error() {
        let mut dev = GoldenDevice::new(&AccelConfig::small(), MEM);
        let d = Dma { sp: ba(0, 0), sp_stride: 1, rows: 2, words: 1, dram: MEM as u64 - 8, dram_stride: 8 };
        assert_eq!(exec_err(&mut dev, &[Insn::new(Op::Load(d))]), (error_code::AXI_ERROR, 0));
    }

    /// A GEMM with DRAM weights against a naive matmul (A at bank 0, row scale at bank 3,
    /// output at bank 1, residual high plane / copy at bank 2).
    #[allow(clippy::too_many_arguments)]
    fn gemm_dram_case(
        small: bool,
        seed: u64,
        m: usize,
        k: usize,
        n: usize,
        mode: u8,
        row_scale: bool,
        a_unsigned: bool,
        group: u8,
    ) -> Result<(), TestCaseError> {
        let cfg = cfg_of(small);
        let (r, c) = (cfg.array_rows, cfg.array_cols);
        let group = group % (r / c) as u8;
        let mode = mode_of(mode);
        let mut rng = Rng::new(seed);
        let mut dev = GoldenDevice::new(&cfg, MEM);
        randomize_banks(&mut dev, &mut rng);
        // Logical operands.
        let a: Vec<Vec<u8>> = (0..m).map(|_| (0..k).map(|_| rng.next_u64() as u8).collect()).collect();
        let w = Array2::from_shape_simple_fn((n, k), || rng.next_u64() as i8);
        let bias: Vec<i32> = (0..n).map(|_| rng.range(0, 1 << 22) as i32 - (1 << 21)).collect();
        let (s_lo, s_hi) = if row_scale { (10, 26) } else { (4, 20) };
        let rq: Vec<Dyadic> = (0..n).map(|_| random_dyadic(&mut rng, s_lo, s_hi)).collect();
        let rs: Vec<i8> = (0..m).map(|_| rng.next_u64() as i8).collect();
        let lut: [i8; 256] = std::array::from_fn(|_| rng.next_u64() as i8);
        // Placement: A rows with a spare word (garbage stays beyond K), the scale vector, output.
        let kw = k.div_ceil(r);
        let (a_at, a_stride) = (3, kw + 1);
        for (row, v) in a.iter().enumerate() {
            for (kk, &x) in v.iter().enumerate() {
                put(&mut dev, 0, elem(&cfg, a_at, a_stride, row, kk), x);
            }
        }
        for (row, &s) in rs.iter().enumerate() {
            put(&mut dev, 3, elem(&cfg, 5, 0, 0, row), s as u8);
        }
        let (o_at, o_stride) = (2, (group as usize * c + n).div_ceil(r) + 1);
        let stream = pack_stream(&bias, &rq, Some(&w), (mode == OutMode::Int8Lut).then_some(&lut), &cfg);
        dev.write_mem(W_ADDR, &stream).unwrap();
        let insn = Insn::new(Op::Gemm(Gemm {
            m: m as u16,
            k: k as u16,
            n: n as u16,
            a: ba(0, a_at as u32),
            a_stride: a_stride as u32,
            a_unsigned,
            b: WeightSource::Dram,
            out: GemmOut { at: ba(1, o_at as u32), stride: o_stride as u32, group, mode },
            row_scale: row_scale.then_some(ba(3, 5)),
            weights: W_ADDR,
        }));
        // Expected: the banks as they were, with the outputs replaced.
        let mut want = dev.machine.banks.clone();
        for row in 0..m {
            for ch in 0..n {
                let mut acc = bias[ch];
                for kk in 0..k {
                    let x = if a_unsigned { a[row][kk] as i32 } else { a[row][kk] as i8 as i32 };
                    acc = acc.wrapping_add(x * w[[ch, kk]] as i32);
                }
                let v = if row_scale { acc as i64 * rs[row] as i64 } else { acc as i64 };
                let pos = elem(&cfg, o_at, o_stride, row, group as usize * c + ch);
                expect_out(&mut want, 1, mode, pos.0 * r + pos.1, v, rq[ch], &lut);
            }
        }
        let stats = exec(&mut dev, &[insn]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(stats.insns, 1);
        same_banks(&dev.machine.banks, &want, r)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn gemm_with_dram_weights_equals_a_naive_matmul(
            small: bool, seed: u64, m in 1usize..14, k in 1usize..300, n in 1usize..40,
            mode in 0u8..4, row_scale: bool, a_unsigned: bool, group in 0u8..2,
        ) {
            gemm_dram_case(small, seed, m, k, n, mode, row_scale, a_unsigned, group)?;
        }
    }

    #[test]
    fn gemm_dram_all_modes_and_flags() {
        for (i, mode) in (0..4).enumerate() {
            for flags in 0..4 {
                let seed = (i * 4 + flags) as u64;
                gemm_dram_case(false, seed, 9, 37, 11, mode, flags & 1 != 0, flags & 2 != 0, 1).unwrap();
                gemm_dram_case(true, seed, 17, 8, 9, mode, flags & 1 != 0, flags & 2 != 0, 0).unwrap();
            }
        }
        // Long reductions with wrapping accumulators are still exact.
        gemm_dram_case(true, 99, 3, 300, 5, 0, true, true, 0).unwrap();
    }

    /// A GEMM with the stationary operand in the scratchpad (bank 3): by rows (`P V`, V a
    /// token-major `K x width` matrix, output channels from group `b_group`) or by columns
    /// (`Q K^T`, K a token-major `N x K` matrix).
    #[allow(clippy::too_many_arguments)]
    fn gemm_onchip_case(
        small: bool,
        seed: u64,
        m: usize,
        k: usize,
        n: usize,
        mode: u8,
        columns: bool,
        a_unsigned: bool,
        b_group: u8,
        o_group: u8,
    ) -> Result<(), TestCaseError> {
        let cfg = cfg_of(small);
        let (r, c) = (cfg.array_rows, cfg.array_cols);
        let groups = (r / c) as u8;
        let (b_group, o_group) = (b_group % groups, o_group % groups);
        let mode = mode_of(mode);
        let mut rng = Rng::new(seed);
        let mut dev = GoldenDevice::new(&cfg, MEM);
        randomize_banks(&mut dev, &mut rng);
        let a: Vec<Vec<u8>> = (0..m).map(|_| (0..k).map(|_| rng.next_u64() as u8).collect()).collect();
        let (a_at, a_stride) = (1, k.div_ceil(r));
        for (row, v) in a.iter().enumerate() {
            for (kk, &x) in v.iter().enumerate() {
                put(&mut dev, 0, elem(&cfg, a_at, a_stride, row, kk), x);
            }
        }
        // B[k][n] from its matrix in bank 3; everything else in the bank is garbage.
        let bmat: Vec<Vec<i8>> = (0..k).map(|_| (0..n).map(|_| rng.next_u64() as i8).collect()).collect();
        let b_at = 5;
        let (b, b_stride) = if columns {
            let stride = k.div_ceil(r) + (seed % 2) as usize;
            for (kk, v) in bmat.iter().enumerate() {
                for (ch, &x) in v.iter().enumerate() {
                    put(&mut dev, 3, elem(&cfg, b_at, stride, ch, kk), x as u8);
                    // K^T: row ch, channel kk
                }
            }
            (WeightSource::Columns { at: ba(3, b_at as u32), stride: stride as u32 }, stride)
        } else {
            let width = b_group as usize * c + n;
            let stride = width.div_ceil(r) + (seed % 2) as usize;
            for (kk, v) in bmat.iter().enumerate() {
                for (ch, &x) in v.iter().enumerate() {
                    put(&mut dev, 3, elem(&cfg, b_at, stride, kk, b_group as usize * c + ch), x as u8);
                }
            }
            (WeightSource::Rows { at: ba(3, b_at as u32), stride: stride as u32, group: b_group }, stride)
        };
        let _ = b_stride;
        let bias: Vec<i32> = (0..n).map(|_| rng.range(0, 1 << 20) as i32 - (1 << 19)).collect();
        let rq: Vec<Dyadic> = (0..n).map(|_| random_dyadic(&mut rng, 4, 18)).collect();
        let lut: [i8; 256] = std::array::from_fn(|_| rng.next_u64() as i8);
        let stream = pack_stream(&bias, &rq, None, (mode == OutMode::Int8Lut).then_some(&lut), &cfg);
        dev.write_mem(W_ADDR, &stream).unwrap();
        let (o_at, o_stride) = (3, (o_group as usize * c + n).div_ceil(r));
        let insn = Insn::new(Op::Gemm(Gemm {
            m: m as u16,
            k: k as u16,
            n: n as u16,
            a: ba(0, a_at as u32),
            a_stride: a_stride as u32,
            a_unsigned,
            b,
            out: GemmOut { at: ba(1, o_at as u32), stride: o_stride as u32, group: o_group, mode },
            row_scale: None,
            weights: W_ADDR,
        }));
        let mut want = dev.machine.banks.clone();
        for row in 0..m {
            for ch in 0..n {
                let mut acc = bias[ch];
                for kk in 0..k {
                    let x = if a_unsigned { a[row][kk] as i32 } else { a[row][kk] as i8 as i32 };
                    acc = acc.wrapping_add(x * bmat[kk][ch] as i32);
                }
                let pos = elem(&cfg, o_at, o_stride, row, o_group as usize * c + ch);
                expect_out(&mut want, 1, mode, pos.0 * r + pos.1, acc as i64, rq[ch], &lut);
            }
        }
        exec(&mut dev, &[insn]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        same_banks(&dev.machine.banks, &want, r)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn gemm_with_onchip_operand_equals_a_naive_matmul(
            small: bool, seed: u64, m in 1usize..14, k in 1usize..100, n in 1usize..24,
            mode in 0u8..4, columns: bool, a_unsigned: bool, b_group in 0u8..2, o_group in 0u8..2,
        ) {
            gemm_onchip_case(small, seed, m, k, n, mode, columns, a_unsigned, b_group, o_group)?;
        }
    }

    #[test]
    fn gemm_onchip_rows_and_columns_with_groups() {
        for seed in 0..8u64 {
            let mode = seed as u8 % 4;
            gemm_onchip_case(false, seed, 7, 13, 3, mode, false, true, 1, 0).unwrap();
            gemm_onchip_case(false, seed, 5, 9, 6, mode, false, false, 1, 1).unwrap();
            gemm_onchip_case(false, seed, 6, 21, 5, mode, true, false, 0, 1).unwrap();
            gemm_onchip_case(true, seed, 4, 17, 10, mode, seed % 2 == 0, true, 0, 0).unwrap();
        }
    }

    #[test]
    fn bad_requant_words_and_missing_weights_stop_the_gemm() {
        let cfg = AccelConfig::small();
        let mut dev = GoldenDevice::new(&cfg, MEM);
        let g = Gemm {
            m: 2,
            k: 8,
            n: 3,
            a: ba(0, 0),
            a_stride: 1,
            a_unsigned: false,
            b: WeightSource::Dram,
            out: GemmOut { at: ba(1, 0), stride: 1, group: 0, mode: OutMode::Int8 },
            row_scale: None,
            weights: W_ADDR,
        };
        let w = Array2::zeros((3, 8));
        let good = Dyadic { m: 1 << 14, s: 10 };
        for bad in [Dyadic { m: 1 << 15, s: 10 }, Dyadic { m: 1 << 14, s: 63 }] {
            dev.write_mem(W_ADDR, &pack_stream(&[0; 3], &[good, bad, good], Some(&w), None, &cfg)).unwrap();
            assert_eq!(exec_err(&mut dev, &[Insn::new(Op::Gemm(g))]), (error_code::BAD_FIELD, 0));
        }
        let far = Gemm { weights: MEM as u64 - 8, ..g };
        assert_eq!(exec_err(&mut dev, &[Insn::new(Op::Gemm(far))]), (error_code::AXI_ERROR, 0));
    }

    /// The parameter block as bytes from word `params`: gamma, then beta from word
    /// `ceil(2n/R)` of the block.
    fn ln_params(cfg: &AccelConfig, gamma: &[i16], beta: &[i32]) -> Vec<u8> {
        let n = gamma.len();
        let mut b: Vec<u8> = gamma.iter().flat_map(|g| g.to_le_bytes()).collect();
        b.resize((2 * n).div_ceil(cfg.word_bytes()) * cfg.word_bytes(), 0);
        b.extend(beta.iter().flat_map(|v| v.to_le_bytes()));
        b
    }

    fn vec_op(rows: usize, n: usize, stride: usize, out_stride: usize, out_mult: Dyadic) -> VecOp {
        VecOp {
            rows: rows as u16,
            n: n as u16,
            input: ba(0, 2),
            in_hi_bank: 1,
            in_stride: stride as u32,
            out: ba(3, 1),
            out_stride: out_stride as u32,
            params: ba(2, 3),
            out_mult,
        }
    }

    fn layernorm_case(small: bool, seed: u64, rows: usize, n: usize) -> Result<(), TestCaseError> {
        let cfg = cfg_of(small);
        let r = cfg.word_bytes();
        let mut rng = Rng::new(seed);
        let mut dev = GoldenDevice::new(&cfg, MEM);
        randomize_banks(&mut dev, &mut rng);
        let spread = 1 << rng.range(0, 14);
        let x: Vec<Vec<i16>> = (0..rows)
            .map(|_| (0..n).map(|_| (rng.range(0, 2 * spread) as i64 - spread as i64) as i16).collect())
            .collect();
        let p = LayerNormParams {
            gamma: (0..n).map(|_| rng.next_u64() as i16).collect(),
            beta: (0..n).map(|_| rng.range(0, 1 << 26) as i32 - (1 << 25)).collect(),
            out: random_dyadic(&mut rng, 14, 26),
        };
        let (stride, out_stride) = (n.div_ceil(r) + 1, n.div_ceil(r) + 2);
        for (row, v) in x.iter().enumerate() {
            for (i, &x) in v.iter().enumerate() {
                let pos = elem(&cfg, 2, stride, row, i);
                put(&mut dev, 0, pos, x as u8);
                put(&mut dev, 1, pos, (x >> 8) as u8);
            }
        }
        put_bytes(&mut dev, 2, 3, &ln_params(&cfg, &p.gamma, &p.beta));
        let mut want = dev.machine.banks.clone();
        for (row, v) in x.iter().enumerate() {
            let mut y = vec![0i8; n];
            layernorm_row(v, &p, &mut y);
            for (i, &y) in y.iter().enumerate() {
                let (w, b) = elem(&cfg, 1, out_stride, row, i);
                want[3][w * r + b] = y as u8;
            }
        }
        exec(&mut dev, &[Insn::new(Op::LayerNorm(vec_op(rows, n, stride, out_stride, p.out)))])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        same_banks(&dev.machine.banks, &want, r)
    }

    fn softmax_case(small: bool, seed: u64, rows: usize, n: usize, copies_differ: bool) -> Result<(), TestCaseError> {
        let cfg = cfg_of(small);
        let r = cfg.word_bytes();
        let mut rng = Rng::new(seed);
        let mut dev = GoldenDevice::new(&cfg, MEM);
        randomize_banks(&mut dev, &mut rng);
        let x: Vec<Vec<i8>> = (0..rows).map(|_| (0..n).map(|_| rng.next_u64() as i8).collect()).collect();
        // The max engine's copy: equal, or (to see where the maximum comes from) larger in one place.
        let copy: Vec<Vec<i8>> = x
            .iter()
            .map(|v| {
                let mut v = v.clone();
                if copies_differ {
                    let i = rng.range(0, n - 1);
                    v[i] = v[i].saturating_add(rng.range(1, 40) as i8);
                }
                v
            })
            .collect();
        let exp = exp_lut(0.01 + 0.2 * rng.uniform());
        let stride = n.div_ceil(r);
        for row in 0..rows {
            for i in 0..n {
                let pos = elem(&cfg, 2, stride, row, i);
                put(&mut dev, 0, pos, x[row][i] as u8);
                put(&mut dev, 1, pos, copy[row][i] as u8);
            }
        }
        let table: Vec<u8> = exp.iter().flat_map(|e| e.to_le_bytes()).collect();
        put_bytes(&mut dev, 2, 3, &table);
        let mut want = dev.machine.banks.clone();
        for row in 0..rows {
            let mut p = vec![0u8; n];
            if copies_differ {
                softmax_row_with_max(&x[row], *copy[row].iter().max().unwrap(), &exp, &mut p);
            } else {
                softmax_row(&x[row], &exp, &mut p);
            }
            for (i, &p) in p.iter().enumerate() {
                let (w, b) = elem(&cfg, 1, stride, row, i);
                want[3][w * r + b] = p;
            }
        }
        exec(&mut dev, &[Insn::new(Op::Softmax(vec_op(rows, n, stride, stride, Dyadic::ZERO)))])
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        same_banks(&dev.machine.banks, &want, r)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn layernorm_equals_the_numerics_row_function(small: bool, seed: u64, rows in 1usize..8, n in 1usize..70) {
            layernorm_case(small, seed, rows, n)?;
        }

        #[test]
        fn softmax_equals_the_numerics_row_function(small: bool, seed: u64, rows in 1usize..8, n in 1usize..70, differ: bool) {
            softmax_case(small, seed, rows, n, differ)?;
        }
    }

    #[test]
    fn vector_ops_fixed_shapes() {
        for (i, &(rows, n)) in [(1, 1), (3, 8), (2, 9), (5, 64), (4, 100)].iter().enumerate() {
            layernorm_case(i % 2 == 0, i as u64, rows, n).unwrap();
            softmax_case(i % 2 == 1, i as u64, rows, n, false).unwrap();
            softmax_case(i % 2 == 1, i as u64, rows, n, true).unwrap();
        }
    }

    #[test]
    fn softmax_of_equal_copies_takes_the_row_maximum() {
        // Independent of the simulator: the max-taking variant with the true maximum is softmax_row.
        let exp = exp_lut(0.05);
        let x = [3i8, -128, 127, 0, 127, -5];
        let (mut a, mut b) = ([0u8; 6], [0u8; 6]);
        softmax_row(&x, &exp, &mut a);
        softmax_row_with_max(&x, 127, &exp, &mut b);
        assert_eq!(a, b);
    }

    fn load(bank: u8) -> Insn {
        Insn::new(Op::Load(Dma { sp: ba(bank, 0), sp_stride: 1, rows: 2, words: 1, dram: 0x2000, dram_stride: 8 }))
    }

    fn store(bank: u8) -> Insn {
        Insn::new(Op::Store(Dma { sp: ba(bank, 0), sp_stride: 1, rows: 2, words: 1, dram: 0x3000, dram_stride: 8 }))
    }

    /// A GEMM reading A from `a_bank`, writing `out_bank`, waiting for `deps`.
    fn gemm(a_bank: u8, out_bank: u8, deps: D) -> Insn {
        Insn {
            live: 0,
            deps,
            op: Op::Gemm(Gemm {
                m: 2,
                k: 8,
                n: 8,
                a: ba(a_bank, 0),
                a_stride: 1,
                a_unsigned: false,
                b: WeightSource::Dram,
                out: GemmOut { at: ba(out_bank, 0), stride: 1, group: 0, mode: OutMode::Int8 },
                row_scale: None,
                weights: W_ADDR,
            }),
        }
    }

    /// A softmax of rows in `input` (copy in bank 6, table in bank 7) into bank 8.
    fn softmax(input: u8, deps: D) -> Insn {
        let v = VecOp {
            rows: 2,
            n: 8,
            input: ba(input, 0),
            in_hi_bank: 6,
            in_stride: 1,
            out: ba(8, 0),
            out_stride: 1,
            params: ba(7, 0),
            out_mult: Dyadic::ZERO,
        };
        Insn { live: 0, deps, op: Op::Softmax(v) }
    }

    fn dev_with_weights() -> GoldenDevice {
        let cfg = AccelConfig::small();
        let mut dev = GoldenDevice::new(&cfg, MEM);
        let w = Array2::zeros((8, 8));
        let stream = pack_stream(&[0; 8], &[Dyadic { m: 1 << 14, s: 8 }; 8], Some(&w), None, &cfg);
        dev.write_mem(W_ADDR, &stream).unwrap();
        dev
    }

    fn dma(n: u16) -> D {
        D { dma: n, ..D::default() }
    }

    #[test]
    fn bad_fields_and_opcodes_stop_with_their_codes() {
        let mut dev = dev_with_weights();
        let marker = [0x5au8; 8];
        dev.write_mem(0x2000, &marker).unwrap();
        // A bad instruction after a good one: the first runs, the second is reported.
        let mut zero_m = gemm(0, 1, dma(1));
        if let Op::Gemm(g) = &mut zero_m.op {
            g.m = 0;
        }
        assert_eq!(exec_err(&mut dev, &[load(4), zero_m]), (error_code::BAD_FIELD, 1));
        assert_eq!(dev.read_reg(regmap::INSN_DONE.offset).unwrap(), 1);
        assert_eq!(get(&dev, 4, (0, 0)), 0x5a, "the LOAD before the fault ran");
        let bad_bank =
            Insn::new(Op::Load(Dma { sp: ba(12, 0), sp_stride: 1, rows: 1, words: 1, dram: 0, dram_stride: 8 }));
        assert_eq!(exec_err(&mut dev, &[bad_bank]), (error_code::BAD_FIELD, 0));
        let mut two_ports = softmax(6, D::default());
        if let Op::Softmax(v) = &mut two_ports.op {
            v.params.bank = 6;
        }
        assert_eq!(exec_err(&mut dev, &[two_ports]), (error_code::BAD_FIELD, 0));
        // Raw words: an unknown opcode, a reserved bit.
        for (word, code) in [(0x7fu8, error_code::BAD_OPCODE), (1, error_code::BAD_FIELD)] {
            let mut w = load(0).encode();
            w[0] = word;
            if code == error_code::BAD_FIELD {
                w[63] = 0x80;
            }
            dev.write_mem(INSN_BASE, &[load(0).encode(), w].concat()).unwrap();
            dev.write_reg(regmap::INSN_BASE_LO.offset, INSN_BASE as u32).unwrap();
            dev.write_reg(regmap::INSN_BASE_HI.offset, 0).unwrap();
            dev.write_reg(regmap::INSN_COUNT.offset, 2).unwrap();
            dev.write_reg(regmap::CTRL.offset, 1).unwrap();
            assert_eq!(dev.read_reg(regmap::STATUS.offset).unwrap(), status::ERROR);
            assert_eq!(dev.read_reg(regmap::ERROR_CODE.offset).unwrap(), code);
            assert_eq!(dev.read_reg(regmap::ERROR_INSN.offset).unwrap(), 1);
            assert_eq!(dev.read_reg(regmap::INSN_DONE.offset).unwrap(), 1);
        }
    }

    #[test]
    fn unmet_dependency_counts_are_reported_not_hung() {
        let mut dev = dev_with_weights();
        // Waits for a LOAD that never comes, or comes after it.
        assert_eq!(exec_err(&mut dev, &[gemm(0, 1, dma(1))]), (error_code::BAD_FIELD, 0));
        assert_eq!(exec_err(&mut dev, &[load(0), gemm(0, 1, dma(2)), load(2)]), (error_code::BAD_FIELD, 1));
        assert_eq!(
            exec_err(&mut dev, &[load(0), gemm(0, 1, D { gemm: 1, ..dma(1) })]),
            (error_code::BAD_FIELD, 1),
            "waits for itself"
        );
        assert!(exec(&mut dev, &[load(0), gemm(0, 1, dma(1)), load(2)]).is_ok());
    }

    #[test]
    fn concurrent_instructions_on_one_bank_are_a_bank_conflict() {
        let mut dev = dev_with_weights();
        let conflict = |dev: &mut GoldenDevice, p: &[Insn], at: u32| {
            assert_eq!(exec_err(dev, p), (error_code::BANK_CONFLICT, at), "{p:?}");
        };
        // Two writers of bank 1 (LOAD, GEMM output), unordered; then ordered.
        conflict(&mut dev, &[load(1), gemm(0, 1, D::default())], 1);
        assert!(exec(&mut dev, &[load(1), gemm(0, 1, dma(1))]).is_ok());
        // A writer and a reader (the GEMM reads A from what the LOAD writes).
        conflict(&mut dev, &[load(0), gemm(0, 1, D::default())], 1);
        conflict(&mut dev, &[gemm(0, 1, D::default()), store(1)], 1);
        assert!(exec(
            &mut dev,
            &[gemm(0, 1, D::default()), Insn { live: 0, deps: D { gemm: 1, ..D::default() }, ..store(1) }]
        )
        .is_ok());
        // Two readers share a bank: one read port, a conflict too.
        conflict(&mut dev, &[store(0), gemm(0, 1, D::default())], 1);
        assert!(exec(&mut dev, &[store(0), gemm(0, 1, dma(1))]).is_ok());
        // Counts are absolute: waiting for the first LOAD does not order the second.
        conflict(&mut dev, &[load(3), load(0), gemm(0, 1, dma(1))], 2);
        assert!(exec(&mut dev, &[load(3), load(0), gemm(0, 1, dma(2))]).is_ok());
    }

    #[test]
    fn ordering_is_transitive_through_counts_and_in_order_dispatch() {
        let mut dev = dev_with_weights();
        let vec = |n: u16| D { vec: n, ..D::default() };
        let gemms = |n: u16| D { gemm: n, ..D::default() };
        // The softmax reads bank 3, which the LOAD writes.
        let r = exec_err(&mut dev, &[load(3), softmax(3, D::default())]);
        assert_eq!(r, (error_code::BANK_CONFLICT, 1));
        // softmax after GEMM after LOAD.
        assert!(exec(&mut dev, &[load(3), gemm(0, 1, dma(1)), softmax(3, gemms(1))]).is_ok());
        // The softmax has no counts but is dispatched after the GEMM, which waited for the LOAD.
        assert!(exec(&mut dev, &[load(3), gemm(0, 1, dma(1)), softmax(3, D::default())]).is_ok());
        // ...but a GEMM that waits for nothing orders nothing.
        let r = exec_err(&mut dev, &[load(3), gemm(0, 1, D::default()), softmax(3, D::default())]);
        assert_eq!(r, (error_code::BANK_CONFLICT, 2));
        // A STORE of the softmax output after the softmax, and a later LOAD over the softmax's input
        // that waits for the softmax (write after read).
        let p = [load(3), softmax(3, dma(1)), Insn { deps: vec(1), ..store(8) }, Insn { deps: vec(1), ..load(3) }];
        assert!(exec(&mut dev, &p).is_ok());
        let p = [load(3), softmax(3, dma(1)), Insn { deps: vec(1), ..store(8) }, load(3)];
        assert!(exec(&mut dev, &p).is_ok(), "the second LOAD runs after the STORE, which waited for the softmax");
        let p = [load(3), softmax(3, dma(1)), load(3)];
        assert_eq!(exec_err(&mut dev, &p), (error_code::BANK_CONFLICT, 2), "write after read, unordered");
    }

    #[test]
    fn counters_follow_the_schedule() {
        let mut dev = dev_with_weights();
        let model = CycleModel::new(dev.config());
        let (l, g) = (load(2), gemm(0, 1, D::default()));
        let (lc, (gc, active)) = (model.unit_cycles(&l).0, model.unit_cycles(&g));
        assert!(active > 0);
        let f = model.fetch();
        // Independent units overlap: the GEMM is dispatched the cycle after the LOAD.
        let s = exec(&mut dev, &[l, g]).unwrap();
        assert_eq!(s.cycles, (f + lc).max(f + 1 + gc) + DONE_CYCLES);
        assert_eq!(s.active_cycles, active);
        assert_eq!(dev.read_reg(regmap::DMA_BUSY.offset).unwrap() as u64, lc);
        assert_eq!(dev.read_reg(regmap::GEMM_BUSY.offset).unwrap() as u64, gc);
        assert_eq!(dev.read_reg(regmap::VEC_BUSY.offset).unwrap(), 0);
        // A dependency serializes them.
        let s = exec(&mut dev, &[l, gemm(0, 1, dma(1))]).unwrap();
        assert_eq!(s.cycles, f + lc + DEP_LATENCY + gc + DONE_CYCLES);
        // One unit runs one instruction at a time.
        let s = exec(&mut dev, &[l, l, l]).unwrap();
        assert_eq!(s.cycles, f + 3 * lc + 2 * SLOT_LATENCY + DONE_CYCLES);
        assert_eq!(dev.read_reg(regmap::DMA_BUSY.offset).unwrap() as u64, 3 * lc);
        // Alone, an instruction takes what the model says of it.
        let s = exec(&mut dev, &[g]).unwrap();
        assert_eq!(s.cycles, model.insn(&g).0);
    }
}
