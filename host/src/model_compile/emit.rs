//! The emitter every step writes through: typed operations (named fields, enums instead of
//! flags) turned into ISA instructions with their live-size bits and dependency counts, DRAM
//! segments allocated in emission order, and debug dumps.

use super::bank;
use super::builder::Builder;
use super::compiled::{CompiledModel, Dump, DumpKind, LayerKind};
use super::layout::Layout;
use crate::program::{pack_stream, DramAlloc, Program, Segment};
use golden::kernels::QLinear;
use spec::isa::{self, BankAddr, ColMean, Dma, Gemm, GemmOut, Op, OutMode, Select, VecOp, WeightSource};
use spec::numerics::Dyadic;
use spec::AccelConfig;

/// `BankAddr` from a bank and a word address.
pub(super) fn ba(bank: u8, addr: usize) -> BankAddr {
    BankAddr { bank, addr: addr as u32 }
}

/// A GEMM output of whole words (C-byte group 0) at `at`, `stride` words between rows.
pub(super) fn out_rows(at: BankAddr, stride: usize, mode: OutMode) -> GemmOut {
    GemmOut { at, stride: stride as u32, group: 0, mode }
}

/// The residual-stream update mode: `X += requant_i16(..)` into banks XL/XH.
pub(super) const RESID: OutMode = OutMode::Resid16 { hi_bank: bank::XH };

/// Whether the token-sized fields of the instructions being emitted follow LIVE_TOKENS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenCount {
    /// Sizes are the compiled ones (embedding, final LayerNorm, heads, the selectors' head
    /// branch, and every block without `live_tokens`/`prune`).
    Fixed,
    /// In a block compiled with `live_tokens` or `prune`: every token count (rows, and the
    /// token dimension of `Q K^T`, `P V` and softmax) is LIVE_TOKENS at dispatch.
    Live,
}

/// Rows of a matrix in the scratchpad.
#[derive(Clone, Copy, Debug)]
pub(super) struct Matrix {
    /// Row 0.
    pub at: BankAddr,
    /// Words between rows.
    pub stride: usize,
}

impl Matrix {
    /// The same matrix from row `i` on.
    pub fn row(self, i: usize) -> Matrix {
        self.word(i * self.stride)
    }

    /// The same rows from word `w` of each row on.
    pub fn word(self, w: usize) -> Matrix {
        Matrix { at: ba(self.at.bank, self.at.addr as usize + w), stride: self.stride }
    }
}

/// The first LayerNorm chunk of [`Emitter::layernorm_x_chunks`] is `LN_FIRST_CHUNK_COLS` x C
/// rows (rounded up to whole words of row scales): small, so that the GEMM unit waits little,
/// and large enough that its GEMMs hide their weight loads and cover the normalization of the
/// rest. Measured on DeiT-Tiny (cycle model): 2C beats C and 3C (or a fixed fraction of the
/// rows) on 16x16, 32x32 and 64x32.
pub(super) const LN_FIRST_CHUNK_COLS: usize = 2;

/// Rows `first..first + rows` of a LayerNorm output, at `a` (row `first` is row 0 of `a`).
#[derive(Clone, Copy, Debug)]
pub(super) struct LnChunk {
    /// First row.
    pub first: usize,
    /// Rows.
    pub rows: usize,
    /// Where the chunk is.
    pub a: Matrix,
}

/// What the bytes of a GEMM's A operand mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Elems {
    /// Signed int8 (activations).
    Int8,
    /// Unsigned 8-bit (softmax probabilities).
    Uint8,
}

/// One GEMM: `out = f(A B + bias)` for `m x k x n`.
pub(super) struct GemmOp {
    /// Report category.
    pub kind: LayerKind,
    /// Rows of A (tokens, in a block).
    pub m: usize,
    /// Reduction length.
    pub k: usize,
    /// Output channels.
    pub n: usize,
    /// The streamed operand A.
    pub a: Matrix,
    /// What A's bytes mean.
    pub a_elems: Elems,
    /// The stationary operand: the weight stream in DRAM or scratchpad rows/columns.
    pub b: WeightSource,
    /// Where and how the output is written.
    pub out: GemmOut,
    /// Per-row int8 scale (the NViT token mask), if any.
    pub row_scale: Option<BankAddr>,
    /// DRAM address of the weight stream (bias, requantization, weights, LUT).
    pub weights: u64,
}

