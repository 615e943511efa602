//! Post-training quantization: calibrate activation ranges on the float model, then derive every
//! integer constant of [`IntModel`] (int8 per-channel weights, int32 biases, dyadic multipliers,
//! LUTs). The formulas are listed in `docs/NUMERICS.md`.

use crate::float::{Block, FloatModel, LayerNorm, Linear, Selector};
use crate::image::Image;
use crate::int::{IntBlock, IntModel, IntSelector};
use crate::kernels::QLinear;
use crate::trace::Trace;
use crate::ForwardOptions;
use ndarray::{Array1, Array2};
use spec::numerics::{self, Dyadic, LayerNormParams, NumericsError, LN_NORM_FRAC_BITS, MAX_BIAS};
use std::collections::BTreeMap;

/// Largest int8 magnitude used for symmetric scales.
const Q8: f64 = 127.0;
/// Calibrated residual maximum maps to this int16 value (2x headroom before saturation).
const RESID_CAL: f64 = 16384.0;
/// Largest int16 gamma.
const Q16: f64 = 32767.0;
/// Sigmoid inputs beyond this magnitude give U0F8 outputs of 0 or 255 (`256 * sigmoid(8) > 255.9`).
const SIGMOID_RANGE: f64 = 8.0;
/// Smallest range used for a scale, so an all-zero tensor still gets a finite scale.
const MIN_RANGE: f64 = 1e-6;

/// Per-stage maximum absolute values observed on the calibration set.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// Stage name (as in the float trace) -> max |value|.
    pub absmax: BTreeMap<String, f64>,
    /// Images used.
    pub images: usize,
}

impl Calibration {
    /// Run the float model (with token pruning) on `images` and record every stage's range.
    pub fn collect(model: &FloatModel, images: &[Image], mut progress: impl FnMut(usize)) -> Calibration {
        let mut cal = Calibration::default();
        for (i, img) in images.iter().enumerate() {
            let mut tr = Trace::new();
            model.forward(img, &ForwardOptions::default(), Some(&mut tr));
            for (name, v) in tr.stages() {
                let m = v.iter().fold(0f64, |a, &x| a.max((x as f64).abs()));
                let e = cal.absmax.entry(name.clone()).or_insert(0.0);
                *e = e.max(m);
            }
            cal.images += 1;
            progress(i + 1);
        }
        cal
    }

    /// int8 scale of a stage: `absmax / 127`.
    fn s8(&self, name: &str) -> Result<f64, QuantError> {
        Ok(self.range(name)? / Q8)
    }

    /// int8 scale of a sigmoid input: the range is clipped at `SIGMOID_RANGE`, beyond which the
    /// U0F8 sigmoid saturates anyway, so the resolution goes where the decision is made.
    fn s8_sigmoid_input(&self, name: &str) -> Result<f64, QuantError> {
        Ok(self.range(name)?.min(SIGMOID_RANGE) / Q8)
    }

    fn range(&self, name: &str) -> Result<f64, QuantError> {
        self.absmax.get(name).map(|&m| m.max(MIN_RANGE)).ok_or_else(|| QuantError::MissingStage(name.to_string()))
    }

    /// Residual-stream scale: the largest value of every residual point maps to 2^14.
    fn residual_scale(&self, model: &FloatModel) -> f64 {
        let mut m = self
            .absmax
            .iter()
            .filter(|(k, _)| {
                k.as_str() == "embed"
                    || k.ends_with(".resid1")
                    || k.ends_with(".resid2")
                    || (k.starts_with("sel") && k.ends_with(".out"))
            })
            .fold(0f64, |a, (_, &v)| a.max(v));
        // Tokens and position embeddings are stored at the residual scale too.
        for v in model.cls_token.iter().chain(model.pos_embed.iter()).chain(model.dist_token.iter().flatten()) {
            m = m.max((*v as f64).abs());
        }
        m.max(MIN_RANGE) / RESID_CAL
    }
}

