//! The whole-model compiler: an [`IntModel`] (any NViT shape that fits the configuration) to one
//! instruction stream and packed DRAM image that runs a complete inference on the accelerator
//! (patch embedding to logits, everything on chip), with per-stage debug dumps on request.
//!
//! # Scratchpad plan
//! Every tensor lives in its own bank so that concurrent units never share one (a bank has one
//! read port; sharing is a `BANK_CONFLICT`):
//!
//! | bank | contents |
//! |---|---|
//! | 0, 1 | residual stream X (int16: low / high byte planes), `T` rows; the logits row after it |
//! | 2 | GEMM input A: patches, LayerNorm outputs |
//! | 3 | Q (heads at `R`-aligned offsets), later the MLP hidden activations H |
//! | 4 | K (same layout as Q) |
//! | 5 | V (heads at `C`-aligned offsets) |
//! | 6, 7 / 8, 9 | attention scores of even / odd heads and their copies (softmax in place) |
//! | 10 | attention output O (V's layout), then the NViT token masks (GEMM row scales) |
//! | 11 | vector-unit parameters: LayerNorm gamma/beta, exp tables |
//!
//! Q/K heads are padded to `R` channels and V heads to `C` with zero weights (the padding
//! computes zeros; the output projection gets zero rows for it), so every head starts where the
//! GEMM can address it. Heads are pipelined: `QK(j+1)` runs on the GEMM unit while the vector
//! unit computes `softmax(j)`; `P V(j)` follows.
//!
//! # Dependencies
//! [`Builder`] derives every instruction's dependency counts from the banks it touches: an
//! instruction waits for the last instruction of every other unit that touched any of its banks.
//! Instructions of one unit run in order.

use crate::compile::CompileError;
use crate::program::{pack_stream, DramAlloc, OutputRegion, Program, Segment};
use golden::int::{IntModel, IntSelector};
use golden::kernels::QLinear;
use ndarray::Array2;
use spec::isa::{self, BankAddr, Deps, Dma, Gemm, GemmOut, Insn, Op, OutMode, Unit, VecOp, WeightSource};
use spec::model::SelectorShape;
use spec::numerics::{Dyadic, LayerNormParams};
use spec::AccelConfig;

/// Bank assignment (see the module documentation).
pub mod bank {
    /// Residual stream, low bytes.
    pub const XL: u8 = 0;
    /// Residual stream, high bytes.
    pub const XH: u8 = 1;
    /// GEMM input rows.
    pub const A: u8 = 2;
    /// Queries, then the MLP hidden layer.
    pub const Q: u8 = 3;
    /// Keys.
    pub const K: u8 = 4;
    /// Values.
    pub const V: u8 = 5;
    /// Scores of even heads, their copy, scores of odd heads, their copy.
    pub const S: [u8; 4] = [6, 7, 8, 9];
    /// Attention output, then token masks.
    pub const O: u8 = 10;
    /// Vector-unit parameters.
    pub const PARAM: u8 = 11;
    /// Banks the plan needs.
    pub const COUNT: usize = 12;
}

/// How an intermediate is laid out in a debug dump.
#[derive(Clone, Debug)]
pub enum DumpKind {
    /// int8 at byte `cols[c]` of each stored row.
    I8,
    /// uint8 (softmax probabilities).
    U8,
    /// int16: low bytes in the first region, high bytes in the second.
    I16,
}

/// A debug dump of one golden trace stage: `rows` rows of DRAM regions, golden column `c` at byte
/// `cols[c]` of a row.
#[derive(Clone, Debug)]
pub struct Dump {
    /// Golden trace stage name (`block0.ln1`, ...).
    pub stage: String,
    /// Element type.
    pub kind: DumpKind,
    /// DRAM address of row 0 (low plane for int16).
    pub addr: u64,
    /// DRAM address of the high plane (int16).
    pub hi_addr: u64,
    /// Rows.
    pub rows: usize,
    /// Bytes per stored row.
    pub row_bytes: usize,
    /// Byte offset of each golden column.
    pub cols: Vec<usize>,
}

/// A compiled model: the program plus where each image goes and where the logits come back.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    /// Instructions and DRAM image (weights, parameters, initial residual stream).
    pub program: Program,
    /// DRAM address of the patch matrix (`P x patch_dim` int8, rows of `patch_row_bytes`).
    pub patch_addr: u64,
    /// Bytes per patch row in DRAM.
    pub patch_row_bytes: usize,
    /// DRAM address of the logits' low byte plane.
    pub logits_lo: u64,
    /// DRAM address of the logits' high byte plane.
    pub logits_hi: u64,
    /// Classes.
    pub classes: usize,
    /// Debug dumps (empty unless compiled with `debug`).
    pub dumps: Vec<Dump>,
    /// What each instruction computes, for per-layer-type reports.
    pub layer_of: Vec<LayerKind>,
    /// The block each instruction belongs to (a selector belongs to the block it precedes;
    /// `None`: embedding, final LayerNorm, heads, set-up).
    pub block_of: Vec<Option<u16>>,
    /// Per on-chip selector: DRAM address of its read-back (the live tokens' original indices,
    /// low then high byte row of `kept_row_bytes` each, then the live count, 16-bit LE).
    pub kept_at: Vec<u64>,
    /// Bytes per read-back row.
    pub kept_row_bytes: usize,
}

/// What an instruction computes, for per-layer-type reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum LayerKind {
    /// Data movement.
    Dma,
    /// Patch embedding GEMM.
    PatchEmbed,
    /// Q/K/V projections.
    Qkv,
    /// `Q K^T`.
    Scores,
    /// `P V`.
    AttnV,
    /// Output projection.
    Proj,
    /// MLP GEMMs.
    Mlp,
    /// Classifier heads.
    Head,
    /// LayerNorm.
    LayerNorm,
    /// Softmax.
    Softmax,
    /// Token selector (its LayerNorm, GEMMs, column means and SELECT).
    Selector,
}

/// Instruction list with automatic dependencies (see the module documentation).
#[derive(Default)]
pub struct Builder {
    insns: Vec<Insn>,
    kinds: Vec<LayerKind>,
    blocks: Vec<Option<u16>>,
    /// The block being emitted (its selector included), for per-block reports.
    pub block: Option<u16>,
    issued: [u32; 3],
    /// Per bank, per unit: sequence number + 1 of the last instruction that touched it.
    touched: Vec<[u32; 3]>,
    /// Counts every later instruction waits for (set after a SELECT: sizes are read at
    /// dispatch, so nothing may be dispatched before the new LIVE_TOKENS exists).
    floor: [u32; 3],
}

