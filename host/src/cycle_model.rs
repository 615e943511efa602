//! The cycle model: predicted cycles of every instruction, from the timing rules of the
//! controller, the AXI read engine and the GEMM engine (`docs/ARCHITECTURE.md`).
//!
//! Instruction fetch and DMA are closed forms. A GEMM is modelled by stepping its *control*
//! (weight-stream arrivals, FIFO fill, loader and streamer state, in-flight rows) cycle by
//! cycle with the RTL's rules, without any arithmetic: a few operations per cycle, so even a
//! DeiT-Tiny-sized model on a 64x32 array is predicted in milliseconds. The RTL's CYCLES
//! counter is checked against it (within 5 %), and it projects latency for arrays too large to
//! simulate.

use serde::Serialize;
use spec::isa::{self, Insn};
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
    /// Cycles from a read address handshake to its first data beat.
    pub read_latency: u64,
    /// Cycles from the last write beat to the write response.
    pub write_latency: u64,
}

/// Cycles from the controller's first GEMM state to the engine's first cycle (command accepted,
/// start pulse).
const GEMM_START: u64 = 1;
/// Cycles from a read command's acceptance to its address handshake.
const AR_DELAY: u64 = 2;
/// Cycles after the last instruction's operation until BUSY falls (NEXT state).
const NEXT_STATE: u64 = 1;

impl CycleModel {
    /// The model for `cfg` with the simulator's default memory latencies (read 20, write 2).
    pub fn new(cfg: &AccelConfig) -> Self {
        CycleModel {
            rows: cfg.array_rows,
            cols: cfg.array_cols,
            fifo_words: cfg.weight_fifo_words,
            read_latency: 20,
            write_latency: 2,
        }
    }

    /// Instruction words per AXI beat.
    fn insn_beats(&self) -> u64 {
        (isa::INSN_BYTES / self.rows).max(1) as u64
    }

    /// Cycles from the FETCH state to the first cycle of the operation (fetch + decode).
    pub fn fetch(&self) -> u64 {
        1 + AR_DELAY + self.read_latency + self.insn_beats()
    }

    /// `(cycles, active cycles)` of one instruction, fetch and completion included.
    pub fn insn(&self, insn: &Insn) -> (u64, u64) {
        let (op, active) = match insn {
            Insn::Load(d) => (self.load(d.rows as u64, d.words as u64), 0),
            Insn::Store(d) => (self.store(d.rows as u64, d.words as u64), 0),
            Insn::Gemm(g) => self.gemm(g.m as usize, g.k as usize, g.n as usize),
        };
        (self.fetch() + op + NEXT_STATE, active)
    }

    /// Cycles of a LOAD: one read command per row; rows of 8 words or more stream back to back,
    /// shorter rows pay part of the read engine's per-command cost (`(7 - words) / 2` cycles
    /// per row, fitted to RTL measurements; exact for long rows).
    pub fn load(&self, rows: u64, words: u64) -> u64 {
        let overhead = rows * 7u64.saturating_sub(words) / 2;
        AR_DELAY + self.read_latency + 1 + rows * words + overhead
    }

    /// Cycles of a STORE: a word every other cycle plus one cycle per row, then the last write
    /// response (exact).
    pub fn store(&self, rows: u64, words: u64) -> u64 {
        rows * (2 * words + 1) + self.write_latency + 1
    }

    /// `(cycles, active cycles)` of a GEMM from the controller's GEMM state to the engine's done
    /// being seen by the controller.
    pub fn gemm(&self, m: usize, k: usize, n: usize) -> (u64, u64) {
        let (r, c) = (self.rows as u64, self.cols as u64);
        let m = m as u64;
        let kt = k.div_ceil(self.rows) as u64;
        let nt = n.div_ceil(self.cols) as u64;
        let hdr = (isa::weight_header_bytes(self.cols) / self.rows) as u64;
        let total_words = nt * (hdr + kt * r);
        let depth = self.fifo_words as u64;
        let lat = r + c; // array latency
                         // Cycle 0: the engine's first cycle (loader in Header, streamer in Wait).
                         // Weight stream: beat j reaches the FIFO at `arrival(j)` unless the FIFO is full.
        let first_beat = AR_DELAY + self.read_latency - GEMM_START;
        let mut next_beat = 0u64; // beats delivered
        let mut fifo = 0u64;
        // Loader.
        #[derive(PartialEq)]
        enum L {
            Header,
            Gate,
            Rows,
            Finished,
        }
        let (mut l_state, mut l_hdr, mut l_row, mut l_kt, mut l_nt, mut l_par) = (L::Header, 0, 0, 0, 0, 0usize);
        let mut l_done = 0u64;
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
            // Start condition of the next tile (combinational, from this cycle's registers).
            let next_idx = if s_state == S::Run && s_m == 0 { s_started + 1 } else { s_started };
            let start_ok =
                l_done > next_idx || (l_state == L::Rows && l_done == next_idx && l_row != 0 && count >= r - l_row);
            let load_ok = l_done == 0 || (s_started == l_done && gate == 0);
            let mut pop = false;
            // Next-state values.
            let mut n_gate = gate.saturating_sub(1);
            let (mut n_s_started, mut n_l_done) = (s_started, l_done);
            match l_state {
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
                    if count != 0 {
                        pop = true;
                        l_row += 1;
                        if l_row == r {
                            l_row = 0;
                            n_l_done += 1;
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
                    // A row leaves the accumulator stage (non-final k-tiles) or the output write.
                    let drop_at = if last_k { t + lat + 5 } else { t + lat + 2 };
                    let pos = retire.iter().position(|&(at, _)| at > drop_at).unwrap_or(retire.len());
                    retire.insert(pos, (drop_at, s_par));
                    if s_m == 0 {
                        n_s_started += 1;
                        n_gate = c;
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
            // The FIFO: a pop, then at most one beat pushed if there is room.
            if pop {
                fifo -= 1;
            }
            // After the first beat's latency the stream delivers one beat per cycle whenever the
            // FIFO has room (`rready`), bursts being queued well ahead.
            if t >= first_beat && next_beat < total_words && count < depth {
                fifo += 1;
                next_beat += 1;
            }
            gate = n_gate;
            s_started = n_s_started;
            l_done = n_l_done;
            t += 1;
            if finished {
                // done register, controller sees it, g_finished, then NEXT.
                return (GEMM_START + t + 2, active);
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
        let (cycles, active) = m.gemm(197, 192, 768);
        assert_eq!(active, 197 * 12 * 48);
        let ideal = 197 * 12 * 48;
        assert!(cycles > ideal && cycles < ideal + ideal / 50, "{cycles} vs {ideal}");
    }

    #[test]
    fn few_tokens_are_bounded_by_the_load_gate() {
        let m = CycleModel::new(&AccelConfig::default());
        let (one, _) = m.gemm(1, 1024, 16);
        let (sixteen, _) = m.gemm(16, 1024, 16);
        // 64 tiles: a tile never takes fewer than ~C cycles, so 1 token costs about as much as 16.
        assert!(sixteen < one + one / 4, "{one} vs {sixteen}");
    }
}
