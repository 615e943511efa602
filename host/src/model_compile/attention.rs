//! Emit step of a block's attention half: LN1, the Q/K/V projections, the heads (pipelined over
//! two score buffers) and the output projection into the residual stream.

use super::bank;
use super::compiled::{Dump, DumpKind, LayerKind};
use super::emit::{ba, out_rows, Elems, Emitter, GemmOp, LnChunk, Matrix, SoftmaxOp, RESID};
use super::layout::pad;
use super::params::ParamPlan;
use super::weights::{scatter_inputs, scatter_outputs};
use golden::int::IntBlock;
use spec::isa::{GemmOut, OutMode, WeightSource};
use spec::BlockShape;

/// A block's heads as laid out in the scratchpad: Q/K heads padded to R channels, V heads to C.
struct Heads {
    /// Heads.
    h: usize,
    /// Q/K channels per head.
    qk: usize,
    /// V channels per head.
    v: usize,
    /// Q/K channels per head, padded to R.
    qk_p: usize,
    /// V channels per head, padded to C.
    v_p: usize,
    /// Words per Q (and K) row.
    q_w: usize,
    /// Words per V (and attention output) row.
    v_w: usize,
}

impl Heads {
    fn new(bs: &BlockShape, r: usize, c: usize) -> Self {
        let (qk_p, v_p) = (pad(bs.qk, r), pad(bs.v, c));
        Heads {
            h: bs.heads,
            qk: bs.qk,
            v: bs.v,
            qk_p,
            v_p,
            q_w: (bs.heads * qk_p).div_ceil(r),
            v_w: (bs.heads * v_p).div_ceil(r),
        }
    }

    /// Padded position of channel `i` of `h` heads of `w` channels each, heads `wp` apart.
    fn padded(i: usize, w: usize, wp: usize) -> usize {
        (i / w) * wp + i % w
    }

    /// `(channel, padded position)` of `h` heads of `w` channels, heads `wp` apart, the first
    /// channel at `from`.
    fn pairs(&self, from: usize, w: usize, wp: usize) -> Vec<(usize, usize)> {
        (0..self.h * w).map(|i| (from + i, Self::padded(i, w, wp))).collect()
    }

    /// Byte of each golden column in a padded row.
    fn cols(&self, w: usize, wp: usize) -> Vec<usize> {
        (0..self.h * w).map(|i| Self::padded(i, w, wp)).collect()
    }
}

/// The attention half of block `bi`: LN1, Q/K/V, the heads, the output projection.
pub(super) fn attention(
    cx: &mut Emitter,
    blk: &IntBlock,
    bs: &BlockShape,
    bi: usize,
    params: &ParamPlan,
    name: &dyn Fn(&str) -> String,
) {
    let heads = Heads::new(bs, cx.lay.r, cx.lay.c);
    let ln = cx.layernorm_x_chunks(name("ln1"), cx.lay.tokens, params.ln1[bi], blk.ln1.out);
    qkv(cx, blk, &heads, bi, &ln, name);
    attend(cx, blk, &heads, params.exp[bi], name);
    projection(cx, blk, &heads, name);
}

/// Q, K, V from the LN1 output (its chunks `ln`, each a GEMM per projection, the first chunk's
/// first) with the block's token mask as row scale, each head at its padded place in banks Q,
/// K, V.
fn qkv(cx: &mut Emitter, blk: &IntBlock, hd: &Heads, bi: usize, ln: &[LnChunk], name: &dyn Fn(&str) -> String) {
    let (h, qk, v) = (hd.h, hd.qk, hd.v);
    // One row: the token mask, a byte per token (row scale of GEMM row t at byte t).
    let mask = Matrix { at: ba(bank::O, cx.lay.mask_at(bi)), stride: 0 };
    let mut streams = vec![];
    for (what, pairs, n, bk, (w, wp)) in [
        ("q", hd.pairs(0, qk, hd.qk_p), h * hd.qk_p, bank::Q, (qk, hd.qk_p)),
        ("k", hd.pairs(h * qk, qk, hd.qk_p), h * hd.qk_p, bank::K, (qk, hd.qk_p)),
        ("v", hd.pairs(2 * h * qk, v, hd.v_p), h * hd.v_p, bank::V, (v, hd.v_p)),
    ] {
        let layer = scatter_outputs(&blk.qkv, &pairs, n);
        let weights = cx.weights(name(&format!("{what}.weights")), &layer, None);
        let out = Matrix { at: ba(bk, 0), stride: cx.lay.words(n) };
        streams.push((what, n, out, weights, (w, wp)));
    }
    for ch in ln {
        for &(_, n, out, weights, _) in &streams {
            cx.gemm(GemmOp {
                kind: LayerKind::Qkv,
                m: ch.rows,
                k: cx.lay.embed,
                n,
                a: ch.a,
                a_elems: Elems::Int8,
                b: WeightSource::Dram,
                out: out_rows(out.row(ch.first).at, out.stride, OutMode::Int8),
                row_scale: Some(mask.word(cx.lay.words(ch.first)).at),
                weights,
            });
        }
    }
    for (what, _, out, _, (w, wp)) in streams {
        cx.dump8(name(what), DumpKind::I8, out, cx.lay.tokens, hd.cols(w, wp));
    }
}

