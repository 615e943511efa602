//! The analytic cycle model: predicted cycles per instruction, from the timing rules of the
//! controller and GEMM engine (`hdl::gemm`, `docs/ARCHITECTURE.md`). The RTL's cycle counts are
//! checked against it (within 5 %), and the golden backend reports it as CYCLES/ACTIVE.

use serde::Serialize;
use spec::isa::{self, Insn};
use spec::AccelConfig;

/// Memory-system and fixed-overhead parameters of the model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CycleModel {
    /// Array rows R.
    pub rows: usize,
    /// Array columns C.
    pub cols: usize,
    /// Weight FIFO depth in words.
    pub fifo_words: usize,
    /// Cycles from a read request to its first data beat (DRAM latency as seen by the DMA).
    pub read_latency: u64,
    /// Cycles from the last write beat to the write response.
    pub write_latency: u64,
}

/// Cycles the controller spends per instruction outside the operation (fetch request, beats,
/// decode, next): measured from the RTL's state machine.
const FETCH_OVERHEAD: u64 = 4;
/// Cycles between the GEMM engine's start and its first FIFO pop beyond the memory latency.
const GEMM_START: u64 = 3;
/// Minimum tile period beyond `C` (the load gate, see `hdl::gemm::load_gate`).
const TILE_GATE_EXTRA: u64 = 1;
/// Cycles after the last row is issued until the engine reports done: bank read, array
/// (`R + C`), accumulator stage, requantizer, output write, drain check.
const DRAIN_EXTRA: u64 = 6;

impl CycleModel {
    /// The model for `cfg` with the simulator's default DRAM latency.
    pub fn new(cfg: &AccelConfig) -> Self {
        CycleModel {
            rows: cfg.array_rows,
            cols: cfg.array_cols,
            fifo_words: cfg.weight_fifo_words,
            read_latency: 20,
            write_latency: 20,
        }
    }

    /// Cycles to fetch one instruction.
    pub fn fetch(&self) -> u64 {
        let beats = (isa::INSN_BYTES / self.rows).max(1) as u64;
        self.read_latency + beats + FETCH_OVERHEAD
    }

    /// `(cycles, active cycles)` of one instruction, fetch included.
    pub fn insn(&self, insn: &Insn) -> (u64, u64) {
        match insn {
            Insn::Load(d) => (self.fetch() + self.read_latency + d.rows as u64 * d.words as u64 + 2, 0),
            Insn::Store(d) => (self.fetch() + 2 * d.rows as u64 * d.words as u64 + self.write_latency + 2, 0),
            Insn::Gemm(g) => {
                let (c, a) = self.gemm(g.m as usize, g.k as usize, g.n as usize);
                (self.fetch() + c, a)
            }
        }
    }

    /// `(cycles, active cycles)` of a GEMM from engine start to done.
    pub fn gemm(&self, m: usize, k: usize, n: usize) -> (u64, u64) {
        let (r, c) = (self.rows as u64, self.cols as u64);
        let kt = k.div_ceil(self.rows) as u64;
        let nt = n.div_ceil(self.cols) as u64;
        let hdr = (isa::weight_header_bytes(self.cols) / self.rows) as u64;
        let m = m as u64;
        // A tile costs the rows it streams, but no less than the load gate and the R words the
        // DMA must bring (one per cycle); each n-tile also moves its header.
        let period = m.max(c + TILE_GATE_EXTRA).max(r);
        let tiles = nt * kt;
        let first = self.read_latency + GEMM_START + hdr + r;
        let body = tiles * period + nt.saturating_sub(1) * hdr.saturating_sub(period.saturating_sub(m.max(r)));
        let drain = 1 + r + c + spec_requant_latency() + DRAIN_EXTRA;
        (first + body + drain, tiles * m)
    }
}

fn spec_requant_latency() -> u64 {
    3
}
