//! Programs for the accelerator: an instruction stream and the memory image it runs on, plus
//! the packed formats the hardware reads (weight streams, activation rows).

use golden::kernels::QLinear;
use ndarray::Array2;
use serde::Serialize;
use spec::isa::{self, Insn};
use spec::AccelConfig;

/// A memory region of a program image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Segment {
    /// What it holds (for reports).
    pub name: String,
    /// DRAM byte address.
    pub addr: u64,
    /// Contents.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// Where a result matrix lands in DRAM after the program runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputRegion {
    /// Name (for reports).
    pub name: String,
    /// DRAM byte address of row 0.
    pub addr: u64,
    /// Rows.
    pub rows: usize,
    /// Bytes per row in DRAM (a whole number of words).
    pub row_bytes: usize,
    /// Meaningful bytes per row (the matrix width).
    pub cols: usize,
}

/// A complete program: instructions at `insn_base`, data segments, output regions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Program {
    /// Instructions.
    pub insns: Vec<Insn>,
    /// DRAM address of instruction 0.
    pub insn_base: u64,
    /// Data to place in DRAM before the run.
    pub segments: Vec<Segment>,
    /// Results to read back after the run.
    pub outputs: Vec<OutputRegion>,
    /// Bytes of DRAM the program touches (all addresses are below this).
    pub dram_bytes: u64,
    /// LIVE_TOKENS for the run: the size of every instruction field marked live
    /// (`spec::isa::live`); irrelevant when none is.
    pub live_tokens: u16,
}

impl Program {
    /// The encoded instruction stream.
    pub fn insn_bytes(&self) -> Vec<u8> {
        self.insns.iter().flat_map(|i| i.encode()).collect()
    }

    /// Instruction `i` as a program of its own, to run on a device that holds this program's
    /// data (see [`crate::device::load`]) once the instructions before it have run: no segments,
    /// and no dependency counts (they count instructions since START, and everything before
    /// `i` has completed). For per-instruction cycle counts.
    pub fn alone(&self, i: usize) -> Program {
        Program { insns: vec![Insn { deps: Default::default(), ..self.insns[i] }], segments: vec![], ..self.clone() }
    }
}

/// Simple bump allocator for DRAM: 4 KiB-aligned regions, starting above address 0.
#[derive(Clone, Debug)]
pub struct DramAlloc {
    next: u64,
}

impl Default for DramAlloc {
    fn default() -> Self {
        DramAlloc { next: 0x1000 }
    }
}

impl DramAlloc {
    /// Reserve `bytes` and return the base address.
    pub fn alloc(&mut self, bytes: usize) -> u64 {
        let a = self.next;
        self.next += (bytes as u64).div_ceil(4096).max(1) * 4096;
        a
    }
    /// Bytes used so far.
    pub fn used(&self) -> u64 {
        self.next
    }
}

/// Words of `R` bytes per activation row of width `k`.
pub fn row_words(k: usize, cfg: &AccelConfig) -> usize {
    k.div_ceil(cfg.word_bytes())
}

/// Pack an int8 (or uint8) matrix into scratchpad rows: row `m` is `ceil(K/R)` words, channel `k`
/// at byte `k` of the row, zero padded.
pub fn pack_rows(a: &Array2<u8>, cfg: &AccelConfig) -> Vec<u8> {
    let rb = row_words(a.ncols(), cfg) * cfg.word_bytes();
    let mut out = vec![0u8; a.nrows() * rb];
    for (m, row) in a.rows().into_iter().enumerate() {
        for (k, &v) in row.iter().enumerate() {
            out[m * rb + k] = v;
        }
    }
    out
}

/// Unpack `rows x cols` bytes from rows of `row_bytes` bytes.
pub fn unpack_rows(bytes: &[u8], rows: usize, row_bytes: usize, cols: usize) -> Array2<u8> {
    Array2::from_shape_fn((rows, cols), |(m, k)| bytes[m * row_bytes + k])
}

/// The packed weight stream of a quantized linear layer for the GEMM instruction
/// (`spec::isa::weight_stream_words`): the 256-byte LUT if any, then per n-tile of `C` channels
/// a header (C little-endian int32 biases, then C requantization words `m | s << 16`), then
/// `ceil(K/R)` tiles of `R` rows, row `r` of tile `t` holding `W[n0 + c][t*R + r]` at byte `c`.
/// Padding is zero.
pub fn pack_weights(l: &QLinear, cfg: &AccelConfig) -> Vec<u8> {
    pack_stream(&l.bias, &l.requant, Some(&l.w), None, cfg)
}

/// A weight stream from its parts: per-channel biases and requantization (`N` each), the
/// weights `[N, K]` (DRAM weights) or none (the GEMM's B is on chip: headers only), and an
/// optional LUT (the output table of `OutMode::Int8Lut`).
pub fn pack_stream(
    bias: &[i32],
    requant: &[spec::Dyadic],
    w: Option<&Array2<i8>>,
    lut: Option<&[i8; 256]>,
    cfg: &AccelConfig,
) -> Vec<u8> {
    let (r, c) = (cfg.array_rows, cfg.array_cols);
    let n = bias.len();
    assert_eq!(requant.len(), n);
    let k = w.map_or(0, |w| w.ncols());
    let words = isa::weight_stream_words(k, n, r, c, w.is_some(), lut.is_some());
    let mut out = Vec::with_capacity(words * cfg.word_bytes());
    if let Some(lut) = lut {
        out.extend(lut.iter().map(|&v| v as u8));
    }
    for nt in 0..n.div_ceil(c) {
        let ch = |i: usize| nt * c + i;
        for i in 0..c {
            let b = if ch(i) < n { bias[ch(i)] } else { 0 };
            out.extend_from_slice(&b.to_le_bytes());
        }
        for i in 0..c {
            let q = if ch(i) < n { isa::requant_word(requant[ch(i)]) } else { 0 };
            out.extend_from_slice(&q.to_le_bytes());
        }
        if let Some(w) = w {
            for kt in 0..k.div_ceil(r) {
                for row in 0..r {
                    let kk = kt * r + row;
                    let mut word = vec![0u8; cfg.word_bytes()];
                    for (i, byte) in word.iter_mut().enumerate().take(c) {
                        if ch(i) < n && kk < k {
                            *byte = w[[ch(i), kk]] as u8;
                        }
                    }
                    out.extend_from_slice(&word);
                }
            }
        }
    }
    debug_assert_eq!(out.len(), words * cfg.word_bytes());
    out
}