impl Builder {
    /// A builder for `banks` banks.
    pub fn new(banks: usize) -> Self {
        Builder { touched: vec![[0; 3]; banks], ..Default::default() }
    }
    /// Append `op`, waiting for every other unit's last instruction on any bank it touches.
    pub fn push(&mut self, op: Op, kind: LayerKind) {
        self.push_live(op, kind, 0);
    }

    /// [`Builder::push`] with sizes taken from LIVE_TOKENS at dispatch (`spec::isa::live` bits).
    pub fn push_live(&mut self, op: Op, kind: LayerKind, live: u8) {
        let insn = Insn::new(op);
        let (r, w) = insn.banks();
        let me = op.unit().index();
        let mut need = self.floor;
        for &b in r.iter().chain(&w) {
            for (u, n) in need.iter_mut().enumerate() {
                if u != me {
                    *n = (*n).max(self.touched[b as usize][u]);
                }
            }
        }
        self.issued[me] += 1;
        for &b in r.iter().chain(&w) {
            self.touched[b as usize][me] = self.issued[me];
        }
        let deps = Deps { dma: need[0] as u16, gemm: need[1] as u16, vec: need[2] as u16 };
        debug_assert_eq!(Unit::Dma.index(), 0);
        self.insns.push(Insn { live, deps, ..insn });
        self.kinds.push(kind);
        self.blocks.push(self.block);
    }

    /// Every later instruction waits for the last one pushed (of any unit, its own included).
    pub fn barrier(&mut self) {
        let me = self.insns.last().expect("an instruction to wait for").op.unit().index();
        self.floor[me] = self.issued[me];
    }
}

/// Compile options.
#[derive(Clone, Copy, Debug, Default)]
pub struct ModelOptions {
    /// Store every intermediate named like the golden trace stages (slower; for debugging).
    pub debug: bool,
    /// Every block takes its token count from LIVE_TOKENS at run time
    /// ([`Program::live_tokens`]): GEMM rows, the tokens of Q.K^T (N) and P.V (K), LayerNorm
    /// and softmax rows, softmax width. One program then runs any live count up to the model's
    /// (the mechanism token pruning uses; embedding, final LayerNorm and heads stay fixed).
    pub live_tokens: bool,
    /// Run the model's token selectors on chip (SPViT soft pruning): before each selector's
    /// block the hardware scores the live tokens, compacts the kept ones, appends the package
    /// token and sets LIVE_TOKENS; every block takes its sizes from it (implies `live_tokens`).
    /// Without it the selectors are skipped (every token stays live).
    pub prune: bool,
}

struct Plan {
    r: usize,
    e_w: usize,
    t_w: usize,
}

impl Plan {
    fn words(&self, n: usize) -> usize {
        n.div_ceil(self.r)
    }
}

fn fail(msg: String) -> CompileError {
    CompileError(msg)
}

/// Per-channel slice of a linear layer's outputs `rows`, scattered to `n_out` channels at `dst`
/// (channels not written are zero weights, zero bias, zero multiplier: they compute 0).
fn scatter_outputs(l: &QLinear, pairs: &[(usize, usize)], n_out: usize) -> QLinear {
    let k = l.in_dim();
    let mut w = Array2::<i8>::zeros((n_out, k));
    let mut bias = vec![0i32; n_out];
    let mut requant = vec![Dyadic { m: 0, s: 0 }; n_out];
    for &(src, dst) in pairs {
        w.row_mut(dst).assign(&l.w.row(src));
        bias[dst] = l.bias[src];
        requant[dst] = l.requant[src];
    }
    QLinear { w, bias, requant }
}

/// A linear layer whose input channel `src` is read from position `dst` of `k_out` (zero weights
/// elsewhere).
fn scatter_inputs(l: &QLinear, pairs: &[(usize, usize)], k_out: usize) -> QLinear {
    let mut w = Array2::<i8>::zeros((l.out_dim(), k_out));
    for &(src, dst) in pairs {
        w.column_mut(dst).assign(&l.w.column(src));
    }
    QLinear { w, bias: l.bias.clone(), requant: l.requant.clone() }
}

fn ln_bytes(p: &LayerNormParams, r: usize) -> Vec<u8> {
    let n = p.gamma.len();
    let g_words = (2 * n).div_ceil(r);
    let b_words = (4 * n).div_ceil(r);
    let mut out = vec![0u8; (g_words + b_words) * r];
    for (i, g) in p.gamma.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&g.to_le_bytes());
    }
    for (i, b) in p.beta.iter().enumerate() {
        let o = g_words * r + 4 * i;
        out[o..o + 4].copy_from_slice(&b.to_le_bytes());
    }
    out
}