/// Quantization failures.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// The calibration has no statistics for a stage the model needs (e.g. a selector never ran).
    #[error("calibration has no statistics for stage '{0}' (was the calibration run on this model?)")]
    MissingStage(String),
    /// A scale could not be represented.
    #[error("stage '{stage}': {source}")]
    Scale {
        /// Where.
        stage: String,
        /// Why.
        source: NumericsError,
    },
}

/// Non-fatal facts about a quantization (reported, never hidden).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct QuantReport {
    /// Biases clamped to `|b| <= 2^30` (layer name, count).
    pub clamped_biases: Vec<(String, usize)>,
    /// Residual scale (real value of one int16 LSB).
    pub residual_scale: f64,
    /// Real value of one logit LSB.
    pub logit_scale: f64,
}

fn dyadic(stage: &str, r: f64) -> Result<Dyadic, QuantError> {
    Dyadic::from_real(r).map_err(|source| QuantError::Scale { stage: stage.to_string(), source })
}

/// Symmetric per-output-channel int8 weights and their scales.
fn quantize_weights(w: &Array2<f32>) -> (Array2<i8>, Vec<f64>) {
    let scales: Vec<f64> = w
        .rows()
        .into_iter()
        .map(|r| r.iter().fold(0f64, |a, &v| a.max((v as f64).abs())).max(MIN_RANGE) / Q8)
        .collect();
    let q = Array2::from_shape_fn(w.dim(), |(o, i)| (w[[o, i]] as f64 / scales[o]).round().clamp(-Q8, Q8) as i8);
    (q, scales)
}

struct Quantizer<'a> {
    cal: &'a Calibration,
    report: QuantReport,
}

impl Quantizer<'_> {
    /// Quantize a linear layer whose input has scale `s_in` and whose output channel `c` has scale
    /// `s_out(c)`; `extra` multiplies every requantization factor (folded constants).
    fn linear(
        &mut self,
        name: &str,
        l: &Linear,
        s_in: f64,
        s_out: impl Fn(usize) -> f64,
        extra: f64,
    ) -> Result<QLinear, QuantError> {
        let (w, sw) = quantize_weights(&l.w);
        let mut clamped = 0;
        let bias = (0..l.out_dim())
            .map(|c| {
                let b = (l.b[c] as f64 / (s_in * sw[c])).round();
                if b.abs() > MAX_BIAS as f64 {
                    clamped += 1;
                }
                b.clamp(-(MAX_BIAS as f64), MAX_BIAS as f64) as i32
            })
            .collect();
        if clamped > 0 {
            self.report.clamped_biases.push((name.to_string(), clamped));
        }
        let requant =
            (0..l.out_dim()).map(|c| dyadic(name, s_in * sw[c] * extra / s_out(c))).collect::<Result<_, _>>()?;
        Ok(QLinear { w, bias, requant })
    }

    /// Quantize a LayerNorm whose int8 output has scale `s_out`.
    fn layernorm(&mut self, name: &str, ln: &LayerNorm, s_out: f64) -> Result<LayerNormParams, QuantError> {
        let gmax = ln.gamma.iter().fold(0f64, |a, &g| a.max((g as f64).abs())).max(MIN_RANGE);
        let s_gamma = gmax / Q16;
        let acc_scale = s_gamma * 2f64.powi(-(LN_NORM_FRAC_BITS as i32));
        Ok(LayerNormParams {
            gamma: ln.gamma.iter().map(|&g| (g as f64 / s_gamma).round() as i16).collect(),
            beta: ln
                .beta
                .iter()
                .map(|&b| (b as f64 / acc_scale).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32)
                .collect(),
            out: dyadic(name, acc_scale / s_out)?,
        })
    }
}

fn residual_vec(v: &Array1<f32>, s_res: f64) -> Vec<i16> {
    v.iter().map(|&x| (x as f64 / s_res).round().clamp(-32768.0, 32767.0) as i16).collect()
}

