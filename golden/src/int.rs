//! The integer forward pass the hardware reproduces bit for bit (`docs/NUMERICS.md`).

use crate::float::stack;
use crate::image::Image;
use crate::kernels::{layernorm, lut_i8, matmul_nt, requant_all, softmax, QLinear};
use crate::trace::{record, Trace};
use crate::{ForwardOptions, Output};
use ndarray::{concatenate, s, Array2, ArrayView2, Axis};
use spec::numerics::{self, Dyadic, LayerNormParams, LUT_SIZE};
use spec::ModelShape;

/// Integer block: every constant the hardware needs to run one transformer block.
#[derive(Clone, Debug, PartialEq)]
pub struct IntBlock {
    /// Pre-attention LayerNorm (int16 residual -> int8).
    pub ln1: LayerNormParams,
    /// QKV projection; its requantization includes the token-mask scale.
    pub qkv: QLinear,
    /// Token mask by original index (`N0 + 1` entries), int8 with one scale per block.
    pub token_mask: Vec<i8>,
    /// `Q K^T` accumulator -> int8 scores (attention scale folded in).
    pub scores: Dyadic,
    /// exp table of the softmax for this block's score scale.
    pub exp_lut: [u16; LUT_SIZE],
    /// `P V` accumulator -> int8 head outputs.
    pub attn_out: Dyadic,
    /// Output projection (int16 contribution to the residual stream).
    pub proj: QLinear,
    /// Pre-MLP LayerNorm.
    pub ln2: LayerNormParams,
    /// FC1 (int8 output, the GELU table input).
    pub fc1: QLinear,
    /// GELU table.
    pub gelu: [i8; LUT_SIZE],
    /// FC2 (int16 contribution to the residual stream).
    pub fc2: QLinear,
}

/// Integer token selector.
#[derive(Clone, Debug, PartialEq)]
pub struct IntSelector {
    /// LayerNorm over one head's `d` channels.
    pub ln: LayerNormParams,
    /// `d -> d`.
    pub in_proj: QLinear,
    /// GELU after `in_proj`.
    pub gelu_in: [i8; LUT_SIZE],
    /// `d -> d1`.
    pub out1: QLinear,
    /// GELU after `out1`.
    pub gelu1: [i8; LUT_SIZE],
    /// `d1 -> d2`.
    pub out2: QLinear,
    /// GELU after `out2`.
    pub gelu2: [i8; LUT_SIZE],
    /// `d2 -> 1`: the keep-logit difference `l0 - l1` as one output channel.
    pub diff: QLinear,
    /// Sigmoid of the logit difference (keep probability, U0F8).
    pub sigmoid: [u8; LUT_SIZE],
    /// Head importance `h_s -> hh`.
    pub head_fc1: QLinear,
    /// GELU after `head_fc1`.
    pub gelu_head: [i8; LUT_SIZE],
    /// Head importance `hh -> h_s`.
    pub head_fc2: QLinear,
    /// Sigmoid of the head importance (U0F8).
    pub sigmoid_head: [u8; LUT_SIZE],
}

/// A quantized model: everything needed for a bit-exact inference.
#[derive(Clone, Debug, PartialEq)]
pub struct IntModel {
    /// Shapes and hyper-parameters.
    pub shape: ModelShape,
    /// Per input channel: raw pixel value -> int8 input (entries above `pixel_max` unused).
    pub input_lut: Vec<[i8; LUT_SIZE]>,
    /// Patch embedding (int16 output at the residual scale).
    pub patch_embed: QLinear,
    /// Class token, residual scale.
    pub cls_token: Vec<i16>,
    /// Distillation token, iff distilled.
    pub dist_token: Option<Vec<i16>>,
    /// Position embedding `[N0, E]`, residual scale.
    pub pos_embed: Array2<i16>,
    /// Blocks.
    pub blocks: Vec<IntBlock>,
    /// Selectors.
    pub selectors: Vec<IntSelector>,
    /// Final LayerNorm.
    pub norm: LayerNormParams,
    /// Class head (int16 logits; halves folded in when distilled).
    pub head: QLinear,
    /// Distillation head.
    pub head_dist: Option<QLinear>,
    /// Real value of one logit LSB.
    pub logit_scale: f64,
}

/// Widen an integer matrix for the trace.
fn wide<T: Copy + Into<i32>>(a: &Array2<T>) -> Array2<i32> {
    a.mapv(|v| v.into())
}

impl IntModel {
    /// Quantized patch matrix `[P, C*p*p]` of one image (the device's input).
    pub fn input_patches(&self, image: &Image) -> Array2<i8> {
        let rows = image.patches(&self.shape, |c, p| self.input_lut[c][p as usize]);
        Array2::from_shape_vec((rows.len(), self.shape.patch_dim()), rows.concat()).expect("patch shape")
    }