/// Check that `model` fits `cfg`; the error names the limit.
pub fn check_fits(model: &IntModel, cfg: &AccelConfig, opts: &ModelOptions) -> Result<(), CompileError> {
    let sh = &model.shape;
    let (r, c) = (cfg.array_rows, cfg.array_cols);
    if cfg.banks < bank::COUNT {
        return Err(fail(format!(
            "the model plan needs {} scratchpad banks, the configuration has {} (banks)",
            bank::COUNT,
            cfg.banks
        )));
    }
    let t = sh.tokens();
    let lim = |what: &str, v: usize, max: usize, name: &str| -> Result<(), CompileError> {
        if v > max {
            Err(fail(format!("{what} = {v} exceeds the hardware limit {max} ({name})")))
        } else {
            Ok(())
        }
    };
    lim("tokens", t, cfg.max_tokens, "max_tokens")?;
    lim("tokens (softmax row width)", t, cfg.max_width, "max_width")?;
    lim("embedding width", sh.embed, cfg.max_width, "max_width")?;
    lim("patch dimension", sh.patch_dim(), cfg.max_width, "max_width")?;
    lim("classes", sh.num_classes, cfg.max_width, "max_width")?;
    let pad = |v: usize, to: usize| v.div_ceil(to) * to;
    let e_w = sh.embed.div_ceil(r);
    let t_w = t.div_ceil(r);
    let mut param_words = 0;
    for (b, bs) in sh.blocks.iter().enumerate() {
        lim(&format!("block {b} heads"), bs.heads, cfg.max_heads, "max_heads")?;
        lim(
            &format!("block {b} padded Q/K width (heads x ceil(qk/R)*R)"),
            bs.heads * pad(bs.qk, r),
            cfg.max_width,
            "max_width",
        )?;
        lim(
            &format!("block {b} padded V width (heads x ceil(v/C)*C)"),
            bs.heads * pad(bs.v, c),
            cfg.max_width,
            "max_width",
        )?;
        lim(&format!("block {b} MLP width"), bs.mlp, cfg.max_width, "max_width")?;
        lim(
            &format!("block {b} MLP scratchpad words (tokens x ceil(mlp/R))"),
            t * bs.mlp.div_ceil(r),
            cfg.bank_words,
            "bank_words",
        )?;
        lim(
            &format!("block {b} Q/K scratchpad words"),
            t * (bs.heads * pad(bs.qk, r)).div_ceil(r),
            cfg.bank_words,
            "bank_words",
        )?;
        param_words += 2 * ((2 * sh.embed).div_ceil(r) + (4 * sh.embed).div_ceil(r)) + 512 / r;
    }
    param_words += (2 * sh.embed).div_ceil(r) + (4 * sh.embed).div_ceil(r);
    let v_w_max = sh.blocks.iter().map(|bs| (bs.heads * pad(bs.v, c)).div_ceil(r)).max().unwrap_or(0);
    lim(
        "residual stream (+ package row) + logits scratchpad words",
        (t + 1) * e_w + sh.num_classes.div_ceil(r),
        cfg.bank_words,
        "bank_words",
    )?;
    lim("scores scratchpad words (tokens x ceil(tokens/R))", t * t_w, cfg.bank_words, "bank_words")?;
    lim(
        "attention output + token masks + token indices scratchpad words",
        t * v_w_max + (sh.blocks.len() + 3) * (t + 1).div_ceil(r),
        cfg.bank_words,
        "bank_words",
    )?;
    lim("GEMM input scratchpad words", t * e_w.max(sh.patch_dim().div_ceil(r)), cfg.bank_words, "bank_words")?;
    // On-chip selectors (only when they run).
    for (si, ss) in sh.selectors.iter().enumerate().filter(|_| opts.prune) {
        let d = sh.embed / ss.heads;
        if !d.is_multiple_of(r) {
            return Err(fail(format!(
                "selector {si}: head width d = {d} (embed / heads) must be a multiple of the array rows R = {r} \
                 (its LayerNorm reads whole words)"
            )));
        }
        lim(&format!("selector {si} heads"), ss.heads, cfg.max_heads, "max_heads")?;
        lim(
            &format!("selector {si} probability words (heads x tokens + 2)"),
            ss.heads * t + 2,
            cfg.bank_words,
            "bank_words",
        )?;
        param_words += (2 * d).div_ceil(r) + (4 * d).div_ceil(r);
    }
    lim("parameter scratchpad words (LayerNorm, exp tables)", param_words, cfg.bank_words, "bank_words")?;
    Ok(())
}

/// Scratchpad places a token selector uses (see [`selector`]).
struct SelectorPlan {
    /// Name prefix of its weight segments (`sel0`).
    name: String,
    /// Embedding width.
    e: usize,
    /// Tokens entering block 0 (`N0`; the package token's original index).
    t: usize,
    /// Prefix (class/distillation) tokens.
    prefix: usize,
    /// Words per residual row.
    e_w: usize,
    /// LayerNorm parameters (word in the parameter bank).
    ln_at: usize,
    /// First gathered byte row (the token mask of the selector's block), in bank O.
    gather_at: usize,
    /// Words between gathered rows.
    gather_stride: usize,
    /// Gathered rows: the masks of this and every later block, then the two index planes.
    gather_rows: usize,
}

