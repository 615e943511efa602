//! Emit step of an on-chip token selector (SPViT soft pruning, `ModelOptions::prune`).
//!
//! Every head shares the scorer's weights, so the heads are stacked: head `j`'s rows are rows
//! `j T ..` of one `heads T`-row matrix. When that fits one GEMM (`heads T <= max_tokens`) each
//! scorer layer is one GEMM over all of them instead of one per head (the weights loaded once);
//! otherwise each layer is one GEMM per head over its live rows. Per head `j`: LayerNorm of
//! channels `j d..(j+1) d` into rows `j T ..` of bank A. Then `in_proj` with GELU (bank Q: the
//! local half at channel 0, the global half at `hp = ceil(d/2 / R) R` so COLMEAN addresses it by
//! words); per head, COLMEAN over its live tokens (global half, broadcast, and the head's squeeze
//! byte); `out1`/`out2` with GELU (banks K, V); `diff` with the sigmoid table (the keep
//! probabilities: head `j`, token `t` at word `j T + t` of bank S0). A stacked GEMM has the fixed
//! size `heads T`: in a live block the rows of the dropped tokens (`L..T` of every head) are
//! computed from stale rows and never read. Then the head-importance branch on the squeeze
//! row (S0 word `h T` -> S1 -> S0 word `h T + 1`) and SELECT, which compacts the kept tokens,
//! appends the package token and sets LIVE_TOKENS. Finally the tokens' original indices and the
//! live count are stored for the host to read back.

use super::bank;
use super::compiled::LayerKind;
use super::emit::{ba, out_rows, ColMeanOp, Elems, Emitter, GemmOp, LayerNormOp, Matrix};
use super::layout::pad;
use super::weights::{scatter_inputs, scatter_outputs};
use golden::int::IntSelector;
use spec::isa::{BankAddr, OutMode, Select, WeightSource};
use spec::model::SelectorShape;

/// A selector head's channels as laid out for its GEMMs.
struct HeadPlan {
    /// Channels per head (`E / heads`, a whole number of words: checked in `check_fits`).
    d: usize,
    /// The local half: channels `0..half`.
    half: usize,
    /// Channel of the global half in `in_proj`'s output (word aligned).
    hp: usize,
    /// `in_proj` output channels (`hp` + the global half).
    zn: usize,
}

/// DRAM addresses of the selector's weight streams.
struct Streams {
    in_proj: u64,
    out1: u64,
    out2: u64,
    diff: u64,
}

/// A GEMM of the selector: int8 A from the scratchpad, weights from DRAM, output through the
/// stream's table (GELU or sigmoid).
fn lut_gemm(cx: &mut Emitter, (m, k, n): (usize, usize, usize), a: Matrix, out: Matrix, weights: u64) {
    cx.gemm(GemmOp {
        kind: LayerKind::Selector,
        m,
        k,
        n,
        a,
        a_elems: Elems::Int8,
        b: WeightSource::Dram,
        out: out_rows(out.at, out.stride, OutMode::Int8Lut),
        row_scale: None,
        weights,
    });
}

/// Selector `si` before block `bi` (its LayerNorm at word `ln_at` of the parameter bank).
/// Returns the DRAM address of its read-back: the live tokens' original indices (low, high byte
/// row) and the live count.
pub(super) fn selector(
    cx: &mut Emitter,
    sel: &IntSelector,
    ss: &SelectorShape,
    si: usize,
    bi: usize,
    ln_at: usize,
) -> u64 {
    let name = |s: &str| format!("sel{si}.{s}");
    let (r, t) = (cx.lay.r, cx.lay.tokens);
    let d = cx.lay.embed / ss.heads;
    let half = d / 2;
    let hp = pad(half, r);
    let hd = HeadPlan { d, half, hp, zn: hp + (d - half) };
    let z_pairs: Vec<(usize, usize)> = (0..d).map(|c| (c, if c < half { c } else { hp + c - half })).collect();
    let zl = scatter_outputs(&sel.in_proj, &z_pairs, hd.zn);
    let in_proj = cx.weights(name("in_proj"), &zl, Some(&sel.gelu_in));
    let o1 = scatter_inputs(&sel.out1, &z_pairs, hd.zn);
    let out1 = cx.weights(name("out1"), &o1, Some(&sel.gelu1));
    let out2 = cx.weights(name("out2"), &sel.out2, Some(&sel.gelu2));
    let diff = cx.weights(name("diff"), &sel.diff, Some(&sel.sigmoid.map(|v| v as i8)));
    let streams = Streams { in_proj, out1, out2, diff };
    keep_probabilities(cx, sel, ss, &hd, &streams, ln_at);

    cx.with_fixed_tokens(|cx| head_importance(cx, sel, ss.heads, &name));
    let squeeze_at = ss.heads * t;
    let lay = &cx.lay;
    let select = Select {
        rows: t as u16,
        n: lay.embed as u16,
        x: ba(bank::XL, 0),
        x_hi_bank: bank::XH,
        x_stride: lay.e_w as u32,
        probs: ba(bank::S[0], 0),
        probs_stride: t as u32,
        weights_addr: (squeeze_at + 1) as u32,
        heads: ss.heads as u8,
        prefix: lay.prefix as u8,
        gather: ba(bank::O, lay.mask_at(bi)),
        gather_stride: lay.mask_w as u32,
        // The masks of this and every later block, then the two index planes.
        gather_rows: (lay.blocks - bi + 2) as u8,
        package_byte: t as u16,
    };
    cx.select(select);
    // Read-back: the original indices of the live tokens and their count.
    let mw = cx.lay.mask_w;
    cx.store(Matrix { at: ba(bank::O, cx.lay.indices_at()), stride: mw }, 3, mw)
}