    /// Run one image bit-exactly. Logits are int32 at `logit_scale`.
    pub fn forward(&self, image: &Image, opts: &ForwardOptions, mut trace: Option<&mut Trace<i32>>) -> Output<i32> {
        let sh = &self.shape;
        let pre = sh.prefix_tokens();
        let t = self.patch_embed.forward_i16(self.input_patches(image).view());
        let mut x = Array2::<i16>::zeros((sh.tokens(), sh.embed));
        x.row_mut(0).assign(&ndarray::aview1(&self.cls_token));
        if let Some(d) = &self.dist_token {
            x.row_mut(1).assign(&ndarray::aview1(d));
        }
        x.slice_mut(s![pre.., ..]).assign(&t);
        x.zip_mut_with(&self.pos_embed, |a, &p| *a = numerics::residual_add(*a, p));
        record(&mut trace, || "embed".into(), || wide(&x));

        let mut idx: Vec<usize> = (0..sh.tokens()).collect();
        let mut out = Output { logits: vec![], kept: vec![], live: vec![] };
        for (b, blk) in self.blocks.iter().enumerate() {
            if let Some((si, sel)) = sh.selector_before(b) {
                if opts.prune {
                    let (nx, nidx) = self.select(si, sel.heads, &x, &idx, &mut trace);
                    x = nx;
                    idx = nidx;
                }
                out.kept.push(idx.clone());
            }
            out.live.push(idx.len());
            self.block(b, blk, &mut x, &idx, &mut trace);
        }
        let y = layernorm(x.slice(s![..pre, ..]), &self.norm);
        record(&mut trace, || "final.ln".into(), || wide(&y));
        let cls = self.head.forward_i16(y.slice(s![0..1, ..]));
        record(&mut trace, || "head.cls".into(), || wide(&cls));
        let mut logits = wide(&cls);
        if let Some(hd) = &self.head_dist {
            let dist = hd.forward_i16(y.slice(s![1..2, ..]));
            record(&mut trace, || "head.dist".into(), || wide(&dist));
            // Both heads sum in the int16 residual stream (saturating, like every residual add).
            logits = Array2::from_shape_fn(cls.dim(), |ij| numerics::residual_add(cls[ij], dist[ij]) as i32);
        }
        record(&mut trace, || "logits".into(), || logits.clone());
        out.logits = logits.row(0).to_vec();
        out
    }

    fn block(&self, b: usize, blk: &IntBlock, x: &mut Array2<i16>, idx: &[usize], trace: &mut Option<&mut Trace<i32>>) {
        let shape = self.shape.blocks[b];
        let (h, qk, v) = (shape.heads, shape.qk, shape.v);
        let n = x.nrows();
        let a = layernorm(x.view(), &blk.ln1);
        record(trace, || format!("block{b}.ln1"), || wide(&a));
        // QKV with the NViT token mask folded into the requantization as a per-row factor.
        let acc = blk.qkv.acc(a.view());
        let mut qkv = Array2::<i8>::zeros(acc.dim());
        for t in 0..n {
            let m = blk.token_mask[idx[t]] as i64;
            for c in 0..acc.ncols() {
                qkv[[t, c]] = numerics::requant_i8(acc[[t, c]] as i64 * m, blk.qkv.requant[c]);
            }
        }
        let q = qkv.slice(s![.., ..h * qk]);
        let k = qkv.slice(s![.., h * qk..2 * h * qk]);
        let vv = qkv.slice(s![.., 2 * h * qk..]);
        record(trace, || format!("block{b}.q"), || wide(&q.to_owned()));
        record(trace, || format!("block{b}.k"), || wide(&k.to_owned()));
        record(trace, || format!("block{b}.v"), || wide(&vv.to_owned()));
        let mut scores = Vec::with_capacity(h);
        let mut probs = Vec::with_capacity(h);
        let mut o = Array2::<i8>::zeros((n, h * v));
        for j in 0..h {
            let qj = q.slice(s![.., j * qk..(j + 1) * qk]);
            let kj = k.slice(s![.., j * qk..(j + 1) * qk]);
            let sc = requant_all(&matmul_nt(qj, kj), blk.scores, numerics::requant_i8);
            let p = softmax(&sc, &blk.exp_lut);
            let vj = vv.slice(s![.., j * v..(j + 1) * v]);
            let oj = requant_all(&matmul_nt(p.view(), vj.t()), blk.attn_out, numerics::requant_i8);
            o.slice_mut(s![.., j * v..(j + 1) * v]).assign(&oj);
            if trace.is_some() {
                scores.push(wide(&sc));
                probs.push(wide(&p));
            }
        }
        record(trace, || format!("block{b}.attn.scores"), || stack(&scores));
        record(trace, || format!("block{b}.attn.softmax"), || stack(&probs));
        record(trace, || format!("block{b}.attn.out"), || wide(&o));
        let r = blk.proj.forward_i16(o.view());
        x.zip_mut_with(&r, |a, &r| *a = numerics::residual_add(*a, r));
        record(trace, || format!("block{b}.resid1"), || wide(x));
        let a2 = layernorm(x.view(), &blk.ln2);
        record(trace, || format!("block{b}.ln2"), || wide(&a2));
        let f1 = blk.fc1.forward_i8(a2.view());
        record(trace, || format!("block{b}.fc1"), || wide(&f1));
        let g = lut_i8(&f1, &blk.gelu);
        record(trace, || format!("block{b}.gelu"), || wide(&g));
        let r2 = blk.fc2.forward_i16(g.view());
        x.zip_mut_with(&r2, |a, &r| *a = numerics::residual_add(*a, r));
        record(trace, || format!("block{b}.resid2"), || wide(x));
    }

