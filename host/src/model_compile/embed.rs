//! Emit steps of the embedding: the initial residual stream and the patch-embedding GEMM.

use super::bank;
use super::compiled::LayerKind;
use super::emit::{ba, out_rows, Elems, Emitter, GemmOp, Matrix, PatchInput, RESID};
use golden::int::IntModel;
use ndarray::Array2;
use spec::isa::WeightSource;
use spec::numerics::residual_add;

/// The initial residual stream, loaded into banks XL/XH: class/distillation rows with their
/// position embedding folded in (`sat16(cls + pos)`), patch rows = their position embedding (the
/// patch-embedding GEMM adds onto them), the package scratch row and the logits row zero.
pub(super) fn initial_residual(cx: &mut Emitter, model: &IntModel) {
    let lay = &cx.lay;
    let (t, e, e_w, wb) = (lay.tokens, lay.embed, lay.e_w, lay.word_bytes);
    let mut x0 = Array2::<i16>::zeros((t, e));
    for tok in 0..t {
        for ch in 0..e {
            let pos = model.pos_embed[[tok, ch]];
            x0[[tok, ch]] = match tok {
                0 => residual_add(model.cls_token[ch], pos),
                1 if lay.prefix == 2 => residual_add(model.dist_token.as_ref().expect("distilled")[ch], pos),
                _ => pos,
            };
        }
    }
    let words = (t + 1) * e_w + lay.cls_w;
    for (plane, bk, name) in [(0, bank::XL, "x_init.lo"), (1, bank::XH, "x_init.hi")] {
        let mut bytes = vec![0u8; words * wb];
        for ((tok, ch), &x) in x0.indexed_iter() {
            bytes[tok * e_w * wb + ch] = (x as u16 >> (8 * plane)) as u8;
        }
        cx.load(name, bytes, ba(bk, 0), 1, words);
    }
}

/// The patch matrix (a DRAM segment the host writes per image) loaded into bank A, and the
/// patch-embedding GEMM adding onto the patch rows of the residual stream.
pub(super) fn patch_embedding(cx: &mut Emitter, model: &IntModel) -> PatchInput {
    let sh = &model.shape;
    let (pd, np) = (sh.patch_dim(), sh.patches());
    let (pd_w, wb) = (cx.lay.words(pd), cx.lay.word_bytes);
    let (e_w, prefix) = (cx.lay.e_w, cx.lay.prefix);
    let addr = cx.seg("patches".into(), vec![0u8; np * pd_w * wb]);
    cx.load_from(addr, ba(bank::A, 0), np, pd_w);
    let weights = cx.weights("patch_embed".into(), &model.patch_embed, None);
    cx.gemm(GemmOp {
        kind: LayerKind::PatchEmbed,
        m: np,
        k: pd,
        n: cx.lay.embed,
        a: Matrix { at: ba(bank::A, 0), stride: pd_w },
        a_elems: Elems::Int8,
        b: WeightSource::Dram,
        out: out_rows(ba(bank::XL, prefix * e_w), e_w, RESID),
        row_scale: None,
        weights,
    });
    cx.dump_x("embed".into(), cx.lay.tokens);
    PatchInput { addr, row_bytes: pd_w * wb }
}
