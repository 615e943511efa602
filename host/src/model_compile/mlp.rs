//! Emit step of a block's MLP half: LN2, FC1 with GELU into bank Q, FC2 added into the residual
//! stream.

use super::bank;
use super::compiled::{DumpKind, LayerKind};
use super::emit::{ba, out_rows, Elems, Emitter, GemmOp, Matrix, RESID};
use golden::int::IntBlock;
use spec::isa::{OutMode, WeightSource};
use spec::BlockShape;

/// The MLP half of a block (LN2 parameters at word `ln2` of the parameter bank); FC1 runs per
/// LN2 chunk.
pub(super) fn mlp(cx: &mut Emitter, blk: &IntBlock, bs: &BlockShape, ln2: usize, name: &dyn Fn(&str) -> String) {
    let (t, e, e_w) = (cx.lay.tokens, cx.lay.embed, cx.lay.e_w);
    let ln = cx.layernorm_x_chunks(name("ln2"), t, ln2, blk.ln2.out);
    let hidden = Matrix { at: ba(bank::Q, 0), stride: cx.lay.words(bs.mlp) };
    let w1 = cx.weights(name("fc1.weights"), &blk.fc1, Some(&blk.gelu));
    for ch in ln {
        cx.gemm(GemmOp {
            kind: LayerKind::Mlp,
            m: ch.rows,
            k: e,
            n: bs.mlp,
            a: ch.a,
            a_elems: Elems::Int8,
            b: WeightSource::Dram,
            out: out_rows(hidden.row(ch.first).at, hidden.stride, OutMode::Int8Lut),
            row_scale: None,
            weights: w1,
        });
    }
    cx.dump8(name("gelu"), DumpKind::I8, hidden, t, (0..bs.mlp).collect());
    let w2 = cx.weights(name("fc2.weights"), &blk.fc2, None);
    cx.gemm(GemmOp {
        kind: LayerKind::Mlp,
        m: t,
        k: bs.mlp,
        n: e,
        a: hidden,
        a_elems: Elems::Int8,
        b: WeightSource::Dram,
        out: out_rows(ba(bank::XL, 0), e_w, RESID),
        row_scale: None,
        weights: w2,
    });
    cx.dump_x(name("resid2"), t);
}
