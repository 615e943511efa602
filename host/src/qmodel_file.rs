//! Quantized model files: integer tensors in safetensors plus a `vitaccel_quant` JSON metadata entry
//! (model shape, scales, calibration summary). Written by `vitaccel quantize`, read by every backend.

use crate::tensors::{check_dims_fit, read_file, Codec, Elem, LoadError, TensorReader, TensorWriter};
use golden::int::{IntBlock, IntModel, IntSelector};
use golden::kernels::QLinear;
use golden::QuantReport;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use spec::numerics::{Dyadic, LayerNormParams, EXP_FRAC_BITS, LUT_SIZE, MAX_SHIFT, MULT_FRAC_BITS};
use spec::{AccelConfig, ModelShape};
use std::path::Path;

/// Version of the quantized-file layout (also covered by the CONFIG_HASH via `spec`).
pub const QFORMAT_VERSION: u32 = spec::FORMAT_VERSIONS.2;

/// The JSON metadata of a quantized model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantMeta {
    /// Must equal [`QFORMAT_VERSION`].
    pub format_version: u32,
    /// Model shape.
    pub shape: ModelShape,
    /// Real value of one logit LSB.
    pub logit_scale: f64,
    /// Real value of one residual LSB.
    pub residual_scale: f64,
    /// Calibration images used.
    pub calibration_images: usize,
}

fn qlinear(out: usize, inp: usize) -> QLinear {
    QLinear { w: Array2::zeros((out, inp)), bias: vec![0; out], requant: vec![Dyadic::ZERO; out] }
}

fn ln(n: usize) -> LayerNormParams {
    LayerNormParams { gamma: vec![0; n], beta: vec![0; n], out: Dyadic::ZERO }
}

/// An integer model of `shape` with every constant zero (filled by [`visit`]).
pub fn skeleton(shape: &ModelShape) -> IntModel {
    let e = shape.embed;
    IntModel {
        shape: shape.clone(),
        input_lut: vec![[0; LUT_SIZE]; shape.in_chans],
        patch_embed: qlinear(e, shape.patch_dim()),
        cls_token: vec![0; e],
        dist_token: shape.distilled.then(|| vec![0; e]),
        pos_embed: Array2::zeros((shape.tokens(), e)),
        blocks: shape
            .blocks
            .iter()
            .map(|b| IntBlock {
                ln1: ln(e),
                qkv: qlinear(b.qkv_width(), e),
                token_mask: vec![0; shape.tokens() + 1],
                scores: Dyadic::ZERO,
                exp_lut: [0; LUT_SIZE],
                attn_out: Dyadic::ZERO,
                proj: qlinear(e, b.attn_out_width()),
                ln2: ln(e),
                fc1: qlinear(b.mlp, e),
                gelu: [0; LUT_SIZE],
                fc2: qlinear(e, b.mlp),
            })
            .collect(),
        selectors: shape
            .selectors
            .iter()
            .map(|s| {
                let d = shape.selector_dim(s);
                IntSelector {
                    ln: ln(d),
                    in_proj: qlinear(d, d),
                    gelu_in: [0; LUT_SIZE],
                    out1: qlinear(s.hidden1, d),
                    gelu1: [0; LUT_SIZE],
                    out2: qlinear(s.hidden2, s.hidden1),
                    gelu2: [0; LUT_SIZE],
                    diff: qlinear(1, s.hidden2),
                    sigmoid: [0; LUT_SIZE],
                    head_fc1: qlinear(s.head_hidden, s.heads),
                    gelu_head: [0; LUT_SIZE],
                    head_fc2: qlinear(s.heads, s.head_hidden),
                    sigmoid_head: [0; LUT_SIZE],
                }
            })
            .collect(),
        norm: ln(e),
        head: qlinear(shape.num_classes, e),
        head_dist: shape.distilled.then(|| qlinear(shape.num_classes, e)),
        logit_scale: 0.0,
    }
}

fn vec_t<T: Elem>(c: &mut impl Codec, key: &str, v: &mut [T]) -> Result<(), LoadError> {
    let n = v.len();
    c.tensor(key, &[n], v)
}

