//! Emit step of the classifier: the final LayerNorm of the class/distillation rows, both heads
//! accumulated into the zeroed logits row (`sat16(cls + dist)`, the golden definition), and the
//! logits' two byte planes stored.

use super::bank;
use super::compiled::LayerKind;
use super::emit::{ba, out_rows, Elems, Emitter, GemmOp, Logits, Matrix, RESID};
use crate::program::OutputRegion;
use golden::int::IntModel;
use spec::isa::WeightSource;

/// The final LayerNorm, the heads and the logits STOREs (final LayerNorm parameters at word
/// `norm` of the parameter bank).
pub(super) fn head(cx: &mut Emitter, model: &IntModel, norm: usize) -> Logits {
    let (prefix, e, e_w, cls_w) = (cx.lay.prefix, cx.lay.embed, cx.lay.e_w, cx.lay.cls_w);
    let classes = cx.lay.classes;
    cx.layernorm_x("final.ln".into(), prefix, norm, model.norm.out);
    let logits = Matrix { at: ba(bank::XL, cx.lay.logits_at), stride: cls_w };
    // Head i reads LayerNorm row i (the class token, then the distillation token).
    let heads = [Some(("head.weights", &model.head)), model.head_dist.as_ref().map(|h| ("head_dist.weights", h))];
    for (row, (name, layer)) in heads.into_iter().flatten().enumerate() {
        let weights = cx.weights(name.into(), layer, None);
        cx.gemm(GemmOp {
            kind: LayerKind::Head,
            m: 1,
            k: e,
            n: classes,
            a: Matrix { at: ba(bank::A, row * e_w), stride: e_w },
            a_elems: Elems::Int8,
            b: WeightSource::Dram,
            out: out_rows(logits.at, logits.stride, RESID),
            row_scale: None,
            weights,
        });
    }
    let lo = cx.store(logits, 1, cls_w);
    let hi = cx.store(Matrix { at: ba(bank::XH, cx.lay.logits_at), stride: cls_w }, 1, cls_w);
    let row_bytes = cls_w * cx.lay.word_bytes;
    for (name, addr) in [("logits.lo", lo), ("logits.hi", hi)] {
        cx.prog.outputs.push(OutputRegion { name: name.into(), addr, rows: 1, row_bytes, cols: classes });
    }
    Logits { lo, hi }
}
