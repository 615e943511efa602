//! Float model files: safetensors with NViT/timm key names and the `dim` + `vitaccel` metadata of
//! `docs/MODEL.md`. Shapes come from the file's `dim`, never from a table in the code.

use crate::tensors::{check_dims_fit, read_file, Codec, LoadError, TensorReader, TensorWriter};
use golden::float::{Block, FloatModel, LayerNorm, Linear, Selector};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use spec::{AccelConfig, BlockShape, InputSpec, ModelShape, SelectorShape};
use std::path::Path;

/// Version of the `vitaccel` metadata this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// NViT's `dim` structure.
#[allow(non_snake_case)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NvitDim {
    /// Embedding width.
    pub EMB: usize,
    /// Heads per block.
    pub head: Vec<usize>,
    /// Per-head Q/K width per block.
    pub QK: Vec<usize>,
    /// Per-head V width per block.
    pub V: Vec<usize>,
    /// MLP width per block.
    pub MLP: Vec<usize>,
}

/// Selector placement in the metadata (hidden widths are read from tensor shapes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectorMeta {
    /// 0-based block the selector runs before.
    pub block: usize,
    /// Selector heads.
    pub heads: usize,
}

/// The `vitaccel` metadata entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VitMeta {
    /// Must equal [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Image side.
    pub img_size: usize,
    /// Patch side.
    pub patch_size: usize,
    /// Channels.
    pub in_chans: usize,
    /// Classes.
    pub num_classes: usize,
    /// Distillation token and head present.
    pub distilled: bool,
    /// Attention scale.
    pub attn_scale: f64,
    /// LayerNorm epsilon.
    pub ln_eps: f64,
    /// Pixel normalisation.
    pub input: InputSpec,
    /// Selector placements.
    #[serde(default)]
    pub selectors: Vec<SelectorMeta>,
}

fn zeros_linear(out: usize, inp: usize) -> Linear {
    Linear { w: Array2::zeros((out, inp)), b: Array1::zeros(out) }
}

fn ones_ln(n: usize) -> LayerNorm {
    LayerNorm { gamma: Array1::ones(n), beta: Array1::zeros(n) }
}

/// A float model of `shape` with zero weights, unit LayerNorms and all-ones token masks
/// (the defaults a file may omit).
pub fn skeleton(shape: &ModelShape) -> FloatModel {
    let e = shape.embed;
    FloatModel {
        shape: shape.clone(),
        patch_embed: zeros_linear(e, shape.patch_dim()),
        cls_token: Array1::zeros(e),
        dist_token: shape.distilled.then(|| Array1::zeros(e)),
        pos_embed: Array2::zeros((shape.tokens(), e)),
        blocks: shape
            .blocks
            .iter()
            .map(|b| Block {
                norm1: ones_ln(e),
                qkv: zeros_linear(b.qkv_width(), e),
                token_mask: Array1::ones(shape.tokens() + 1),
                proj: zeros_linear(e, b.attn_out_width()),
                norm2: ones_ln(e),
                fc1: zeros_linear(b.mlp, e),
                fc2: zeros_linear(e, b.mlp),
            })
            .collect(),
        selectors: shape
            .selectors
            .iter()
            .map(|s| {
                let d = shape.selector_dim(s);
                Selector {
                    norm: ones_ln(d),
                    in_proj: zeros_linear(d, d),
                    out1: zeros_linear(s.hidden1, d),
                    out2: zeros_linear(s.hidden2, s.hidden1),
                    out3: zeros_linear(2, s.hidden2),
                    head_fc1: zeros_linear(s.head_hidden, s.heads),
                    head_fc2: zeros_linear(s.heads, s.head_hidden),
                }
            })
            .collect(),
        norm: ones_ln(e),
        head: zeros_linear(shape.num_classes, e),
        head_dist: shape.distilled.then(|| zeros_linear(shape.num_classes, e)),
    }
}