    /// The integer selector `si`: scores, keep decisions, compaction and the package token.
    fn select(
        &self,
        si: usize,
        heads: usize,
        x: &Array2<i16>,
        idx: &[usize],
        trace: &mut Option<&mut Trace<i32>>,
    ) -> (Array2<i16>, Vec<usize>) {
        let sel = &self.selectors[si];
        let (n, e) = x.dim();
        let d = e / heads;
        let half = d / 2;
        let pre = |name: &str| format!("sel{si}.{name}");
        let tracing = trace.is_some();
        let mut stages: [Vec<Array2<i32>>; 9] = Default::default();
        let mut p_head = Array2::<u8>::zeros((n, heads));
        let mut squeeze = Array2::<i8>::zeros((1, heads));
        for j in 0..heads {
            let a = layernorm(x.slice(s![.., j * d..(j + 1) * d]), &sel.ln);
            let zp = sel.in_proj.forward_i8(a.view());
            let z = lut_i8(&zp, &sel.gelu_in);
            let g: Vec<i8> = (half..d).map(|c| numerics::mean_i8(z.column(c).iter().copied())).collect();
            let mut u = z.clone();
            for t in 0..n {
                u.slice_mut(s![t, half..]).assign(&ndarray::aview1(&g));
            }
            let o1p = sel.out1.forward_i8(u.view());
            let o1 = lut_i8(&o1p, &sel.gelu1);
            let o2p = sel.out2.forward_i8(o1.view());
            let o2 = lut_i8(&o2p, &sel.gelu2);
            let l = sel.diff.forward_i8(o2.view());
            for t in 0..n {
                p_head[[t, j]] = sel.sigmoid[numerics::lut_index(l[[t, 0]])];
            }
            squeeze[[0, j]] = numerics::mean_i8(g.iter().copied());
            if tracing {
                let ga = Array2::from_shape_vec((1, g.len()), g).expect("row");
                for (k, v) in
                    [wide(&a), wide(&zp), wide(&z), wide(&ga), wide(&o1p), wide(&o1), wide(&o2p), wide(&o2), wide(&l)]
                        .into_iter()
                        .enumerate()
                {
                    stages[k].push(v);
                }
            }
        }
        for (k, name) in ["ln", "z_pre", "z", "global", "o1_pre", "o1", "o2_pre", "o2", "logit"].iter().enumerate() {
            record(trace, || pre(name), || stack(&stages[k]));
        }
        record(trace, || pre("prob"), || wide(&p_head));
        record(trace, || pre("squeeze"), || wide(&squeeze));
        let hp = sel.head_fc1.forward_i8(squeeze.view());
        record(trace, || pre("hfc1_pre"), || wide(&hp));
        let hg = lut_i8(&hp, &sel.gelu_head);
        record(trace, || pre("hfc1"), || wide(&hg));
        let wl = sel.head_fc2.forward_i8(hg.view());
        record(trace, || pre("hfc2_pre"), || wide(&wl));
        let w: Vec<u8> = wl.row(0).iter().map(|&v| sel.sigmoid_head[numerics::lut_index(v)]).collect();
        record(trace, || pre("head_weight"), || Array2::from_shape_fn((1, heads), |(_, j)| w[j] as i32));

        let prefix = self.shape.prefix_tokens();
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        let mut scores = Vec::with_capacity(n);
        for t in 0..n {
            let (keep, score) = numerics::keep_decision(&w, p_head.row(t).as_slice().expect("standard"));
            scores.push(score as i32);
            if idx[t] < prefix || keep {
                kept.push(t);
            } else {
                dropped.push((t, numerics::package_weight(score)));
            }
        }
        record(trace, || pre("score"), || Array2::from_shape_vec((n, 1), scores).expect("column"));
        let mut rows: Vec<ArrayView2<i16>> = kept.iter().map(|&t| x.slice(s![t..t + 1, ..])).collect();
        let mut nidx: Vec<usize> = kept.iter().map(|&t| idx[t]).collect();
        let pkg;
        if !dropped.is_empty() {
            let weights: Vec<u64> = dropped.iter().map(|&(_, w)| w).collect();
            pkg = Array2::from_shape_fn((1, e), |(_, c)| {
                numerics::package_channel(&weights, dropped.iter().map(|&(t, _)| x[[t, c]]))
            });
            rows.push(pkg.view());
            nidx.push(self.shape.tokens());
        }
        let nx = concatenate(Axis(0), &rows).expect("rows share E");
        record(trace, || pre("kept"), || Array2::from_shape_fn((1, nidx.len()), |(_, i)| nidx[i] as i32));
        record(trace, || pre("out"), || wide(&nx));
        (nx, nidx)
    }
}

/// Index of the first maximum.
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for i in 1..v.len() {
        if v[i] > v[best] {
            best = i;
        }
    }
    best
}