fn dyadics(c: &mut impl Codec, name: &str, d: &mut [Dyadic]) -> Result<(), LoadError> {
    let mut m: Vec<u16> = d.iter().map(|x| x.m).collect();
    let mut s: Vec<u8> = d.iter().map(|x| x.s).collect();
    vec_t(c, &format!("{name}.mult"), &mut m)?;
    vec_t(c, &format!("{name}.shift"), &mut s)?;
    if let Some(bad) = m.iter().find(|&&v| v >= 1 << MULT_FRAC_BITS) {
        return Err(c.invalid(&format!("{name}.mult"), format!("multiplier {bad} is not below 2^15")));
    }
    if let Some(bad) = s.iter().find(|&&v| v as u32 > MAX_SHIFT) {
        return Err(c.invalid(&format!("{name}.shift"), format!("shift {bad} exceeds {MAX_SHIFT}")));
    }
    for (i, x) in d.iter_mut().enumerate() {
        *x = Dyadic { m: m[i], s: s[i] };
    }
    Ok(())
}

fn qlin(c: &mut impl Codec, name: &str, l: &mut QLinear) -> Result<(), LoadError> {
    let shape = l.w.shape().to_vec();
    c.tensor(&format!("{name}.weight"), &shape, l.w.as_slice_mut().expect("contiguous"))?;
    vec_t(c, &format!("{name}.bias"), &mut l.bias)?;
    dyadics(c, name, &mut l.requant)
}

fn lnp(c: &mut impl Codec, name: &str, p: &mut LayerNormParams) -> Result<(), LoadError> {
    vec_t(c, &format!("{name}.gamma"), &mut p.gamma)?;
    vec_t(c, &format!("{name}.beta"), &mut p.beta)?;
    dyadics(c, name, std::slice::from_mut(&mut p.out))
}

/// Visit every tensor of an integer model (the single definition of its key names and shapes).
pub fn visit(m: &mut IntModel, c: &mut impl Codec) -> Result<(), LoadError> {
    let sh = m.shape.clone();
    for (ch, lut) in m.input_lut.iter_mut().enumerate() {
        vec_t(c, &format!("input_lut.{ch}"), lut)?;
    }
    qlin(c, "patch_embed", &mut m.patch_embed)?;
    vec_t(c, "cls_token", &mut m.cls_token)?;
    if let Some(d) = &mut m.dist_token {
        vec_t(c, "dist_token", d)?;
    }
    c.tensor("pos_embed", &[sh.tokens(), sh.embed], m.pos_embed.as_slice_mut().expect("contiguous"))?;
    for (b, blk) in m.blocks.iter_mut().enumerate() {
        let k = |s: &str| format!("blocks.{b}.{s}");
        lnp(c, &k("ln1"), &mut blk.ln1)?;
        qlin(c, &k("qkv"), &mut blk.qkv)?;
        vec_t(c, &k("token_mask"), &mut blk.token_mask)?;
        dyadics(c, &k("scores"), std::slice::from_mut(&mut blk.scores))?;
        vec_t(c, &k("exp_lut"), &mut blk.exp_lut)?;
        if blk.exp_lut[0] != 1 << EXP_FRAC_BITS || blk.exp_lut.iter().any(|&e| e > 1 << EXP_FRAC_BITS) {
            return Err(c.invalid(&k("exp_lut"), "entry 0 must be exp(0) = 32768 and no entry above it".into()));
        }
        dyadics(c, &k("attn_out"), std::slice::from_mut(&mut blk.attn_out))?;
        qlin(c, &k("proj"), &mut blk.proj)?;
        lnp(c, &k("ln2"), &mut blk.ln2)?;
        qlin(c, &k("fc1"), &mut blk.fc1)?;
        vec_t(c, &k("gelu"), &mut blk.gelu)?;
        qlin(c, &k("fc2"), &mut blk.fc2)?;
    }
    for (s, sel) in m.selectors.iter_mut().enumerate() {
        let k = |n: &str| format!("selectors.{s}.{n}");
        lnp(c, &k("ln"), &mut sel.ln)?;
        qlin(c, &k("in_proj"), &mut sel.in_proj)?;
        vec_t(c, &k("gelu_in"), &mut sel.gelu_in)?;
        qlin(c, &k("out1"), &mut sel.out1)?;
        vec_t(c, &k("gelu1"), &mut sel.gelu1)?;
        qlin(c, &k("out2"), &mut sel.out2)?;
        vec_t(c, &k("gelu2"), &mut sel.gelu2)?;
        qlin(c, &k("diff"), &mut sel.diff)?;
        vec_t(c, &k("sigmoid"), &mut sel.sigmoid)?;
        qlin(c, &k("head_fc1"), &mut sel.head_fc1)?;
        vec_t(c, &k("gelu_head"), &mut sel.gelu_head)?;
        qlin(c, &k("head_fc2"), &mut sel.head_fc2)?;
        vec_t(c, &k("sigmoid_head"), &mut sel.sigmoid_head)?;
    }
    lnp(c, "norm", &mut m.norm)?;
    qlin(c, "head", &mut m.head)?;
    if let Some(hd) = &mut m.head_dist {
        qlin(c, "head_dist", hd)?;
    }
    Ok(())
}