/// Score buffer of head `j` and its copy: even heads in S0/S1, odd heads in S2/S3.
fn score_banks(j: usize) -> (u8, u8) {
    (bank::S[2 * (j % 2)], bank::S[2 * (j % 2) + 1])
}

/// The heads, pipelined: `Q K^T` of head `j + 1` on the GEMM unit while the vector unit runs
/// head `j`'s softmax in place; then `P V` writes head `j`'s slice of the attention output O.
fn attend(cx: &mut Emitter, blk: &IntBlock, hd: &Heads, exp_table: usize, name: &dyn Fn(&str) -> String) {
    let (t, t_w, r, c) = (cx.lay.tokens, cx.lay.t_w, cx.lay.r, cx.lay.c);
    let w_scores = cx.headers(name("scores.headers"), &vec![0; t], &vec![blk.scores; t]);
    let w_attn = cx.headers(name("attn_v.headers"), &vec![0; hd.v], &vec![blk.attn_out; hd.v]);
    let scores = |cx: &mut Emitter, j: usize| {
        let (s, copy_bank) = score_banks(j);
        cx.gemm(GemmOp {
            kind: LayerKind::Scores,
            m: t,
            k: hd.qk,
            n: t,
            a: Matrix { at: ba(bank::Q, j * hd.qk_p / r), stride: hd.q_w },
            a_elems: Elems::Int8,
            b: WeightSource::Columns { at: ba(bank::K, j * hd.qk_p / r), stride: hd.q_w as u32 },
            out: out_rows(ba(s, 0), t_w, OutMode::Int8Dup { copy_bank }),
            row_scale: None,
            weights: w_scores,
        });
    };
    let mut softmax_dumps = vec![];
    scores(cx, 0);
    for j in 0..hd.h {
        if j + 1 < hd.h {
            scores(cx, j + 1);
        }
        let (s, copy_bank) = score_banks(j);
        let probs = Matrix { at: ba(s, 0), stride: t_w };
        cx.softmax(SoftmaxOp { rows: t, n: t, scores: probs, copy_bank, exp_table });
        if cx.debug {
            softmax_dumps.push(cx.store(probs, t, t_w));
        }
        // Head j's V channels start at byte g0 of a V row: word g0 / R, C-byte group within it.
        let g0 = j * hd.v_p;
        let group = ((g0 % r) / c) as u8;
        cx.gemm(GemmOp {
            kind: LayerKind::AttnV,
            m: t,
            k: t,
            n: hd.v,
            a: probs,
            a_elems: Elems::Uint8,
            b: WeightSource::Rows { at: ba(bank::V, g0 / r), stride: hd.v_w as u32, group },
            out: GemmOut { at: ba(bank::O, g0 / r), stride: hd.v_w as u32, group, mode: OutMode::Int8 },
            row_scale: None,
            weights: w_attn,
        });
    }
    // Softmax of all heads, stacked like the golden trace: one dump of h*t rows.
    let stage = name("attn.softmax");
    for (j, addr) in softmax_dumps.into_iter().enumerate() {
        cx.dumps.push(Dump {
            stage: if j == 0 { stage.clone() } else { format!("{stage}#{j}") },
            kind: DumpKind::U8,
            addr,
            hi_addr: 0,
            rows: t,
            row_bytes: t_w * cx.lay.word_bytes,
            cols: (0..t).collect(),
        });
    }
    let out = Matrix { at: ba(bank::O, 0), stride: hd.v_w };
    cx.dump8(name("attn.out"), DumpKind::I8, out, t, hd.cols(hd.v, hd.v_p));
}

/// The output projection (zero weights for the V padding) added into the residual stream.
fn projection(cx: &mut Emitter, blk: &IntBlock, hd: &Heads, name: &dyn Fn(&str) -> String) {
    let k = hd.h * hd.v_p;
    let layer = scatter_inputs(&blk.proj, &hd.pairs(0, hd.v, hd.v_p), k);
    let weights = cx.weights(name("proj.weights"), &layer, None);
    let e_w = cx.lay.e_w;
    cx.gemm(GemmOp {
        kind: LayerKind::Proj,
        m: cx.lay.tokens,
        k,
        n: cx.lay.embed,
        a: Matrix { at: ba(bank::O, 0), stride: hd.v_w },
        a_elems: Elems::Int8,
        b: WeightSource::Dram,
        out: out_rows(ba(bank::XL, 0), e_w, RESID),
        row_scale: None,
        weights,
    });
    cx.dump_x(name("resid1"), cx.lay.tokens);
}