/// Emit a selector. Per head `j`: LayerNorm of channels `j d..(j+1) d` (bank A); `in_proj` with
/// GELU (bank Q: the local half at channel 0, the global half at `hp = ceil(d/2 / R) R` so
/// COLMEAN addresses it by words); COLMEAN over the live tokens (global half, broadcast, and the
/// head's squeeze byte); `out1`/`out2` with GELU (banks K, V); `diff` with the sigmoid table (the
/// head's keep probabilities, one word per token at `j T` of bank S0). Then the head-importance
/// branch on the squeeze row (S0 word `h T` -> S1 -> S0 word `h T + 1`) and SELECT.
fn selector(cx: &mut Ctx, sel: &IntSelector, ss: &SelectorShape, p: &SelectorPlan) {
    let r = cx.cfg.array_rows;
    let ba = |bank: u8, addr: usize| BankAddr { bank, addr: addr as u32 };
    let (h, t) = (ss.heads, p.t);
    let d = p.e / h; // a whole number of words (checked in `check_fits`)
    let half = d / 2;
    let hp = half.div_ceil(r) * r;
    let zn = hp + (d - half);
    let (d_w, z_w) = (d / r, zn.div_ceil(r));
    let (h1_w, h2_w) = (ss.hidden1.div_ceil(r), ss.hidden2.div_ceil(r));
    let z_pairs: Vec<(usize, usize)> = (0..d).map(|c| (c, if c < half { c } else { hp + c - half })).collect();
    let zl = scatter_outputs(&sel.in_proj, &z_pairs, zn);
    let w_in = cx.weights(format!("{}.in_proj", p.name), &zl.bias, &zl.requant, Some(&zl.w), Some(&sel.gelu_in));
    let o1 = scatter_inputs(&sel.out1, &z_pairs, zn);
    let w_o1 = cx.weights(format!("{}.out1", p.name), &o1.bias, &o1.requant, Some(&o1.w), Some(&sel.gelu1));
    let w_o2 =
        cx.weights(format!("{}.out2", p.name), &sel.out2.bias, &sel.out2.requant, Some(&sel.out2.w), Some(&sel.gelu2));
    let sig = sel.sigmoid.map(|v| v as i8);
    let w_diff =
        cx.weights(format!("{}.diff", p.name), &sel.diff.bias, &sel.diff.requant, Some(&sel.diff.w), Some(&sig));
    let sq_at = h * t;
    let lut_out = |at: BankAddr, stride: usize| GemmOut { at, stride: stride as u32, group: 0, mode: OutMode::Int8Lut };
    for j in 0..h {
        cx.ln_kind = LayerKind::Selector;
        cx.vec(
            true,
            t,
            d,
            ba(bank::XL, j * d_w),
            bank::XH,
            p.e_w,
            ba(bank::A, 0),
            d_w,
            ba(bank::PARAM, p.ln_at),
            sel.ln.out,
        );
        cx.ln_kind = LayerKind::LayerNorm;
        let a = ba(bank::A, 0);
        cx.gemm(
            LayerKind::Selector,
            t,
            d,
            zn,
            a,
            d_w,
            false,
            WeightSource::Dram,
            lut_out(ba(bank::Q, 0), z_w),
            None,
            w_in,
        );
        cx.colmean(t, half, ba(bank::Q, hp / r), z_w, ba(bank::S[0], sq_at), j);
        let (q, k, v) = (ba(bank::Q, 0), ba(bank::K, 0), ba(bank::V, 0));
        cx.gemm(
            LayerKind::Selector,
            t,
            zn,
            ss.hidden1,
            q,
            z_w,
            false,
            WeightSource::Dram,
            lut_out(k, h1_w),
            None,
            w_o1,
        );
        cx.gemm(
            LayerKind::Selector,
            t,
            ss.hidden1,
            ss.hidden2,
            k,
            h1_w,
            false,
            WeightSource::Dram,
            lut_out(v, h2_w),
            None,
            w_o2,
        );
        let probs = lut_out(ba(bank::S[0], j * t), 1);
        cx.gemm(LayerKind::Selector, t, ss.hidden2, 1, v, h2_w, false, WeightSource::Dram, probs, None, w_diff);
    }
    // Head importance: one row, not live.
    let live = std::mem::replace(&mut cx.live, false);
    let f1 = &sel.head_fc1;
    let w_f1 = cx.weights(format!("{}.head_fc1", p.name), &f1.bias, &f1.requant, Some(&f1.w), Some(&sel.gelu_head));
    let f2 = &sel.head_fc2;
    let sig_h = sel.sigmoid_head.map(|v| v as i8);
    let w_f2 = cx.weights(format!("{}.head_fc2", p.name), &f2.bias, &f2.requant, Some(&f2.w), Some(&sig_h));
    let hh = f1.out_dim();
    let (s0, s1) = (ba(bank::S[0], sq_at), ba(bank::S[1], 0));
    cx.gemm(LayerKind::Selector, 1, h, hh, s0, 1, false, WeightSource::Dram, lut_out(s1, 1), None, w_f1);
    cx.gemm(
        LayerKind::Selector,
        1,
        hh,
        h,
        s1,
        1,
        false,
        WeightSource::Dram,
        lut_out(ba(bank::S[0], sq_at + 1), 1),
        None,
        w_f2,
    );
    cx.live = live;
    let op = Op::Select(isa::Select {
        rows: t as u16,
        n: p.e as u16,
        x: ba(bank::XL, 0),
        x_hi_bank: bank::XH,
        x_stride: p.e_w as u32,
        probs: ba(bank::S[0], 0),
        probs_stride: t as u32,
        weights_addr: (sq_at + 1) as u32,
        heads: h as u8,
        prefix: p.prefix as u8,
        gather: ba(bank::O, p.gather_at),
        gather_stride: p.gather_stride as u32,
        gather_rows: p.gather_rows as u8,
        package_byte: t as u16,
    });
    cx.b.push_live(op, LayerKind::Selector, isa::live::M);
    cx.b.barrier();
}

struct Ctx<'a> {
    cfg: &'a AccelConfig,
    p: Plan,
    b: Builder,
    dram: DramAlloc,
    prog: Program,
    dumps: Vec<Dump>,
    debug: bool,
    /// Emitting a block with `ModelOptions::live_tokens`: token sizes are live.
    live: bool,
    /// What a LayerNorm counts as in per-layer reports.
    ln_kind: LayerKind,
}

