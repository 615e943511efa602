//! The f32 reference forward pass of `docs/MODEL.md`: the accuracy baseline the integer model is
//! measured against, and the source of calibration statistics. Never used for bit-exact checks.

use crate::image::Image;
use crate::trace::{record, Trace};
use crate::{ForwardOptions, Output};
use ndarray::{concatenate, s, Array1, Array2, ArrayView2, Axis};
use spec::numerics::gelu_f64;
use spec::ModelShape;

/// A float linear layer `y = x W^T + b`, `W: [out, in]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    /// Weight `[out, in]`.
    pub w: Array2<f32>,
    /// Bias `[out]`.
    pub b: Array1<f32>,
}

impl Linear {
    /// `x W^T + b` for `x: [n, in]`.
    pub fn apply(&self, x: ArrayView2<f32>) -> Array2<f32> {
        x.dot(&self.w.t()) + &self.b
    }
    /// Output width.
    pub fn out_dim(&self) -> usize {
        self.w.nrows()
    }
}

/// A float LayerNorm over the last axis.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNorm {
    /// Scale `[n]`.
    pub gamma: Array1<f32>,
    /// Shift `[n]`.
    pub beta: Array1<f32>,
}

impl LayerNorm {
    /// Normalise each row with biased variance and `eps`, then scale and shift.
    pub fn apply(&self, x: ArrayView2<f32>, eps: f64) -> Array2<f32> {
        let mut y = x.to_owned();
        for mut row in y.rows_mut() {
            let n = row.len() as f64;
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
            let inv = 1.0 / (var + eps).sqrt();
            for (i, v) in row.iter_mut().enumerate() {
                *v = ((*v as f64 - mean) * inv) as f32 * self.gamma[i] + self.beta[i];
            }
        }
        y
    }
}

/// Weights of one transformer block.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Pre-attention LayerNorm.
    pub norm1: LayerNorm,
    /// Fused QKV projection, rows `[q heads | k heads | v heads]`.
    pub qkv: Linear,
    /// NViT token mask by original index, `N0 + 1` entries (the last one for package tokens).
    pub token_mask: Array1<f32>,
    /// Output projection.
    pub proj: Linear,
    /// Pre-MLP LayerNorm.
    pub norm2: LayerNorm,
    /// MLP first layer.
    pub fc1: Linear,
    /// MLP second layer.
    pub fc2: Linear,
}

/// Weights of one SPViT token selector (shared by its heads).
#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    /// LayerNorm over one head's `d` channels.
    pub norm: LayerNorm,
    /// `d -> d`, followed by GELU.
    pub in_proj: Linear,
    /// `d -> d1`, followed by GELU.
    pub out1: Linear,
    /// `d1 -> d2`, followed by GELU.
    pub out2: Linear,
    /// `d2 -> 2` logits, row 0 = keep.
    pub out3: Linear,
    /// Head importance `h_s -> hh`, followed by GELU.
    pub head_fc1: Linear,
    /// Head importance `hh -> h_s`, followed by sigmoid.
    pub head_fc2: Linear,
}

/// A complete float model.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatModel {
    /// Shapes and hyper-parameters.
    pub shape: ModelShape,
    /// Patch embedding, weight `[E, C*p*p]` (the conv kernel flattened in `(c, py, px)` order).
    pub patch_embed: Linear,
    /// Class token `[E]`.
    pub cls_token: Array1<f32>,
    /// Distillation token `[E]`, iff distilled.
    pub dist_token: Option<Array1<f32>>,
    /// Position embedding `[N0, E]`.
    pub pos_embed: Array2<f32>,
    /// Blocks.
    pub blocks: Vec<Block>,
    /// Selectors, in the order of `shape.selectors`.
    pub selectors: Vec<Selector>,
    /// Final LayerNorm.
    pub norm: LayerNorm,
    /// Class head `[classes, E]`.
    pub head: Linear,
    /// Distillation head, iff distilled.
    pub head_dist: Option<Linear>,
}

fn gelu(x: Array2<f32>) -> Array2<f32> {
    x.mapv(|v| gelu_f64(v as f64) as f32)
}

fn sigmoid(x: f32) -> f32 {
    spec::numerics::sigmoid_f64(x as f64) as f32
}

impl FloatModel {
    /// The float input `(pixel * pixel_scale - mean[c]) / std[c]`.
    pub fn input_value(&self, c: usize, pixel: u8) -> f32 {
        let i = &self.shape.input;
        ((pixel as f64 * i.pixel_scale - i.mean[c]) / i.std[c]) as f32
    }