/// Quantize `model` with activation ranges from `cal`.
pub fn quantize(model: &FloatModel, cal: &Calibration) -> Result<(IntModel, QuantReport), QuantError> {
    let sh = &model.shape;
    let mut q = Quantizer { cal, report: QuantReport::default() };
    let s_res = cal.residual_scale(model);
    q.report.residual_scale = s_res;

    // Input: exact per-channel table from raw pixel to int8; one per-tensor scale over channels.
    let in_range = (0..sh.in_chans)
        .flat_map(|c| [model.input_value(c, 0), model.input_value(c, sh.input.pixel_max.min(255) as u8)])
        .fold(0f64, |a, v| a.max((v as f64).abs()))
        .max(MIN_RANGE);
    let s_in = in_range / Q8;
    let input_lut = (0..sh.in_chans)
        .map(|c| {
            std::array::from_fn(|p| (model.input_value(c, p as u8) as f64 / s_in).round().clamp(-128.0, 127.0) as i8)
        })
        .collect();
    let patch_embed = q.linear("patch_embed", &model.patch_embed, s_in, |_| s_res, 1.0)?;

    let mut blocks = Vec::new();
    for (b, (blk, shape)) in model.blocks.iter().zip(&sh.blocks).enumerate() {
        blocks.push(quantize_block(&mut q, b, blk, shape, s_res, sh.attn_scale)?);
    }
    let mut selectors = Vec::new();
    for (si, sel) in model.selectors.iter().enumerate() {
        selectors.push(quantize_selector(&mut q, si, sel)?);
    }

    let s_fln = cal.s8("final.ln")?;
    let norm = q.layernorm("norm", &model.norm, s_fln)?;
    // Logits: int16 per head, summed; the 1/2 of the head average is folded into both heads.
    let mut lmax = cal.range("head.cls")?;
    if model.head_dist.is_some() {
        lmax = lmax.max(cal.range("head.dist")?);
    }
    let s_logit = lmax / RESID_CAL;
    let half = if model.head_dist.is_some() { 0.5 } else { 1.0 };
    let head = q.linear("head", &model.head, s_fln, |_| s_logit, half)?;
    let head_dist = match &model.head_dist {
        Some(hd) => Some(q.linear("head_dist", hd, s_fln, |_| s_logit, half)?),
        None => None,
    };
    q.report.logit_scale = s_logit;
    let im = IntModel {
        shape: sh.clone(),
        input_lut,
        patch_embed,
        cls_token: residual_vec(&model.cls_token, s_res),
        dist_token: model.dist_token.as_ref().map(|d| residual_vec(d, s_res)),
        pos_embed: model.pos_embed.mapv(|x| (x as f64 / s_res).round().clamp(-32768.0, 32767.0) as i16),
        blocks,
        selectors,
        norm,
        head,
        head_dist,
        logit_scale: s_logit,
    };
    Ok((im, q.report))
}