impl Ctx<'_> {
    fn seg(&mut self, name: String, bytes: Vec<u8>) -> u64 {
        let addr = self.dram.alloc(bytes.len());
        self.prog.segments.push(Segment { name, addr, bytes });
        addr
    }
    /// LOAD `rows` rows of `words` words from a new segment.
    fn load(&mut self, name: &str, bytes: Vec<u8>, at: BankAddr, rows: usize, words: usize) {
        let wb = self.cfg.word_bytes();
        assert_eq!(bytes.len(), rows * words * wb, "{name}");
        let dram = self.seg(name.into(), bytes);
        self.b.push(
            Op::Load(Dma {
                sp: at,
                sp_stride: words as u32,
                rows: rows as u16,
                words: words as u32,
                dram,
                dram_stride: (words * wb) as u64,
            }),
            LayerKind::Dma,
        );
    }
    /// STORE `rows` rows of `words` words (stride `stride`) to a new DRAM region.
    fn store(&mut self, at: BankAddr, stride: usize, rows: usize, words: usize) -> u64 {
        let wb = self.cfg.word_bytes();
        let dram = self.dram.alloc(rows * words * wb);
        self.b.push(
            Op::Store(Dma {
                sp: at,
                sp_stride: stride as u32,
                rows: rows as u16,
                words: words as u32,
                dram,
                dram_stride: (words * wb) as u64,
            }),
            LayerKind::Dma,
        );
        dram
    }
    fn weights(
        &mut self,
        name: String,
        bias: &[i32],
        requant: &[Dyadic],
        w: Option<&Array2<i8>>,
        lut: Option<&[i8; 256]>,
    ) -> u64 {
        let bytes = pack_stream(bias, requant, w, lut, self.cfg);
        self.seg(name, bytes)
    }
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &mut self,
        kind: LayerKind,
        m: usize,
        k: usize,
        n: usize,
        a: BankAddr,
        a_stride: usize,
        a_unsigned: bool,
        b: WeightSource,
        out: GemmOut,
        row_scale: Option<BankAddr>,
        weights: u64,
    ) {
        // In a live block, M is the token count, and so are N of Q.K^T (B by columns) and K of
        // P.V (B by rows).
        let live = match b {
            _ if !self.live => 0,
            WeightSource::Dram => isa::live::M,
            WeightSource::Rows { .. } => isa::live::M | isa::live::K,
            WeightSource::Columns { .. } => isa::live::M | isa::live::N,
        };
        self.b.push_live(
            Op::Gemm(Gemm {
                m: m as u16,
                k: k as u16,
                n: n as u16,
                a,
                a_stride: a_stride as u32,
                a_unsigned,
                b,
                out,
                row_scale,
                weights,
            }),
            kind,
            live,
        );
    }
    #[allow(clippy::too_many_arguments)]
    fn vec(
        &mut self,
        ln: bool,
        rows: usize,
        n: usize,
        input: BankAddr,
        in_hi_bank: u8,
        in_stride: usize,
        out: BankAddr,
        out_stride: usize,
        params: BankAddr,
        out_mult: Dyadic,
    ) {
        let v = VecOp {
            rows: rows as u16,
            n: n as u16,
            input,
            in_hi_bank,
            in_stride: in_stride as u32,
            out,
            out_stride: out_stride as u32,
            params,
            out_mult,
        };
        // In a live block, rows are tokens, and so is the softmax's width.
        if ln {
            self.b.push_live(Op::LayerNorm(v), self.ln_kind, if self.live { isa::live::M } else { 0 });
        } else {
            let live = if self.live { isa::live::M | isa::live::K } else { 0 };
            self.b.push_live(Op::Softmax(v), LayerKind::Softmax, live);
        }
    }
    /// COLMEAN of `rows` x `n` int8 at `at` (stride `stride`) in place; the mean of the means
    /// to byte `byte` from `mean_at`. Rows are live in a live block.
    fn colmean(&mut self, rows: usize, n: usize, at: BankAddr, stride: usize, mean_at: BankAddr, byte: usize) {
        let op = Op::ColMean(isa::ColMean {
            rows: rows as u16,
            n: n as u16,
            input: at,
            in_stride: stride as u32,
            out: at,
            out_stride: stride as u32,
            mean_at,
            mean_byte: byte as u16,
        });
        self.b.push_live(op, LayerKind::Selector, if self.live { isa::live::M } else { 0 });
    }
    /// LayerNorm of the first `rows` rows of the residual stream X into the GEMM input bank A
    /// (parameters at word `params` of the parameter bank), dumped as stage `stage`.
    fn layernorm_x(&mut self, stage: String, rows: usize, e: usize, params: usize, out_mult: Dyadic) {
        let e_w = self.p.e_w;
        let a = BankAddr { bank: bank::A, addr: 0 };
        let x = BankAddr { bank: bank::XL, addr: 0 };
        self.vec(
            true,
            rows,
            e,
            x,
            bank::XH,
            e_w,
            a,
            e_w,
            BankAddr { bank: bank::PARAM, addr: params as u32 },
            out_mult,
        );
        self.dump8(stage, DumpKind::I8, a, e_w, rows, (0..e).collect());
    }
    /// Debug: store an int8/uint8 matrix (rows at `at`, `stride` words) as stage `stage`.
    fn dump8(&mut self, stage: String, kind: DumpKind, at: BankAddr, stride: usize, rows: usize, cols: Vec<usize>) {
        if !self.debug {
            return;
        }
        let words = self.p.words(cols.iter().max().map_or(1, |&c| c + 1));
        let addr = self.store(at, stride, rows, words);
        let row_bytes = words * self.cfg.word_bytes();
        self.dumps.push(Dump { stage, kind, addr, hi_addr: 0, rows, row_bytes, cols });
    }
    /// Debug: store the residual stream as stage `stage`.
    fn dump_x(&mut self, stage: String, rows: usize, e: usize) {
        if !self.debug {
            return;
        }
        let e_w = self.p.e_w;
        let lo = self.store(BankAddr { bank: bank::XL, addr: 0 }, e_w, rows, e_w);
        let hi = self.store(BankAddr { bank: bank::XH, addr: 0 }, e_w, rows, e_w);
        let row_bytes = e_w * self.cfg.word_bytes();
        self.dumps.push(Dump {
            stage,
            kind: DumpKind::I16,
            addr: lo,
            hi_addr: hi,
            rows,
            row_bytes,
            cols: (0..e).collect(),
        });
    }
}