fn slice_mut<T, D: ndarray::Dimension>(a: &mut ndarray::Array<T, D>) -> &mut [T] {
    a.as_slice_mut().expect("owned arrays are contiguous")
}

fn linear(c: &mut impl Codec, name: &str, l: &mut Linear, wshape: Option<Vec<usize>>) -> Result<(), LoadError> {
    let ws = wshape.unwrap_or_else(|| l.w.shape().to_vec());
    c.tensor(&format!("{name}.weight"), &ws, slice_mut(&mut l.w))?;
    let n = l.b.len();
    c.tensor(&format!("{name}.bias"), &[n], slice_mut(&mut l.b))
}

fn layernorm(c: &mut impl Codec, name: &str, ln: &mut LayerNorm) -> Result<(), LoadError> {
    let n = ln.gamma.len();
    c.tensor(&format!("{name}.weight"), &[n], slice_mut(&mut ln.gamma))?;
    c.tensor(&format!("{name}.bias"), &[n], slice_mut(&mut ln.beta))
}

/// Visit every tensor of a float model (the single definition of the key names and shapes).
pub fn visit(m: &mut FloatModel, c: &mut impl Codec) -> Result<(), LoadError> {
    let sh = m.shape.clone();
    let (e, p) = (sh.embed, sh.patch_size);
    linear(c, "patch_embed.proj", &mut m.patch_embed, Some(vec![e, sh.in_chans, p, p]))?;
    c.tensor("cls_token", &[1, 1, e], slice_mut(&mut m.cls_token))?;
    if let Some(d) = &mut m.dist_token {
        c.tensor("dist_token", &[1, 1, e], slice_mut(d))?;
    }
    c.tensor("pos_embed", &[1, sh.tokens(), e], slice_mut(&mut m.pos_embed))?;
    for (b, blk) in m.blocks.iter_mut().enumerate() {
        let k = |s: &str| format!("blocks.{b}.{s}");
        layernorm(c, &k("norm1"), &mut blk.norm1)?;
        linear(c, &k("attn.qkv"), &mut blk.qkv, None)?;
        let n = blk.token_mask.len();
        c.optional(&k("attn.token_mask"), &[n], slice_mut(&mut blk.token_mask))?;
        linear(c, &k("attn.proj"), &mut blk.proj, None)?;
        layernorm(c, &k("norm2"), &mut blk.norm2)?;
        linear(c, &k("mlp.fc1"), &mut blk.fc1, None)?;
        linear(c, &k("mlp.fc2"), &mut blk.fc2, None)?;
    }
    layernorm(c, "norm", &mut m.norm)?;
    linear(c, "head", &mut m.head, None)?;
    if let Some(hd) = &mut m.head_dist {
        linear(c, "head_dist", hd, None)?;
    }
    for (s, sel) in m.selectors.iter_mut().enumerate() {
        let k = |n: &str| format!("selectors.{s}.{n}");
        layernorm(c, &k("norm"), &mut sel.norm)?;
        linear(c, &k("in_proj"), &mut sel.in_proj, None)?;
        linear(c, &k("out1"), &mut sel.out1, None)?;
        linear(c, &k("out2"), &mut sel.out2, None)?;
        linear(c, &k("out3"), &mut sel.out3, None)?;
        linear(c, &k("head_fc1"), &mut sel.head_fc1, None)?;
        linear(c, &k("head_fc2"), &mut sel.head_fc2, None)?;
    }
    Ok(())
}