    /// Run one image. `trace` receives every named intermediate (see `docs/NUMERICS.md`).
    pub fn forward(&self, image: &Image, opts: &ForwardOptions, mut trace: Option<&mut Trace<f32>>) -> Output<f32> {
        let sh = &self.shape;
        let e = sh.embed;
        let patches = image.patches(sh, |c, p| self.input_value(c, p));
        let flat: Vec<f32> = patches.concat();
        let pm = Array2::from_shape_vec((patches.len(), sh.patch_dim()), flat).expect("patch shape");
        let t = self.patch_embed.apply(pm.view());
        let mut x = Array2::<f32>::zeros((sh.tokens(), e));
        x.row_mut(0).assign(&self.cls_token);
        if let Some(d) = &self.dist_token {
            x.row_mut(1).assign(d);
        }
        x.slice_mut(s![sh.prefix_tokens().., ..]).assign(&t);
        x += &self.pos_embed;
        record(&mut trace, || "embed".into(), || x.clone());

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
            x = self.block(b, blk, x, &idx, &mut trace);
        }
        let y = self.norm.apply(x.slice(s![..sh.prefix_tokens(), ..]), sh.ln_eps);
        record(&mut trace, || "final.ln".into(), || y.clone());
        let cls = self.head.apply(y.slice(s![0..1, ..]));
        record(&mut trace, || "head.cls".into(), || cls.clone());
        let logits = match &self.head_dist {
            Some(hd) => {
                let dist = hd.apply(y.slice(s![1..2, ..]));
                record(&mut trace, || "head.dist".into(), || dist.clone());
                (cls + dist) * 0.5
            }
            None => cls,
        };
        record(&mut trace, || "logits".into(), || logits.clone());
        out.logits = logits.row(0).to_vec();
        out
    }

    fn block(
        &self,
        b: usize,
        blk: &Block,
        mut x: Array2<f32>,
        idx: &[usize],
        trace: &mut Option<&mut Trace<f32>>,
    ) -> Array2<f32> {
        let shape = self.shape.blocks[b];
        let (h, qk, v) = (shape.heads, shape.qk, shape.v);
        let a = blk.norm1.apply(x.view(), self.shape.ln_eps);
        record(trace, || format!("block{b}.ln1"), || a.clone());
        let mut qkv = blk.qkv.apply(a.view());
        for (t, mut row) in qkv.rows_mut().into_iter().enumerate() {
            row *= blk.token_mask[idx[t]];
        }
        let q = qkv.slice(s![.., ..h * qk]).to_owned();
        let k = qkv.slice(s![.., h * qk..2 * h * qk]).to_owned();
        let vv = qkv.slice(s![.., 2 * h * qk..]).to_owned();
        record(trace, || format!("block{b}.q"), || q.clone());
        record(trace, || format!("block{b}.k"), || k.clone());
        record(trace, || format!("block{b}.v"), || vv.clone());
        let n = x.nrows();
        let mut scores = Vec::with_capacity(h);
        let mut probs = Vec::with_capacity(h);
        let mut o = Array2::<f32>::zeros((n, h * v));
        for j in 0..h {
            let qj = q.slice(s![.., j * qk..(j + 1) * qk]);
            let kj = k.slice(s![.., j * qk..(j + 1) * qk]);
            let sc = qj.dot(&kj.t()) * self.shape.attn_scale as f32;
            let mut p = sc.clone();
            for mut row in p.rows_mut() {
                let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                row.mapv_inplace(|v| (v - m).exp());
                let sum = row.sum();
                row /= sum;
            }
            o.slice_mut(s![.., j * v..(j + 1) * v]).assign(&p.dot(&vv.slice(s![.., j * v..(j + 1) * v])));
            scores.push(sc);
            probs.push(p);
        }
        record(trace, || format!("block{b}.attn.scores"), || stack(&scores));
        record(trace, || format!("block{b}.attn.softmax"), || stack(&probs));
        record(trace, || format!("block{b}.attn.out"), || o.clone());
        x += &blk.proj.apply(o.view());
        record(trace, || format!("block{b}.resid1"), || x.clone());
        let a2 = blk.norm2.apply(x.view(), self.shape.ln_eps);
        record(trace, || format!("block{b}.ln2"), || a2.clone());
        let f1 = blk.fc1.apply(a2.view());
        record(trace, || format!("block{b}.fc1"), || f1.clone());
        let g = gelu(f1);
        record(trace, || format!("block{b}.gelu"), || g.clone());
        x += &blk.fc2.apply(g.view());
        record(trace, || format!("block{b}.resid2"), || x.clone());
        x
    }

    /// The SPViT selector `si` on the live tokens: returns the new token rows and original indices.
    fn select(
        &self,
        si: usize,
        heads: usize,
        x: &Array2<f32>,
        idx: &[usize],
        trace: &mut Option<&mut Trace<f32>>,
    ) -> (Array2<f32>, Vec<usize>) {
        let sel = &self.selectors[si];
        let (n, e) = x.dim();
        let d = e / heads;
        let half = d / 2;
        let pre = |name: &str| format!("sel{si}.{name}");
        let mut stages: [Vec<Array2<f32>>; 9] = Default::default();
        let mut p_head = Array2::<f32>::zeros((n, heads));
        let mut squeeze = Array2::<f32>::zeros((1, heads));
        for j in 0..heads {
            let a = sel.norm.apply(x.slice(s![.., j * d..(j + 1) * d]), self.shape.ln_eps);
            let zp = sel.in_proj.apply(a.view());
            let z = gelu(zp.clone());
            let g = z.slice(s![.., half..]).mean_axis(Axis(0)).expect("n > 0");
            let mut u = z.clone();
            u.slice_mut(s![.., half..]).assign(&g.broadcast((n, d - half)).expect("broadcast"));
            let o1p = sel.out1.apply(u.view());
            let o1 = gelu(o1p.clone());
            let o2p = sel.out2.apply(o1.view());
            let o2 = gelu(o2p.clone());
            let l = sel.out3.apply(o2.view());
            let diff = (&l.column(0) - &l.column(1)).insert_axis(Axis(1));
            p_head.column_mut(j).assign(&diff.column(0).mapv(sigmoid));
            squeeze[[0, j]] = g.mean().expect("d/2 > 0");
            for (k, v) in [a, zp, z, g.insert_axis(Axis(0)), o1p, o1, o2p, o2, diff].into_iter().enumerate() {
                stages[k].push(v);
            }
        }
        for (k, name) in ["ln", "z_pre", "z", "global", "o1_pre", "o1", "o2_pre", "o2", "logit"].iter().enumerate() {
            record(trace, || pre(name), || stack(&stages[k]));
        }
        record(trace, || pre("squeeze"), || squeeze.clone());
        let hp = sel.head_fc1.apply(squeeze.view());
        record(trace, || pre("hfc1_pre"), || hp.clone());
        let hg = gelu(hp);
        record(trace, || pre("hfc1"), || hg.clone());
        let wl = sel.head_fc2.apply(hg.view());
        record(trace, || pre("hfc2_pre"), || wl.clone());
        let w = wl.row(0).mapv(sigmoid);
        let wsum = w.sum();
        let prefix = self.shape.prefix_tokens();
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for t in 0..n {
            let p = if wsum == 0.0 { 1.0 } else { p_head.row(t).dot(&w) / wsum };
            if idx[t] < prefix || p >= 0.5 {
                kept.push(t);
            } else {
                dropped.push((t, p + 2f32.powi(-16)));
            }
        }
        let mut rows: Vec<Array1<f32>> = kept.iter().map(|&t| x.row(t).to_owned()).collect();
        let mut nidx: Vec<usize> = kept.iter().map(|&t| idx[t]).collect();
        if !dropped.is_empty() {
            let total: f32 = dropped.iter().map(|&(_, w)| w).sum();
            let mut pkg = Array1::<f32>::zeros(e);
            for &(t, w) in &dropped {
                pkg.scaled_add(w / total, &x.row(t));
            }
            rows.push(pkg);
            nidx.push(self.shape.tokens());
        }
        let views: Vec<_> = rows.iter().map(|r| r.view().insert_axis(Axis(0))).collect();
        let nx = concatenate(Axis(0), &views).expect("rows share E");
        record(trace, || pre("out"), || nx.clone());
        (nx, nidx)
    }
}

/// Stack per-head matrices vertically (head-major rows).
pub(crate) fn stack<T: Clone>(parts: &[Array2<T>]) -> Array2<T> {
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    concatenate(Axis(0), &views).expect("heads share width")
}