/// One LayerNorm of int16 rows (two byte planes) into int8 rows.
pub(super) struct LayerNormOp {
    /// Report category (a selector's own LayerNorm counts as the selector).
    pub kind: LayerKind,
    /// Rows (tokens).
    pub rows: usize,
    /// Channels per row.
    pub n: usize,
    /// Low byte plane of the input.
    pub x: Matrix,
    /// Bank of the high byte plane (same addresses).
    pub x_hi_bank: u8,
    /// Output rows.
    pub out: Matrix,
    /// Word of gamma/beta in the parameter bank.
    pub params: usize,
    /// Output multiplier.
    pub out_mult: Dyadic,
}

/// One softmax of int8 score rows, in place.
pub(super) struct SoftmaxOp {
    /// Rows (tokens).
    pub rows: usize,
    /// Scores per row (tokens).
    pub n: usize,
    /// The scores, overwritten by the probabilities.
    pub scores: Matrix,
    /// Bank of the scores' copy (same addresses), read by the row-max engine.
    pub copy_bank: u8,
    /// Word of the exp table in the parameter bank.
    pub exp_table: usize,
}

/// COLMEAN of int8 rows in place: every row replaced by the per-channel means, and the mean of
/// the means written to one byte.
pub(super) struct ColMeanOp {
    /// Rows (tokens).
    pub rows: usize,
    /// Channels.
    pub n: usize,
    /// The rows, overwritten.
    pub x: Matrix,
    /// Word the mean of the means goes to.
    pub mean_at: BankAddr,
    /// Byte of `mean_at` it goes to.
    pub mean_byte: usize,
}

/// Where the host writes an image's patches.
pub(super) struct PatchInput {
    /// DRAM address of the patch matrix.
    pub addr: u64,
    /// Bytes per patch row.
    pub row_bytes: usize,
}

/// Where the logits come back.
pub(super) struct Logits {
    /// DRAM address of the low byte plane.
    pub lo: u64,
    /// DRAM address of the high byte plane.
    pub hi: u64,
}

/// Program under construction (see the module documentation of [`super`]).
pub(super) struct Emitter<'a> {
    /// Target configuration.
    pub cfg: &'a AccelConfig,
    /// Shared sizes and places.
    pub lay: Layout,
    b: Builder,
    dram: DramAlloc,
    /// The program (instructions are added by [`Emitter::finish`]).
    pub prog: Program,
    /// Debug dumps so far.
    pub dumps: Vec<Dump>,
    /// Emit debug dumps.
    pub debug: bool,
    /// Whether token sizes are live in what is being emitted.
    pub tokens: TokenCount,
}

impl<'a> Emitter<'a> {
    /// An empty program for `cfg`.
    pub fn new(cfg: &'a AccelConfig, lay: Layout, debug: bool) -> Self {
        Emitter {
            cfg,
            lay,
            b: Builder::new(cfg.banks),
            dram: DramAlloc::default(),
            prog: Program::default(),
            dumps: vec![],
            debug,
            tokens: TokenCount::Fixed,
        }
    }

    /// Instructions from now on belong to block `b` (`None`: outside the blocks), for reports.
    pub fn block(&mut self, b: Option<u16>) {
        self.b.block = b;
    }

    /// The live-size bits for token-sized fields `token_fields` (`spec::isa::live`), in a live
    /// block; none otherwise.
    fn live(&self, token_fields: u8) -> u8 {
        match self.tokens {
            TokenCount::Live => token_fields,
            TokenCount::Fixed => 0,
        }
    }

