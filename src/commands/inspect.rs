//! `vitaccel inspect`: what a model file contains.

use anyhow::Result;
use serde::Serialize;
use spec::ModelShape;
use std::path::PathBuf;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Float or quantized model file (.safetensors).
    model: PathBuf,
    /// Accelerator config (TOML/JSON) to check the model against; default config otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Serialize)]
struct BlockRow {
    block: usize,
    heads: usize,
    qk: usize,
    v: usize,
    mlp: usize,
    params: usize,
    macs_dense: usize,
    selector_before: Option<usize>,
}

#[derive(Serialize)]
struct Report {
    file: String,
    kind: &'static str,
    shape: ModelShape,
    nvit_dim: serde_json::Value,
    tokens: usize,
    params: usize,
    macs_dense: usize,
    blocks: Vec<BlockRow>,
    fits_config: Result<(), String>,
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let cfg = super::config(a.config.as_deref())?;
    let file = host::load_model(&a.model, None)?;
    let sh = file.shape();
    let n0 = sh.tokens();
    let blocks: Vec<BlockRow> = sh
        .blocks
        .iter()
        .enumerate()
        .map(|(b, blk)| BlockRow {
            block: b,
            heads: blk.heads,
            qk: blk.qk,
            v: blk.v,
            mlp: blk.mlp,
            params: sh.block_params(blk),
            macs_dense: sh.block_macs(blk, n0).total(),
            selector_before: sh.selector_before(b).map(|(s, _)| s),
        })
        .collect();
    let report = Report {
        file: a.model.display().to_string(),
        kind: match file {
            host::ModelFile::Float(_) => "float",
            host::ModelFile::Quantized(..) => "quantized",
        },
        shape: sh.clone(),
        nvit_dim: sh.nvit_dim(),
        tokens: n0,
        params: sh.params(),
        macs_dense: sh.macs_dense(),
        blocks,
        fits_config: cfg.check_model(sh).map_err(|e| e.to_string()),
    };
    println!("{} ({} model)", report.file, report.kind);
    println!(
        "  image {}x{}x{}, patch {}, {} tokens ({} prefix + {} patches), E = {}, {} classes{}",
        sh.in_chans,
        sh.img_size,
        sh.img_size,
        sh.patch_size,
        n0,
        sh.prefix_tokens(),
        sh.patches(),
        sh.embed,
        sh.num_classes,
        if sh.distilled { ", distilled" } else { "" }
    );
    println!(
        "  {:>5} {:>5} {:>4} {:>4} {:>6} {:>10} {:>14}  selector",
        "block", "heads", "qk", "v", "mlp", "params", "MACs (dense)"
    );
    for r in &report.blocks {
        let sel = r.selector_before.map(|s| format!("#{s} before")).unwrap_or_default();
        println!(
            "  {:>5} {:>5} {:>4} {:>4} {:>6} {:>10} {:>14}  {sel}",
            r.block, r.heads, r.qk, r.v, r.mlp, r.params, r.macs_dense
        );
    }
    for (i, s) in sh.selectors.iter().enumerate() {
        println!(
            "  selector {i}: before block {}, {} heads of d = {}, hidden {} / {}, head-importance hidden {}",
            s.block,
            s.heads,
            sh.selector_dim(s),
            s.hidden1,
            s.hidden2,
            s.head_hidden
        );
    }
    println!(
        "  total: {} parameters, {:.4} GMACs per image with all tokens",
        report.params,
        report.macs_dense as f64 / 1e9
    );
    match &report.fits_config {
        Ok(()) => println!("  fits the accelerator config (hash {:#010x})", cfg.hash()),
        Err(e) => println!("  DOES NOT FIT the accelerator config: {e}"),
    }
    if let Some(p) = &a.json {
        super::write_json(p, &report)?;
    }
    Ok(())
}