/// Compile `model` for `cfg`: one program per model, one patch matrix per image.
pub fn compile_model(model: &IntModel, cfg: &AccelConfig, opts: ModelOptions) -> Result<CompiledModel, CompileError> {
    cfg.check_model(&model.shape).map_err(|e| fail(e.to_string()))?;
    check_fits(model, cfg, &opts)?;
    let sh = &model.shape;
    let (r, c) = (cfg.array_rows, cfg.array_cols);
    let t = sh.tokens();
    let pre = sh.prefix_tokens();
    let e = sh.embed;
    let p = Plan { r, e_w: e.div_ceil(r), t_w: t.div_ceil(r) };
    let mut cx = Ctx {
        cfg,
        p,
        b: Builder::new(cfg.banks),
        dram: DramAlloc::default(),
        prog: Program::default(),
        dumps: vec![],
        debug: opts.debug,
        live: false,
        ln_kind: LayerKind::LayerNorm,
    };
    let wb = cfg.word_bytes();
    let (e_w, t_w) = (cx.p.e_w, cx.p.t_w);
    let ba = |bank: u8, addr: usize| BankAddr { bank, addr: addr as u32 };
    let pad = |v: usize, to: usize| v.div_ceil(to) * to;
    let cls_w = sh.num_classes.div_ceil(r);
    // Row T of the residual stream is the selector's package scratch row.
    let logits_at = (t + 1) * e_w;
    if opts.prune && model.selectors.len() != sh.selectors.len() {
        return Err(fail("the model's selector weights do not match its shape".into()));
    }

    // ---- parameters: every LayerNorm and exp table, one LOAD into PARAM.
    let mut params = Vec::<u8>::new();
    let mut place = |bytes: Vec<u8>| {
        let at = params.len() / r;
        params.extend(bytes);
        at
    };
    let mut ln1_at = vec![];
    let mut ln2_at = vec![];
    let mut exp_at = vec![];
    for blk in &model.blocks {
        ln1_at.push(place(ln_bytes(&blk.ln1, r)));
        ln2_at.push(place(ln_bytes(&blk.ln2, r)));
        exp_at.push(place(blk.exp_lut.iter().flat_map(|v| v.to_le_bytes()).collect()));
    }
    let norm_at = place(ln_bytes(&model.norm, r));
    let sel_ln_at: Vec<usize> = model.selectors.iter().map(|s| place(ln_bytes(&s.ln, r))).collect();
    let param_words = params.len() / r;
    cx.load("params", params, ba(bank::PARAM, 0), 1, param_words);

    // ---- token masks (row scales of the Q/K/V GEMMs), after the attention output in bank O,
    // then the tokens' original indices (low, high byte plane) and the live count: the byte rows
    // SELECT compacts along with the tokens. Byte T of each holds the package token's entry.
    let v_w_max = sh.blocks.iter().map(|bs| (bs.heads * pad(bs.v, c)).div_ceil(r)).max().unwrap_or(0);
    let mask_at = t * v_w_max;
    let mw = (t + 1).div_ceil(r);
    let nb = sh.blocks.len();
    let mut masks = vec![0u8; (nb + 3) * mw * wb];
    for (b, blk) in model.blocks.iter().enumerate() {
        for tok in 0..=t {
            masks[b * mw * wb + tok] = blk.token_mask[tok] as u8;
        }
    }
    for tok in 0..=t {
        masks[nb * mw * wb + tok] = tok as u8;
        masks[(nb + 1) * mw * wb + tok] = (tok >> 8) as u8;
    }
    masks[(nb + 2) * mw * wb..][..2].copy_from_slice(&(t as u16).to_le_bytes());
    cx.load("token_masks", masks, ba(bank::O, mask_at), 1, (nb + 3) * mw);
    let mut kept_at = vec![];

    // ---- initial residual stream: class/distillation rows with position, patch rows = position
    // (the patch embedding GEMM adds onto them), zero logits row.
    let mut x0 = Array2::<i16>::zeros((t + 1, e_w * r));
    for tok in 0..t {
        for ch in 0..e {
            let pos = model.pos_embed[[tok, ch]];
            x0[[tok, ch]] = match tok {
                0 => spec::numerics::residual_add(model.cls_token[ch], pos),
                1 if pre == 2 => spec::numerics::residual_add(model.dist_token.as_ref().expect("distilled")[ch], pos),
                _ => pos,
            };
        }
    }
    let rows_x = (t + 1) * e_w + cls_w;
    for (plane, bk) in [(0, bank::XL), (1, bank::XH)] {
        let mut bytes = vec![0u8; rows_x * wb];
        for tok in 0..t {
            for ch in 0..e {
                bytes[tok * e_w * wb + ch] = (x0[[tok, ch]] as u16 >> (8 * plane)) as u8;
            }
        }
        cx.load(if plane == 0 { "x_init.lo" } else { "x_init.hi" }, bytes, ba(bk, 0), 1, rows_x);
    }

    // ---- patches (written per image) and the patch embedding.
    let pd = sh.patch_dim();
    let pd_w = pd.div_ceil(r);
    let np = sh.patches();
    let patch_addr = cx.seg("patches".into(), vec![0u8; np * pd_w * wb]);
    cx.b.push(
        Op::Load(Dma {
            sp: ba(bank::A, 0),
            sp_stride: pd_w as u32,
            rows: np as u16,
            words: pd_w as u32,
            dram: patch_addr,
            dram_stride: (pd_w * wb) as u64,
        }),
        LayerKind::Dma,
    );
    let pe = &model.patch_embed;
    let w_pe = cx.weights("patch_embed".into(), &pe.bias, &pe.requant, Some(&pe.w), None);
    let resid = OutMode::Resid16 { hi_bank: bank::XH };
    cx.gemm(
        LayerKind::PatchEmbed,
        np,
        pd,
        e,
        ba(bank::A, 0),
        pd_w,
        false,
        WeightSource::Dram,
        GemmOut { at: ba(bank::XL, pre * e_w), stride: e_w as u32, group: 0, mode: resid },
        None,
        w_pe,
    );
    cx.dump_x("embed".into(), t, e);

    // ---- blocks
    cx.live = opts.live_tokens || opts.prune;
    for (bi, blk) in model.blocks.iter().enumerate() {
        let bs = sh.blocks[bi];
        cx.b.block = Some(bi as u16);
        if let (true, Some((si, ss))) = (opts.prune, sh.selector_before(bi)) {
            let plan = SelectorPlan {
                name: format!("sel{si}"),
                e,
                t,
                prefix: pre,
                e_w,
                ln_at: sel_ln_at[si],
                gather_at: mask_at + bi * mw,
                gather_stride: mw,
                gather_rows: nb - bi + 2,
            };
            selector(&mut cx, &model.selectors[si], ss, &plan);
            // Read-back: the original indices of the live tokens and their count.
            kept_at.push(cx.store(ba(bank::O, mask_at + nb * mw), mw, 3, mw));
        }
        let (h, qk, v) = (bs.heads, bs.qk, bs.v);
        let (qk_p, v_p) = (pad(qk, r), pad(v, c));
        let (q_w, v_w) = ((h * qk_p).div_ceil(r), (h * v_p).div_ceil(r));
        let name = |s: &str| format!("block{bi}.{s}");
        // LN1: X -> A.
        cx.layernorm_x(name("ln1"), t, e, ln1_at[bi], blk.ln1.out);
        // Q, K, V with the token mask as row scale.
        let q_pairs: Vec<(usize, usize)> = (0..h * qk).map(|i| (i, (i / qk) * qk_p + i % qk)).collect();
        let k_pairs: Vec<(usize, usize)> = (0..h * qk).map(|i| (h * qk + i, (i / qk) * qk_p + i % qk)).collect();
        let v_pairs: Vec<(usize, usize)> = (0..h * v).map(|i| (2 * h * qk + i, (i / v) * v_p + i % v)).collect();
        let mask = Some(ba(bank::O, mask_at + bi * mw));
        for (what, pairs, n, bk, kind_cols) in [
            ("q", &q_pairs, h * qk_p, bank::Q, (qk, qk_p)),
            ("k", &k_pairs, h * qk_p, bank::K, (qk, qk_p)),
            ("v", &v_pairs, h * v_p, bank::V, (v, v_p)),
        ] {
            let l = scatter_outputs(&blk.qkv, pairs, n);
            let w = cx.weights(name(&format!("{what}.weights")), &l.bias, &l.requant, Some(&l.w), None);
            let stride = n.div_ceil(r);
            cx.gemm(
                LayerKind::Qkv,
                t,
                e,
                n,
                ba(bank::A, 0),
                e_w,
                false,
                WeightSource::Dram,
                GemmOut { at: ba(bk, 0), stride: stride as u32, group: 0, mode: OutMode::Int8 },
                mask,
                w,
            );
            let (wd, wp) = kind_cols;
            cx.dump8(
                name(what),
                DumpKind::I8,
                ba(bk, 0),
                stride,
                t,
                (0..h * wd).map(|i| (i / wd) * wp + i % wd).collect(),
            );
        }
        // Attention, heads pipelined over two score buffers.
        let zero_bias = vec![0i32; t];
        let w_scores = cx.weights(name("scores.headers"), &zero_bias, &vec![blk.scores; t], None, None);
        let zero_v = vec![0i32; v];
        let w_attn = cx.weights(name("attn_v.headers"), &zero_v, &vec![blk.attn_out; v], None, None);
        let sbuf = |j: usize| (bank::S[2 * (j % 2)], bank::S[2 * (j % 2) + 1]);
        let scores = |cx: &mut Ctx, j: usize| {
            let (s, s2) = sbuf(j);
            let at = ba(bank::Q, j * qk_p / r);
            let kb = WeightSource::Columns { at: ba(bank::K, j * qk_p / r), stride: q_w as u32 };
            cx.gemm(
                LayerKind::Scores,
                t,
                qk,
                t,
                at,
                q_w,
                false,
                kb,
                GemmOut { at: ba(s, 0), stride: t_w as u32, group: 0, mode: OutMode::Int8Dup { copy_bank: s2 } },
                None,
                w_scores,
            );
        };
        let mut sm_dumps = vec![];
        scores(&mut cx, 0);
        for j in 0..h {
            if j + 1 < h {
                scores(&mut cx, j + 1);
            }
            let (s, s2) = sbuf(j);
            cx.vec(false, t, t, ba(s, 0), s2, t_w, ba(s, 0), t_w, ba(bank::PARAM, exp_at[bi]), Dyadic { m: 0, s: 0 });
            if cx.debug {
                let addr = cx.store(ba(s, 0), t_w, t, t_w);
                sm_dumps.push(addr);
            }
            let g0 = j * v_p;
            let vb = WeightSource::Rows { at: ba(bank::V, g0 / r), stride: v_w as u32, group: ((g0 % r) / c) as u8 };
            let out = GemmOut {
                at: ba(bank::O, g0 / r),
                stride: v_w as u32,
                group: ((g0 % r) / c) as u8,
                mode: OutMode::Int8,
            };
            cx.gemm(LayerKind::AttnV, t, t, v, ba(s, 0), t_w, true, vb, out, None, w_attn);
        }
        if cx.debug {
            // Softmax of all heads, stacked like the golden trace: one dump of h*t rows.
            for (j, &addr) in sm_dumps.iter().enumerate() {
                cx.dumps.push(Dump {
                    stage: if j == 0 { name("attn.softmax") } else { format!("{}#{j}", name("attn.softmax")) },
                    kind: DumpKind::U8,
                    addr,
                    hi_addr: 0,
                    rows: t,
                    row_bytes: t_w * wb,
                    cols: (0..t).collect(),
                });
            }
        }
        cx.dump8(
            name("attn.out"),
            DumpKind::I8,
            ba(bank::O, 0),
            v_w,
            t,
            (0..h * v).map(|i| (i / v) * v_p + i % v).collect(),
        );
        // Output projection into the residual stream.
        let proj =
            scatter_inputs(&blk.proj, &(0..h * v).map(|i| (i, (i / v) * v_p + i % v)).collect::<Vec<_>>(), h * v_p);
        let w = cx.weights(name("proj.weights"), &proj.bias, &proj.requant, Some(&proj.w), None);
        cx.gemm(
            LayerKind::Proj,
            t,
            h * v_p,
            e,
            ba(bank::O, 0),
            v_w,
            false,
            WeightSource::Dram,
            GemmOut { at: ba(bank::XL, 0), stride: e_w as u32, group: 0, mode: resid },
            None,
            w,
        );
        cx.dump_x(name("resid1"), t, e);
        // MLP.
        cx.layernorm_x(name("ln2"), t, e, ln2_at[bi], blk.ln2.out);
        let m_w = bs.mlp.div_ceil(r);
        let w1 = cx.weights(name("fc1.weights"), &blk.fc1.bias, &blk.fc1.requant, Some(&blk.fc1.w), Some(&blk.gelu));
        cx.gemm(
            LayerKind::Mlp,
            t,
            e,
            bs.mlp,
            ba(bank::A, 0),
            e_w,
            false,
            WeightSource::Dram,
            GemmOut { at: ba(bank::Q, 0), stride: m_w as u32, group: 0, mode: OutMode::Int8Lut },
            None,
            w1,
        );
        cx.dump8(name("gelu"), DumpKind::I8, ba(bank::Q, 0), m_w, t, (0..bs.mlp).collect());
        let w2 = cx.weights(name("fc2.weights"), &blk.fc2.bias, &blk.fc2.requant, Some(&blk.fc2.w), None);
        cx.gemm(
            LayerKind::Mlp,
            t,
            bs.mlp,
            e,
            ba(bank::Q, 0),
            m_w,
            false,
            WeightSource::Dram,
            GemmOut { at: ba(bank::XL, 0), stride: e_w as u32, group: 0, mode: resid },
            None,
            w2,
        );
        cx.dump_x(name("resid2"), t, e);
    }

    cx.live = false;
    cx.b.block = None;
    // ---- final LayerNorm on the class/distillation rows, both heads into the logits row.
    cx.layernorm_x("final.ln".into(), pre, e, norm_at, model.norm.out);
    let logits_out = GemmOut { at: ba(bank::XL, logits_at), stride: cls_w as u32, group: 0, mode: resid };
    let hd = &model.head;
    let w = cx.weights("head.weights".into(), &hd.bias, &hd.requant, Some(&hd.w), None);
    cx.gemm(LayerKind::Head, 1, e, sh.num_classes, ba(bank::A, 0), e_w, false, WeightSource::Dram, logits_out, None, w);
    if let Some(hd) = &model.head_dist {
        let w = cx.weights("head_dist.weights".into(), &hd.bias, &hd.requant, Some(&hd.w), None);
        cx.gemm(
            LayerKind::Head,
            1,
            e,
            sh.num_classes,
            ba(bank::A, e_w),
            e_w,
            false,
            WeightSource::Dram,
            logits_out,
            None,
            w,
        );
    }
    let logits_lo = cx.store(ba(bank::XL, logits_at), cls_w, 1, cls_w);
    let logits_hi = cx.store(ba(bank::XH, logits_at), cls_w, 1, cls_w);
    let row_bytes = cls_w * wb;
    cx.prog.outputs.push(OutputRegion {
        name: "logits.lo".into(),
        addr: logits_lo,
        rows: 1,
        row_bytes,
        cols: sh.num_classes,
    });
    cx.prog.outputs.push(OutputRegion {
        name: "logits.hi".into(),
        addr: logits_hi,
        rows: 1,
        row_bytes,
        cols: sh.num_classes,
    });

    let Ctx { b, mut dram, mut prog, dumps, .. } = cx;
    prog.insn_base = dram.alloc(b.insns.len() * spec::isa::INSN_BYTES);
    prog.insns = b.insns;
    prog.dram_bytes = dram.used();
    prog.live_tokens = t as u16;
    Ok(CompiledModel {
        program: prog,
        patch_addr,
        patch_row_bytes: pd_w * wb,
        logits_lo,
        logits_hi,
        classes: sh.num_classes,
        dumps,
        layer_of: b.kinds,
        block_of: b.blocks,
        kept_at,
        kept_row_bytes: mw * wb,
    })
}