    /// Run `f` with fixed token sizes (a single-row computation inside a live block).
    pub fn with_fixed_tokens<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let tokens = std::mem::replace(&mut self.tokens, TokenCount::Fixed);
        let out = f(self);
        self.tokens = tokens;
        out
    }

    /// A new DRAM segment holding `bytes`.
    pub fn seg(&mut self, name: String, bytes: Vec<u8>) -> u64 {
        let addr = self.dram.alloc(bytes.len());
        self.prog.segments.push(Segment { name, addr, bytes });
        addr
    }

    /// LOAD `rows` rows of `words` words (stride `words` both sides) from DRAM `dram` to `at`.
    pub fn load_from(&mut self, dram: u64, at: BankAddr, rows: usize, words: usize) {
        let dram_stride = (words * self.lay.word_bytes) as u64;
        let dma = Dma { sp: at, sp_stride: words as u32, rows: rows as u16, words: words as u32, dram, dram_stride };
        self.b.push(Op::Load(dma), LayerKind::Dma);
    }

    /// LOAD `rows` rows of `words` words from a new segment holding `bytes`.
    pub fn load(&mut self, name: &str, bytes: Vec<u8>, at: BankAddr, rows: usize, words: usize) {
        assert_eq!(bytes.len(), rows * words * self.lay.word_bytes, "{name}");
        let dram = self.seg(name.into(), bytes);
        self.load_from(dram, at, rows, words);
    }

    /// STORE `rows` rows of `words` words (`stride` words apart) to a new DRAM region.
    pub fn store(&mut self, from: Matrix, rows: usize, words: usize) -> u64 {
        let wb = self.lay.word_bytes;
        let dram = self.dram.alloc(rows * words * wb);
        let dma = Dma {
            sp: from.at,
            sp_stride: from.stride as u32,
            rows: rows as u16,
            words: words as u32,
            dram,
            dram_stride: (words * wb) as u64,
        };
        self.b.push(Op::Store(dma), LayerKind::Dma);
        dram
    }

    /// A new segment with the weight stream of `layer` (and its output table, if any).
    pub fn weights(&mut self, name: String, layer: &QLinear, lut: Option<&[i8; 256]>) -> u64 {
        let bytes = pack_stream(&layer.bias, &layer.requant, Some(&layer.w), lut, self.cfg);
        self.seg(name, bytes)
    }

    /// A new segment with a weight stream of headers only (bias and requantization; B comes
    /// from the scratchpad).
    pub fn headers(&mut self, name: String, bias: &[i32], requant: &[Dyadic]) -> u64 {
        let bytes = pack_stream(bias, requant, None, None, self.cfg);
        self.seg(name, bytes)
    }

    /// Emit a GEMM. In a live block M is the token count, and so are N of `Q K^T` (B by
    /// columns) and K of `P V` (B by rows).
    pub fn gemm(&mut self, g: GemmOp) {
        let live = self.live(match g.b {
            WeightSource::Dram => isa::live::M,
            WeightSource::Rows { .. } => isa::live::M | isa::live::K,
            WeightSource::Columns { .. } => isa::live::M | isa::live::N,
        });
        let op = Op::Gemm(Gemm {
            m: g.m as u16,
            k: g.k as u16,
            n: g.n as u16,
            a: g.a.at,
            a_stride: g.a.stride as u32,
            a_unsigned: g.a_elems == Elems::Uint8,
            b: g.b,
            out: g.out,
            row_scale: g.row_scale,
            weights: g.weights,
        });
        self.b.push_live(op, g.kind, live);
    }

    /// Emit a LayerNorm (rows live in a live block).
    pub fn layernorm(&mut self, ln: LayerNormOp) {
        let op = Op::LayerNorm(VecOp {
            rows: ln.rows as u16,
            n: ln.n as u16,
            input: ln.x.at,
            in_hi_bank: ln.x_hi_bank,
            in_stride: ln.x.stride as u32,
            out: ln.out.at,
            out_stride: ln.out.stride as u32,
            params: ba(bank::PARAM, ln.params),
            out_mult: ln.out_mult,
        });
        let live = self.live(isa::live::M);
        self.b.push_live(op, ln.kind, live);
    }

    /// Emit a softmax (rows and width live in a live block).
    pub fn softmax(&mut self, sm: SoftmaxOp) {
        let op = Op::Softmax(VecOp {
            rows: sm.rows as u16,
            n: sm.n as u16,
            input: sm.scores.at,
            in_hi_bank: sm.copy_bank,
            in_stride: sm.scores.stride as u32,
            out: sm.scores.at,
            out_stride: sm.scores.stride as u32,
            params: ba(bank::PARAM, sm.exp_table),
            out_mult: Dyadic { m: 0, s: 0 },
        });
        let live = self.live(isa::live::M | isa::live::K);
        self.b.push_live(op, LayerKind::Softmax, live);
    }

    /// Emit a COLMEAN (rows live in a live block).
    pub fn colmean(&mut self, cm: ColMeanOp) {
        let op = Op::ColMean(ColMean {
            rows: cm.rows as u16,
            n: cm.n as u16,
            input: cm.x.at,
            in_stride: cm.x.stride as u32,
            out: cm.x.at,
            out_stride: cm.x.stride as u32,
            mean_at: cm.mean_at,
            mean_byte: cm.mean_byte as u16,
        });
        let live = self.live(isa::live::M);
        self.b.push_live(op, LayerKind::Selector, live);
    }

    /// Emit a SELECT over the live tokens; nothing later is dispatched before it completes (its
    /// new LIVE_TOKENS sizes every later live instruction).
    pub fn select(&mut self, sel: Select) {
        self.b.push_live(Op::Select(sel), LayerKind::Selector, isa::live::M);
        self.b.barrier();
    }

    /// LayerNorm of the first `rows` rows of the residual stream X into the GEMM input bank A
    /// (gamma/beta at word `params` of the parameter bank), dumped as stage `stage`.
    pub fn layernorm_x(&mut self, stage: String, rows: usize, params: usize, out_mult: Dyadic) {
        let out = Matrix { at: ba(bank::A, 0), stride: self.lay.e_w };
        self.layernorm_x_rows(0, rows, out, params, out_mult);
        self.dump8(stage, DumpKind::I8, out, rows, (0..self.lay.embed).collect());
    }

    /// LayerNorm of rows `first..first + rows` of the residual stream X into `out`.
    fn layernorm_x_rows(&mut self, first: usize, rows: usize, out: Matrix, params: usize, out_mult: Dyadic) {
        let e_w = self.lay.e_w;
        self.layernorm(LayerNormOp {
            kind: LayerKind::LayerNorm,
            rows,
            n: self.lay.embed,
            x: Matrix { at: ba(bank::XL, 0), stride: e_w }.row(first),
            x_hi_bank: bank::XH,
            out,
            params,
            out_mult,
        });
    }

    /// LayerNorm of the residual stream's `rows` rows into the GEMM input in row chunks, so that
    /// the GEMMs that read it can start on the first chunk while the vector unit normalizes the
    /// next ([`LnChunk`]). The first chunk goes to bank A, the second to bank S0 (free between a
    /// block's attention and the next block's scores). One chunk (all of bank A) in a live block
    /// (its row count is LIVE_TOKENS), with debug dumps, or when `rows` is too few to split.
    pub fn layernorm_x_chunks(&mut self, stage: String, rows: usize, params: usize, out_mult: Dyadic) -> Vec<LnChunk> {
        let (e_w, r) = (self.lay.e_w, self.lay.r);
        let first = (LN_FIRST_CHUNK_COLS * self.lay.c).next_multiple_of(r);
        // Split only when the second chunk is at least as large (its GEMMs are not starved).
        if self.debug || self.tokens == TokenCount::Live || 2 * first > rows {
            self.layernorm_x(stage, rows, params, out_mult);
            return vec![LnChunk { first: 0, rows, a: Matrix { at: ba(bank::A, 0), stride: e_w } }];
        }
        let chunks = [(0, first, bank::A), (first, rows - first, bank::S[0])];
        let mut out = vec![];
        for (first, rows, bk) in chunks {
            let a = Matrix { at: ba(bk, 0), stride: e_w };
            self.layernorm_x_rows(first, rows, a, params, out_mult);
            out.push(LnChunk { first, rows, a });
        }
        out
    }

    /// Debug: store `rows` rows of an int8/uint8 matrix as stage `stage`, golden column `c` at
    /// byte `cols[c]` of a row.
    pub fn dump8(&mut self, stage: String, kind: DumpKind, m: Matrix, rows: usize, cols: Vec<usize>) {
        if !self.debug {
            return;
        }
        let words = self.lay.words(cols.iter().max().map_or(1, |&c| c + 1));
        let addr = self.store(m, rows, words);
        let row_bytes = words * self.lay.word_bytes;
        self.dumps.push(Dump { stage, kind, addr, hi_addr: 0, rows, row_bytes, cols });
    }

    /// Debug: store the first `rows` rows of the residual stream as stage `stage`.
    pub fn dump_x(&mut self, stage: String, rows: usize) {
        if !self.debug {
            return;
        }
        let e_w = self.lay.e_w;
        let lo = self.store(Matrix { at: ba(bank::XL, 0), stride: e_w }, rows, e_w);
        let hi = self.store(Matrix { at: ba(bank::XH, 0), stride: e_w }, rows, e_w);
        let row_bytes = e_w * self.lay.word_bytes;
        let cols = (0..self.lay.embed).collect();
        self.dumps.push(Dump { stage, kind: DumpKind::I16, addr: lo, hi_addr: hi, rows, row_bytes, cols });
    }

    /// The compiled model: the instructions placed after every data segment.
    pub fn finish(self, patches: PatchInput, logits: Logits, kept_at: Vec<u64>) -> CompiledModel {
        let Emitter { lay, b, mut dram, mut prog, dumps, .. } = self;
        let (insns, layer_of, block_of) = b.into_parts();
        prog.insn_base = dram.alloc(insns.len() * isa::INSN_BYTES);
        prog.insns = insns;
        prog.dram_bytes = dram.used();
        prog.live_tokens = lay.tokens as u16;
        CompiledModel {
            program: prog,
            patch_addr: patches.addr,
            patch_row_bytes: patches.row_bytes,
            logits_lo: logits.lo,
            logits_hi: logits.hi,
            classes: lay.classes,
            dumps,
            layer_of,
            block_of,
            kept_at,
            kept_row_bytes: lay.mask_w * lay.word_bytes,
        }
    }
}
