//! `vitaccel demo`: the README's main job.

use crate::progress::bar;
use anyhow::{bail, Result};
use golden::ForwardOptions;
use host::eval::{evaluate, EvalReport};
use host::{Dataset, ModelFile};
use serde::Serialize;
use std::path::PathBuf;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Fixture directory with model.safetensors, calib.safetensors and test.safetensors.
    #[arg(long, default_value = "fixtures/digits")]
    fixture: PathBuf,
    /// Output directory (quantized model, report.json).
    #[arg(long, default_value = "out/demo")]
    out: PathBuf,
}

#[derive(Serialize)]
struct DemoReport {
    fixture: String,
    quantized_model: String,
    calibration_images: usize,
    pruned: EvalReport,
    unpruned: EvalReport,
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let cfg = spec::AccelConfig::default();
    let model_path = a.fixture.join("model.safetensors");
    let ModelFile::Float(fm) = host::load_model(&model_path, Some(&cfg))? else {
        bail!("{} should be a float model", model_path.display());
    };
    let calib = Dataset::load(&a.fixture.join("calib.safetensors"))?;
    let test_path = a.fixture.join("test.safetensors");
    let test = Dataset::load(&test_path)?;
    test.check_against(&test_path, &fm.shape)?;
    let labels = test.labels.as_deref();
    println!("== vitaccel demo: {} ==", model_path.display());
    println!(
        "model: E = {}, dims {}, selectors before blocks {:?}",
        fm.shape.embed,
        fm.shape.nvit_dim(),
        fm.shape.selectors.iter().map(|s| s.block).collect::<Vec<_>>()
    );
    let (im, rep, _) = super::quantize::calibrate_and_quantize(&fm, &calib.images)?;
    let out = super::ensure_dir(&a.out)?;
    let qpath = out.join("model.q.safetensors");
    host::qmodel_file::save(&im, &rep, calib.images.len(), &qpath)?;
    println!("quantized on {} calibration images -> {}", calib.images.len(), qpath.display());
    let run = |prune: bool| {
        let pb = bar(test.images.len(), if prune { "pruned" } else { "unpruned" });
        let r =
            evaluate(&im, Some(&fm), &test.images, labels, &ForwardOptions { prune }, |i| pb.set_position(i as u64));
        pb.finish_and_clear();
        r
    };
    let pruned = run(true);
    let unpruned = run(false);
    super::print_eval("with token pruning", &pruned);
    super::print_eval("without token pruning", &unpruned);
    let report = DemoReport {
        fixture: a.fixture.display().to_string(),
        quantized_model: qpath.display().to_string(),
        calibration_images: calib.images.len(),
        pruned,
        unpruned,
    };
    let json = out.join("report.json");
    super::write_json(&json, &report)?;
    println!("report: {}", json.display());
    Ok(())
}
