//! Predicted cycles of every instruction on its unit, from the timing rules of the read engine,
//! the units and the GEMM engine (`spec::timing`, `docs/ARCHITECTURE.md`).
//!
//! * DMA: LOAD is a small event model of the read engine (one command per row, at most
//!   `spec::timing::read::OUTSTANDING` in flight, one accepted every `read::ISSUE` cycles);
//!   STORE is closed form.
//! * GEMM: the engine's *control* (weight-stream commands and arrivals, FIFO fill, loader and
//!   streamer state, in-flight rows) is stepped cycle by cycle with the RTL's rules, without any
//!   arithmetic: a few operations per cycle, so even DeiT-Tiny on a 64x32 array is predicted in
//!   milliseconds.
//! * LayerNorm / softmax / COLMEAN / SELECT: the engines' exact counts
//!   (`spec::timing::vector::vec_cycles`, `spec::timing::select`), checked against the RTL by the
//!   `hdl` tests.

use serde::Serialize;
use spec::isa::{self, Insn, Op, OutMode, WeightSource};
use spec::timing::control::{DONE_CYCLES, FETCH_OVERHEAD};
use spec::timing::dma::{LOAD_OVERHEAD, STORE_OVERHEAD};
use spec::timing::read::{AR_DELAY, ISSUE as READ_ISSUE, OUTSTANDING as READ_OUTSTANDING};
use spec::timing::vector::{self as vector_timing, UNIT_OVERHEAD as VEC_OVERHEAD};
use spec::timing::{dram, select as select_timing};
use spec::AccelConfig;

/// Parameters of the model: array, FIFO, and the memory system as the DMA sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CycleModel {
    /// Array rows R.
    pub rows: usize,
    /// Array columns C.
    pub cols: usize,
    /// Weight FIFO depth in words.
    pub fifo_words: usize,
    /// Widest row the vector unit is built for (its scalar pipeline depth depends on it).
    pub max_width: usize,
    /// Physical lanes of the vector unit (`AccelConfig::vec_lanes`).
    pub vec_lanes: usize,
    /// Lanes of the selector's column pass (`AccelConfig::sel_lanes`).
    pub sel_lanes: usize,
    /// Cycles from a read address handshake to its first data beat.
    pub read_latency: u64,
    /// Cycles from the last write beat to the write response.
    pub write_latency: u64,
}

/// Where a GEMM's B operand comes from, for timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BSource {
    /// The weight stream (one FIFO word per tile row).
    Stream,
    /// Scratchpad rows (R reads per tile).
    Rows,
    /// Scratchpad columns (C reads per tile).
    Columns,
}

/// The timing-relevant shape of a GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmShape {
    /// Rows (tokens).
    pub m: usize,
    /// Reduction length.
    pub k: usize,
    /// Output channels.
    pub n: usize,
    /// Source of B.
    pub b: BSource,
    /// The weight stream starts with the 256-byte LUT.
    pub lut: bool,
}

impl GemmShape {
    /// A GEMM with DRAM weights and no LUT.
    pub fn dense(m: usize, k: usize, n: usize) -> Self {
        GemmShape { m, k, n, b: BSource::Stream, lut: false }
    }

    /// The shape of a GEMM instruction.
    pub fn of(g: &isa::Gemm) -> Self {
        let b = match g.b {
            WeightSource::Dram => BSource::Stream,
            WeightSource::Rows { .. } => BSource::Rows,
            WeightSource::Columns { .. } => BSource::Columns,
        };
        GemmShape { m: g.m as usize, k: g.k as usize, n: g.n as usize, b, lut: matches!(g.out.mode, OutMode::Int8Lut) }
    }
}

impl CycleModel {
    /// The model for `cfg` with the simulator's default memory latencies (`spec::timing::dram`).
    pub fn new(cfg: &AccelConfig) -> Self {
        CycleModel {
            rows: cfg.array_rows,
            cols: cfg.array_cols,
            fifo_words: cfg.weight_fifo_words,
            max_width: cfg.max_width,
            vec_lanes: cfg.vec_lanes(),
            sel_lanes: cfg.sel_lanes(),
            read_latency: dram::READ_LATENCY,
            write_latency: dram::WRITE_LATENCY,
        }
    }

    /// Instruction words per AXI beat.
    fn insn_beats(&self) -> u64 {
        (isa::INSN_BYTES / self.rows).max(1) as u64
    }

    /// Cycles from START to the first instruction reaching its unit.
    pub fn fetch(&self) -> u64 {
        FETCH_OVERHEAD + self.read_latency + self.insn_beats()
    }