impl CompiledModel {
    /// The DRAM bytes of one image's patch matrix (`P x patch_dim` int8).
    pub fn patch_bytes(&self, patches: &Array2<i8>) -> Vec<u8> {
        let mut out = vec![0u8; patches.nrows() * self.patch_row_bytes];
        for ((m, k), &v) in patches.indexed_iter() {
            out[m * self.patch_row_bytes + k] = v as u8;
        }
        out
    }
    /// Logits from the two stored byte planes.
    pub fn logits(&self, lo: &[u8], hi: &[u8]) -> Vec<i32> {
        (0..self.classes).map(|i| i16::from_le_bytes([lo[i], hi[i]]) as i32).collect()
    }
    /// Debug dumps read back as golden-trace-shaped stages (softmax heads stacked).
    pub fn read_dumps(&self, read: &mut dyn FnMut(u64, usize) -> Vec<u8>) -> golden::trace::Trace<i32> {
        let mut tr = golden::trace::Trace::new();
        let mut pending: Option<(String, Vec<Array2<i32>>)> = None;
        for d in &self.dumps {
            let lo = read(d.addr, d.rows * d.row_bytes);
            let hi = if matches!(d.kind, DumpKind::I16) { read(d.hi_addr, d.rows * d.row_bytes) } else { vec![] };
            let a = Array2::from_shape_fn((d.rows, d.cols.len()), |(i, j)| {
                let o = i * d.row_bytes + d.cols[j];
                match d.kind {
                    DumpKind::I8 => lo[o] as i8 as i32,
                    DumpKind::U8 => lo[o] as i32,
                    DumpKind::I16 => i16::from_le_bytes([lo[o], hi[o]]) as i32,
                }
            });
            let base = d.stage.split('#').next().unwrap_or(&d.stage).to_string();
            if let Some((name, parts)) = &mut pending {
                if *name == base {
                    parts.push(a);
                    continue;
                }
                let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
                tr.push(name.clone(), ndarray::concatenate(ndarray::Axis(0), &views).expect("heads share width"));
                pending = None;
            }
            if matches!(d.kind, DumpKind::U8) {
                pending = Some((base, vec![a]));
            } else {
                tr.push(base, a);
            }
        }
        if let Some((name, parts)) = pending {
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            tr.push(name, ndarray::concatenate(ndarray::Axis(0), &views).expect("heads share width"));
        }
        tr
    }
}

