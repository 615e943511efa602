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
use spec::timing::gemm::{
    column_load_gate, load_gate, ACC_RETIRE, OUT_RETIRE, STREAM_ACCEPT, STREAM_ARRIVE, UNIT_DONE as GEMM_DONE,
    UNIT_START as GEMM_START,
};
use spec::timing::read::{AR_DELAY, ISSUE as READ_ISSUE, OUTSTANDING as READ_OUTSTANDING};
use spec::timing::vector::{self as vector_timing, UNIT_OVERHEAD as VEC_OVERHEAD};
use spec::timing::{dram, select as select_timing};
use spec::AccelConfig;
use std::collections::VecDeque;

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
                let c = vector_timing::vec_cycles(op, v.n as usize, v.rows as usize, self.rows, self.max_width);
                (c + VEC_OVERHEAD, 0)
            }
            Op::ColMean(v) => {
                (select_timing::colmean_cycles(v.rows as usize, v.n as usize, self.rows) + VEC_OVERHEAD, 0)
            }
            // Data dependent: without the decisions, the cost when every token is kept.
            Op::Select(v) => (self.select_cycles(v, &vec![true; v.rows as usize]), 0),
        }
    }

    /// Unit cycles of a SELECT whose tokens are kept as `keep` says.
    pub fn select_cycles(&self, v: &isa::Select, keep: &[bool]) -> u64 {
        select_timing::select_cycles(keep, v.heads as usize, v.n as usize, self.rows, v.gather_rows as usize)
            + VEC_OVERHEAD
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

    /// `(unit busy cycles, active cycles)` of a GEMM.
    pub fn gemm(&self, g: GemmShape) -> (u64, u64) {
        let (r, c) = (self.rows as u64, self.cols as u64);
        let m = g.m as u64;
        let kt = g.k.div_ceil(self.rows) as u64;
        let nt = g.n.div_ceil(self.cols) as u64;
        let hdr = (isa::weight_header_bytes(self.cols) / self.rows) as u64;
        let onchip = g.b != BSource::Stream;
        let lut_words = if g.lut { (isa::LUT_BYTES / self.rows) as u64 } else { 0 };
        let total_words = isa::weight_stream_words(g.k, g.n, self.rows, self.cols, !onchip, g.lut) as u64;
        // Reads per on-chip tile and the loader's gate (`spec::timing::gemm`).
        let (tile_reads, gate_len) = match g.b {
            BSource::Stream | BSource::Rows => (r, load_gate(self.cols) as u64),
            BSource::Columns => (c, column_load_gate(self.rows) as u64),
        };
        let depth = self.fifo_words as u64;
        let lat = r + c; // array latency
                         // The weight stream: commands sized when the free space allows (all that is left, or at
                         // least half the FIFO), accepted STREAM_ACCEPT cycles later; beats arrive in order.
        let arrive = AR_DELAY + self.read_latency + STREAM_ARRIVE;
        let mut words_left = total_words;
        let mut stream_inflight = 0u64; // words requested, not yet in the FIFO
        let mut pending: Option<(u64, u64)> = None; // (accept cycle, words)
        let mut beats: VecDeque<(u64, u64)> = VecDeque::new(); // (first beat cycle, words)
        let mut next_beat_free = 0u64; // the read channel's next free cycle
        let mut fifo = 0u64;
        // Loader.
        #[derive(PartialEq)]
        enum L {
            Lut,
            Header,
            Gate,
            Rows,
            Finished,
        }
        let mut l_state = if g.lut { L::Lut } else { L::Header };
        let (mut l_lut, mut l_hdr, mut l_row, mut l_kt, mut l_nt, mut l_par) = (0, 0, 0, 0, 0, 0usize);
        let mut l_done = 0u64;
        let mut lw_valid = false; // on-chip: a read's write stage this cycle
        let mut lw_last_at: Option<u64> = None; // on-chip: cycle l_done increments
                                                // Streamer.
        #[derive(PartialEq)]
        enum S {
            Wait,
            Run,
            Drain,
        }
        let (mut s_state, mut s_m, mut s_kt, mut s_nt, mut s_par) = (S::Wait, 0u64, 0u64, 0u64, 0usize);
        let mut s_started = 0u64;
        let mut gate = 0u64;
        let mut inflight = [0u64; 2];
        // Retire events: (cycle the counter drops, parity).
        let mut retire: VecDeque<(u64, usize)> = VecDeque::new();
        let mut active = 0u64;
        let mut t = 0u64;
        loop {
            // Counters as registers at the start of cycle t.
            while retire.front().is_some_and(|&(at, _)| at <= t) {
                let (_, p) = retire.pop_front().expect("non-empty");
                inflight[p] -= 1;
            }
            let count = fifo;
            // Stream: accept a sized command; size the next one from this cycle's registers.
            if let Some((at, words)) = pending {
                if at == t {
                    let first = (t + arrive).max(next_beat_free);
                    beats.push_back((first, words));
                    next_beat_free = first + words;
                    words_left -= words;
                    pending = None;
                }
            } else if words_left != 0 {
                let credit = depth - count - stream_inflight;
                let chunk = if words_left <= credit {
                    Some(words_left)
                } else if credit >= depth / 2 {
                    Some(credit)
                } else {
                    None
                };
                if let Some(w) = chunk {
                    pending = Some((t + STREAM_ACCEPT, w));
                    stream_inflight += w;
                }
            }
            // Start condition of the next tile (combinational, from this cycle's registers).
            let next_idx = if s_state == S::Run && s_m == 0 { s_started + 1 } else { s_started };
            let start_ok = l_done > next_idx
                || (!onchip && l_state == L::Rows && l_done == next_idx && l_row != 0 && count >= r - l_row);
            let load_ok = (l_done == 0 || (s_started == l_done && gate == 0)) && !lw_valid;
            let mut pop = false;
            let mut n_lw_valid = false;
            // Next-state values.
            let mut n_gate = gate.saturating_sub(1);
            let (mut n_s_started, mut n_l_done) = (s_started, l_done);
            if lw_last_at == Some(t) {
                n_l_done += 1;
                lw_last_at = None;
            }
            match l_state {
                L::Lut => {
                    if count != 0 {
                        pop = true;
                        l_lut += 1;
                        if l_lut == lut_words {
                            l_state = L::Header;
                        }
                    }
                }
                L::Header => {
                    if inflight[l_par] == 0 && count != 0 {
                        pop = true;
                        l_hdr += 1;
                        if l_hdr == hdr {
                            l_hdr = 0;
                            l_state = L::Gate;
                        }
                    }
                }
                L::Gate => {
                    if load_ok {
                        l_state = L::Rows;
                    }
                }
                L::Rows => {
                    let mut last = false;
                    if onchip {
                        n_lw_valid = true;
                        l_row += 1;
                        if l_row == tile_reads {
                            l_row = 0;
                            last = true;
                            lw_last_at = Some(t + 1);
                        }
                    } else if count != 0 {
                        pop = true;
                        l_row += 1;
                        if l_row == r {
                            l_row = 0;
                            n_l_done += 1;
                            last = true;
                        }
                    }
                    if last {
                        l_state = L::Gate;
                        l_kt += 1;
                        if l_kt == kt {
                            l_kt = 0;
                            l_nt += 1;
                            l_par ^= 1;
                            l_state = if l_nt == nt { L::Finished } else { L::Header };
                        }
                    }
                }
                L::Finished => {}
            }
            let mut finished = false;
            match s_state {
                S::Wait => {
                    if start_ok {
                        s_state = S::Run;
                    }
                }
                S::Run => {
                    active += 1;
                    inflight[s_par] += 1;
                    let last_k = s_kt + 1 == kt;
                    // A row leaves the accumulator stage (non-final k-tiles) or the output stage.
                    let drop_at = if last_k { t + lat + OUT_RETIRE } else { t + lat + ACC_RETIRE };
                    let pos = retire.iter().position(|&(at, _)| at > drop_at).unwrap_or(retire.len());
                    retire.insert(pos, (drop_at, s_par));
                    if s_m == 0 {
                        n_s_started += 1;
                        n_gate = gate_len;
                    }
                    s_m += 1;
                    if s_m == m {
                        s_m = 0;
                        s_state = if start_ok { S::Run } else { S::Wait };
                        s_kt += 1;
                        if s_kt == kt {
                            s_kt = 0;
                            s_nt += 1;
                            s_par ^= 1;
                            if s_nt == nt {
                                s_state = S::Drain;
                            }
                        }
                    }
                }
                S::Drain => {
                    if inflight == [0, 0] {
                        finished = true;
                    }
                }
            }
            // The FIFO: a pop, and the beat arriving this cycle, if any.
            if pop {
                fifo -= 1;
            }
            if let Some(&(first, words)) = beats.front() {
                if t >= first {
                    fifo += 1;
                    stream_inflight -= 1;
                    if t + 1 == first + words {
                        beats.pop_front();
                    }
                }
            }
            lw_valid = n_lw_valid;
            gate = n_gate;
            s_started = n_s_started;
            l_done = n_l_done;
            t += 1;
            if finished {
                return (GEMM_START + t + GEMM_DONE, active);
            }
            assert!(t < 1 << 40, "cycle model did not converge");
        }
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