fn quantize_block(
    q: &mut Quantizer,
    b: usize,
    blk: &Block,
    shape: &spec::BlockShape,
    s_res: f64,
    attn_scale: f64,
) -> Result<IntBlock, QuantError> {
    let cal = q.cal;
    let st = |n: &str| format!("block{b}.{n}");
    let s_ln1 = cal.s8(&st("ln1"))?;
    let (s_q, s_k, s_v) = (cal.s8(&st("q"))?, cal.s8(&st("k"))?, cal.s8(&st("v"))?);
    let mmax = blk.token_mask.iter().fold(0f64, |a, &m| a.max((m as f64).abs())).max(MIN_RANGE);
    let s_mask = mmax / Q8;
    let token_mask = blk.token_mask.iter().map(|&m| (m as f64 / s_mask).round().clamp(-Q8, Q8) as i8).collect();
    let hqk = shape.heads * shape.qk;
    let qkv_scale = |c: usize| {
        if c < hqk {
            s_q
        } else if c < 2 * hqk {
            s_k
        } else {
            s_v
        }
    };
    let s_att = cal.s8(&st("attn.scores"))?;
    let s_o = cal.s8(&st("attn.out"))?;
    let (s_ln2, s_fc1, s_gelu) = (cal.s8(&st("ln2"))?, cal.s8(&st("fc1"))?, cal.s8(&st("gelu"))?);
    Ok(IntBlock {
        ln1: q.layernorm(&st("norm1"), &blk.norm1, s_ln1)?,
        qkv: q.linear(&st("qkv"), &blk.qkv, s_ln1, qkv_scale, s_mask)?,
        token_mask,
        scores: dyadic(&st("attn.scores"), s_q * s_k * attn_scale / s_att)?,
        exp_lut: numerics::exp_lut(s_att),
        attn_out: dyadic(&st("attn.out"), s_v / 256.0 / s_o)?,
        proj: q.linear(&st("proj"), &blk.proj, s_o, |_| s_res, 1.0)?,
        ln2: q.layernorm(&st("norm2"), &blk.norm2, s_ln2)?,
        fc1: q.linear(&st("fc1"), &blk.fc1, s_ln2, |_| s_fc1, 1.0)?,
        gelu: numerics::gelu_lut(s_fc1, s_gelu),
        fc2: q.linear(&st("fc2"), &blk.fc2, s_gelu, |_| s_res, 1.0)?,
    })
}

fn quantize_selector(q: &mut Quantizer, si: usize, sel: &Selector) -> Result<IntSelector, QuantError> {
    let cal = q.cal;
    let st = |n: &str| format!("sel{si}.{n}");
    let s = |n: &str| cal.s8(&st(n));
    let (s_ln, s_zp, s_z) = (s("ln")?, s("z_pre")?, s("z")?);
    let (s_o1p, s_o1, s_o2p, s_o2) = (s("o1_pre")?, s("o1")?, s("o2_pre")?, s("o2")?);
    let (s_hp, s_h) = (s("hfc1_pre")?, s("hfc1")?);
    let s_l = cal.s8_sigmoid_input(&st("logit"))?;
    let s_hw = cal.s8_sigmoid_input(&st("hfc2_pre"))?;
    // The 2-logit layer becomes one output channel computing l0 - l1 exactly (sigmoid(l0 - l1) = softmax(l)[0]).
    let diff = Linear {
        w: (&sel.out3.w.row(0) - &sel.out3.w.row(1)).insert_axis(ndarray::Axis(0)),
        b: ndarray::arr1(&[sel.out3.b[0] - sel.out3.b[1]]),
    };
    // `global` and `squeeze` are means of `z`, so they share its scale.
    Ok(IntSelector {
        ln: q.layernorm(&st("norm"), &sel.norm, s_ln)?,
        in_proj: q.linear(&st("in_proj"), &sel.in_proj, s_ln, |_| s_zp, 1.0)?,
        gelu_in: numerics::gelu_lut(s_zp, s_z),
        out1: q.linear(&st("out1"), &sel.out1, s_z, |_| s_o1p, 1.0)?,
        gelu1: numerics::gelu_lut(s_o1p, s_o1),
        out2: q.linear(&st("out2"), &sel.out2, s_o1, |_| s_o2p, 1.0)?,
        gelu2: numerics::gelu_lut(s_o2p, s_o2),
        diff: q.linear(&st("out3"), &diff, s_o2, |_| s_l, 1.0)?,
        sigmoid: numerics::sigmoid_lut(s_l),
        head_fc1: q.linear(&st("head_fc1"), &sel.head_fc1, s_z, |_| s_hp, 1.0)?,
        gelu_head: numerics::gelu_lut(s_hp, s_h),
        head_fc2: q.linear(&st("head_fc2"), &sel.head_fc2, s_h, |_| s_hw, 1.0)?,
        sigmoid_head: numerics::sigmoid_lut(s_hw),
    })
}