/// Compare a device trace with golden's: the first stage (in device order) whose values differ,
/// with the (row, column) of the first differing element.
pub fn first_mismatch(device: &golden::trace::Trace<i32>, golden: &golden::trace::Trace<i32>) -> Option<String> {
    for (name, a) in device.stages() {
        match golden.get(name) {
            Some(g) if g.shape() == a.shape() => {
                if let Some(((i, j), v)) = a.indexed_iter().find(|(ij, v)| g[*ij] != **v) {
                    return Some(format!("{name}[{i}][{j}]: device {v}, golden {}", g[[i, j]]));
                }
            }
            Some(g) => return Some(format!("{name}: device shape {:?}, golden {:?}", a.shape(), g.shape())),
            None => return Some(format!("{name}: not in the golden trace")),
        }
    }
    None
}

/// Figures and results of one image on a device.
#[derive(Clone, Debug)]
pub struct ImageRun {
    /// Logits (int16 values).
    pub logits: Vec<i32>,
    /// Device counters.
    pub stats: crate::device::RunStats,
    /// The debug dumps as a trace (empty unless compiled with `debug`).
    pub trace: golden::trace::Trace<i32>,
    /// Per on-chip selector: the original indices of the tokens live after it (the package
    /// token's index is `N0`), as read back from the device.
    pub kept: Vec<Vec<usize>>,
}

impl CompiledModel {
    /// Run one image's patch matrix on `dev`, which holds this program (see
    /// [`crate::device::load`]).
    pub fn run_image(
        &self,
        dev: &mut dyn crate::device::Device,
        patches: &Array2<i8>,
        timeout: std::time::Duration,
    ) -> Result<ImageRun, crate::device::DeviceError> {
        dev.write_mem(self.patch_addr, &self.patch_bytes(patches))?;
        let stats = crate::device::execute(dev, &self.program, timeout)?;
        let lo = dev.read_mem(self.logits_lo, self.classes)?;
        let hi = dev.read_mem(self.logits_hi, self.classes)?;
        let mut err = None;
        let trace = self.read_dumps(&mut |a, n| match dev.read_mem(a, n) {
            Ok(v) => v,
            Err(e) => {
                err = Some(e);
                vec![0; n]
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let mut kept = Vec::with_capacity(self.kept_at.len());
        for &at in &self.kept_at {
            let rb = self.kept_row_bytes;
            let bytes = dev.read_mem(at, 2 * rb + 2)?;
            let count = u16::from_le_bytes([bytes[2 * rb], bytes[2 * rb + 1]]) as usize;
            if count > rb {
                return Err(crate::device::DeviceError::Backend(format!(
                    "selector read-back: live count {count} exceeds the {rb} token slots"
                )));
            }
            kept.push((0..count).map(|i| bytes[i] as usize | (bytes[rb + i] as usize) << 8).collect());
        }
        Ok(ImageRun { logits: self.logits(&lo, &hi), stats, trace, kept })
    }
}