    /// `(cycles, active cycles)` of a program of this one instruction: CYCLES from START to
    /// DONE.
    pub fn insn(&self, insn: &Insn) -> (u64, u64) {
        let (unit, active) = self.unit_cycles(insn);
        (self.fetch() + unit + DONE_CYCLES, active)
    }

    /// `(unit busy cycles, active cycles)` of one instruction: from its unit taking it to the
    /// unit's `done`, when it does not wait for the unit's previous instruction.
    pub fn unit_cycles(&self, insn: &Insn) -> (u64, u64) {
        match &insn.op {
            Op::Load(d) => (self.load(d.rows as u64, d.words as u64), 0),
            Op::Store(d) => (self.store(d.rows as u64, d.words as u64), 0),
            Op::Gemm(g) => self.gemm(GemmShape::of(g)),
            Op::LayerNorm(v) | Op::Softmax(v) => {
                let op = if matches!(insn.op, Op::LayerNorm(_)) {
                    vector_timing::OP_LAYERNORM
                } else {
                    vector_timing::OP_SOFTMAX
                };
                let c = vector_timing::vec_cycles(
                    op,
                    v.n as usize,
                    v.rows as usize,
                    self.vec_lanes,
                    self.rows / self.vec_lanes,
                    self.max_width,
                );
                (c + VEC_OVERHEAD, 0)
            }
            Op::ColMean(v) => {
                (select_timing::colmean_cycles(v.rows as usize, v.n as usize, self.sel_lanes) + VEC_OVERHEAD, 0)
            }
            // Data dependent: without the decisions, the cost when every token is kept.
            Op::Select(v) => (self.select_cycles(v, &vec![true; v.rows as usize]), 0),
        }
    }

    /// Unit cycles of a SELECT whose tokens are kept as `keep` says.
    pub fn select_cycles(&self, v: &isa::Select, keep: &[bool]) -> u64 {
        let (n, gather) = (v.n as usize, v.gather_rows as usize);
        select_timing::select_cycles(keep, v.heads as usize, n, self.rows, self.sel_lanes, gather) + VEC_OVERHEAD
    }

    /// Cycles of a LOAD: one read command per row, accepted at most every [`READ_ISSUE`] cycles
    /// and while fewer than [`READ_OUTSTANDING`] are in flight (a command leaves with its last
    /// beat); data returns in order, a beat per cycle.
    pub fn load(&self, rows: u64, words: u64) -> u64 {
        let delay = AR_DELAY + self.read_latency;
        let mut accepted: Vec<u64> = Vec::with_capacity(rows as usize);
        let mut ends: Vec<u64> = Vec::with_capacity(rows as usize);
        let mut last_end = 0;
        for j in 0..rows as usize {
            let mut a = accepted.last().map_or(0, |&p| p + READ_ISSUE);
            if j >= READ_OUTSTANDING {
                a = a.max(ends[j - READ_OUTSTANDING] - 1);
            }
            accepted.push(a);
            last_end = (a + delay).max(last_end) + words;
            ends.push(last_end);
        }
        LOAD_OVERHEAD + last_end
    }

    /// Cycles of a STORE: a word every other cycle plus one cycle per row, then the last write
    /// response.
    pub fn store(&self, rows: u64, words: u64) -> u64 {
        rows * (2 * words + 1) + self.write_latency + STORE_OVERHEAD
    }

    /// `(unit busy cycles, active cycles)` of a GEMM: the engine's control stepped cycle by cycle
    /// ([`super::gemm_timeline`]).
    pub fn gemm(&self, g: GemmShape) -> (u64, u64) {
        super::gemm_timeline::run(self, g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_gemms_approach_one_tile_per_m_cycles() {
        let m = CycleModel::new(&AccelConfig::default());
        // DeiT-Tiny FC1 on 16x16: 48 x 12 tiles of 197 rows.
        let (cycles, active) = m.gemm(GemmShape::dense(197, 192, 768));
        assert_eq!(active, 197 * 12 * 48);
        let ideal = 197 * 12 * 48;
        assert!(cycles > ideal && cycles < ideal + ideal / 50, "{cycles} vs {ideal}");
    }

    #[test]
    fn few_tokens_are_bounded_by_the_load_gate() {
        let m = CycleModel::new(&AccelConfig::default());
        let (one, _) = m.gemm(GemmShape::dense(1, 1024, 16));
        let (sixteen, _) = m.gemm(GemmShape::dense(16, 1024, 16));
        // 64 tiles: a tile never takes fewer than ~C cycles, so 1 token costs about as much as 16.
        assert!(sixteen < one + one / 4, "{one} vs {sixteen}");
    }
}