/// Read the model shape from a file's metadata (and selector hidden widths from tensor shapes).
pub fn read_shape(r: &TensorReader) -> Result<ModelShape, LoadError> {
    let dim: NvitDim = r.metadata_json("dim")?;
    let meta: VitMeta = r.metadata_json("vitaccel")?;
    if meta.format_version != FORMAT_VERSION {
        return Err(r.meta_err(
            "vitaccel",
            format!("format_version {} (this tool reads {FORMAT_VERSION})", meta.format_version),
        ));
    }
    let depth = dim.head.len();
    if [dim.QK.len(), dim.V.len(), dim.MLP.len()].iter().any(|&l| l != depth) {
        return Err(r.meta_err(
            "dim",
            format!(
                "head/QK/V/MLP lists have different lengths {}/{}/{}/{}",
                depth,
                dim.QK.len(),
                dim.V.len(),
                dim.MLP.len()
            ),
        ));
    }
    let blocks =
        (0..depth).map(|b| BlockShape { heads: dim.head[b], qk: dim.QK[b], v: dim.V[b], mlp: dim.MLP[b] }).collect();
    let selectors = meta
        .selectors
        .iter()
        .enumerate()
        .map(|(s, sm)| {
            let d = dim.EMB.checked_div(sm.heads).unwrap_or(0);
            let rows = |name: &str, default: usize| {
                r.shape_of(&format!("selectors.{s}.{name}.weight")).and_then(|v| v.first().copied()).unwrap_or(default)
            };
            SelectorShape {
                block: sm.block,
                heads: sm.heads,
                hidden1: rows("out1", d / 2),
                hidden2: rows("out2", d / 4),
                head_hidden: rows("head_fc1", (sm.heads / 2).max(1)),
            }
        })
        .collect();
    let shape = ModelShape {
        embed: dim.EMB,
        blocks,
        img_size: meta.img_size,
        patch_size: meta.patch_size,
        in_chans: meta.in_chans,
        num_classes: meta.num_classes,
        distilled: meta.distilled,
        selectors,
        attn_scale: meta.attn_scale,
        ln_eps: meta.ln_eps,
        input: meta.input,
    };
    shape.validate().map_err(|source| LoadError::Shape { path: r.path().to_path_buf(), source })?;
    Ok(shape)
}

/// Load a float model from bytes (`path` is only used in messages); optionally check it fits `hw`.
pub fn load_bytes(path: &Path, bytes: &[u8], hw: Option<&AccelConfig>) -> Result<FloatModel, LoadError> {
    let mut r = TensorReader::new(path, bytes)?;
    let shape = read_shape(&r)?;
    // Every parameter is an f32 in the file.
    check_dims_fit(path, shape.params() as u128 * 4, bytes.len())?;
    if let Some(hw) = hw {
        hw.check_model(&shape).map_err(|source| LoadError::Hardware { path: path.to_path_buf(), source })?;
    }
    let mut m = skeleton(&shape);
    visit(&mut m, &mut r)?;
    r.finish()?;
    Ok(m)
}

/// Load a float model file; optionally check it fits `hw`.
pub fn load(path: &Path, hw: Option<&AccelConfig>) -> Result<FloatModel, LoadError> {
    load_bytes(path, &read_file(path)?, hw)
}

/// The metadata strings of a model (`dim`, `vitaccel`).
pub fn metadata(shape: &ModelShape) -> Vec<(&'static str, String)> {
    let dim = shape.nvit_dim().to_string();
    let meta = VitMeta {
        format_version: FORMAT_VERSION,
        img_size: shape.img_size,
        patch_size: shape.patch_size,
        in_chans: shape.in_chans,
        num_classes: shape.num_classes,
        distilled: shape.distilled,
        attn_scale: shape.attn_scale,
        ln_eps: shape.ln_eps,
        input: shape.input.clone(),
        selectors: shape.selectors.iter().map(|s| SelectorMeta { block: s.block, heads: s.heads }).collect(),
    };
    vec![("dim", dim), ("vitaccel", serde_json::to_string(&meta).expect("serializable"))]
}

/// Serialize a float model to safetensors bytes.
pub fn to_bytes(model: &FloatModel) -> Vec<u8> {
    let mut w = TensorWriter::new();
    for (k, v) in metadata(&model.shape) {
        w.metadata(k, v);
    }
    visit(&mut model.clone(), &mut w).expect("writing cannot fail");
    w.to_bytes()
}

/// Save a float model.
pub fn save(model: &FloatModel, path: &Path) -> std::io::Result<()> {
    std::fs::write(path, to_bytes(model))
}