/// Serialize a quantized model.
pub fn to_bytes(model: &IntModel, report: &QuantReport, calibration_images: usize) -> Vec<u8> {
    let meta = QuantMeta {
        format_version: QFORMAT_VERSION,
        shape: model.shape.clone(),
        logit_scale: model.logit_scale,
        residual_scale: report.residual_scale,
        calibration_images,
    };
    let mut w = TensorWriter::new();
    w.metadata("vitaccel_quant", serde_json::to_string(&meta).expect("serializable"));
    visit(&mut model.clone(), &mut w).expect("writing cannot fail");
    w.to_bytes()
}

/// Load a quantized model from bytes; optionally check it fits `hw`.
pub fn load_bytes(path: &Path, bytes: &[u8], hw: Option<&AccelConfig>) -> Result<(IntModel, QuantMeta), LoadError> {
    let mut r = TensorReader::new(path, bytes)?;
    let meta: QuantMeta = r.metadata_json("vitaccel_quant")?;
    if meta.format_version != QFORMAT_VERSION {
        return Err(r.meta_err(
            "vitaccel_quant",
            format!("format_version {} (this tool reads {QFORMAT_VERSION})", meta.format_version),
        ));
    }
    meta.shape.validate().map_err(|source| LoadError::Shape { path: path.to_path_buf(), source })?;
    if !(meta.logit_scale.is_finite() && meta.logit_scale > 0.0) {
        return Err(r.meta_err("vitaccel_quant", format!("logit_scale = {} must be finite and > 0", meta.logit_scale)));
    }
    // Informational (0 when not recorded), but never NaN or negative.
    if !(meta.residual_scale.is_finite() && meta.residual_scale >= 0.0) {
        let msg = format!("residual_scale = {} must be finite and >= 0", meta.residual_scale);
        return Err(r.meta_err("vitaccel_quant", msg));
    }
    // Every parameter takes at least one byte in the file.
    check_dims_fit(path, meta.shape.params() as u128, bytes.len())?;
    if let Some(hw) = hw {
        hw.check_model(&meta.shape).map_err(|source| LoadError::Hardware { path: path.to_path_buf(), source })?;
    }
    let mut m = skeleton(&meta.shape);
    visit(&mut m, &mut r)?;
    r.finish()?;
    m.logit_scale = meta.logit_scale;
    Ok((m, meta))
}

/// Load a quantized model file.
pub fn load(path: &Path, hw: Option<&AccelConfig>) -> Result<(IntModel, QuantMeta), LoadError> {
    load_bytes(path, &read_file(path)?, hw)
}

/// Save a quantized model file.
pub fn save(model: &IntModel, report: &QuantReport, calibration_images: usize, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, to_bytes(model, report, calibration_images))
}