/// Every head's keep probability of every token into S0 words `j T + t`, and head `j`'s squeeze
/// byte (the mean of its global half) into byte `j` of S0 word `h T`.
fn keep_probabilities(
    cx: &mut Emitter,
    sel: &IntSelector,
    ss: &SelectorShape,
    hd: &HeadPlan,
    w: &Streams,
    ln_at: usize,
) {
    let (t, r, h) = (cx.lay.tokens, cx.lay.r, ss.heads);
    let (d_w, z_w) = (hd.d / r, hd.zn.div_ceil(r));
    let (h1_w, h2_w) = (ss.hidden1.div_ceil(r), ss.hidden2.div_ceil(r));
    let a = Matrix { at: ba(bank::A, 0), stride: d_w };
    let z = Matrix { at: ba(bank::Q, 0), stride: z_w };
    let h1 = Matrix { at: ba(bank::K, 0), stride: h1_w };
    let h2 = Matrix { at: ba(bank::V, 0), stride: h2_w };
    let probs = Matrix { at: ba(bank::S[0], 0), stride: 1 };
    for j in 0..h {
        cx.layernorm(LayerNormOp {
            kind: LayerKind::Selector,
            rows: t,
            n: hd.d,
            x: Matrix { at: ba(bank::XL, j * d_w), stride: cx.lay.e_w },
            x_hi_bank: bank::XH,
            out: a.row(j * t),
            params: ln_at,
            out_mult: sel.ln.out,
        });
    }
    stacked_gemm(cx, (h, t), (hd.d, hd.zn), a, z, w.in_proj);
    for j in 0..h {
        cx.colmean(ColMeanOp {
            rows: t,
            n: hd.half,
            x: z.row(j * t).word(hd.hp / r),
            mean_at: ba(bank::S[0], h * t),
            mean_byte: j,
        });
    }
    stacked_gemm(cx, (h, t), (hd.zn, ss.hidden1), z, h1, w.out1);
    stacked_gemm(cx, (h, t), (ss.hidden1, ss.hidden2), h1, h2, w.out2);
    stacked_gemm(cx, (h, t), (ss.hidden2, 1), h2, probs, w.diff);
}

/// A scorer layer over the stacked heads (`heads x T` rows): one GEMM of fixed size when they
/// fit the GEMM's M limit (`max_tokens`; the weights are loaded once for every head, which pays
/// on few tokens), else one GEMM per head over its live rows (on many tokens a head's rows fill
/// the array alone, and after an earlier selector the dropped rows are not computed).
fn stacked_gemm(
    cx: &mut Emitter,
    (h, t): (usize, usize),
    (k, n): (usize, usize),
    a: Matrix,
    out: Matrix,
    weights: u64,
) {
    if h * t <= cx.cfg.max_tokens {
        cx.with_fixed_tokens(|cx| lut_gemm(cx, (h * t, k, n), a, out, weights));
    } else {
        for j in 0..h {
            lut_gemm(cx, (t, k, n), a.row(j * t), out.row(j * t), weights);
        }
    }
}

/// The head-importance branch on the squeeze row (one row, sizes fixed): S0 word `h T` ->
/// `head_fc1` (GELU) -> S1 -> `head_fc2` (sigmoid) -> the head weights at S0 word `h T + 1`.
fn head_importance(cx: &mut Emitter, sel: &IntSelector, heads: usize, name: &dyn Fn(&str) -> String) {
    let (f1, f2) = (&sel.head_fc1, &sel.head_fc2);
    let w_f1 = cx.weights(name("head_fc1"), f1, Some(&sel.gelu_head));
    let w_f2 = cx.weights(name("head_fc2"), f2, Some(&sel.sigmoid_head.map(|v| v as i8)));
    let squeeze_at = heads * cx.lay.tokens;
    let row = |at: BankAddr| Matrix { at, stride: 1 };
    let hidden = row(ba(bank::S[1], 0));
    lut_gemm(cx, (1, heads, f1.out_dim()), row(ba(bank::S[0], squeeze_at)), hidden, w_f1);
    lut_gemm(cx, (1, f1.out_dim(), heads), hidden, row(ba(bank::S[0], squeeze_at + 1)), w_f2);
}
