//! `vitaccel quantize`: calibrate a float model and write the integer model.

use crate::progress::bar;
use anyhow::{bail, Result};
use golden::{quantize, Calibration, FloatModel, Image, IntModel, QuantReport};
use host::{Dataset, ModelFile};
use std::path::PathBuf;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Float model file.
    model: PathBuf,
    /// Calibration image set (safetensors `images`).
    #[arg(long)]
    calib: PathBuf,
    /// Output quantized model file.
    #[arg(short, long)]
    out: PathBuf,
    /// Use at most this many calibration images.
    #[arg(long)]
    limit: Option<usize>,
    /// Accelerator config to check the model against.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Also write the quantization report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The integer model of a model file: a quantized file as it is, a float one calibrated on
/// `calib` and quantized (also returning the float model). Errors name the file at fault.
pub fn int_model_of(
    path: &std::path::Path,
    calib: Option<&std::path::Path>,
    cfg: &spec::AccelConfig,
) -> Result<(IntModel, Option<FloatModel>)> {
    match (host::load_model(path, Some(cfg))?, calib) {
        (ModelFile::Quantized(m, _), _) => Ok((m, None)),
        (ModelFile::Float(fm), Some(calib)) => {
            let ds = Dataset::load(calib)?;
            ds.check_against(calib, &fm.shape)?;
            let (im, _, _) = calibrate_and_quantize(&fm, &ds.images)?;
            Ok((im, Some(fm)))
        }
        (ModelFile::Float(_), None) => {
            bail!("{} is a float model: pass --calib <images> to quantize it", path.display())
        }
    }
}

/// Calibrate on `images` (with a progress bar) and quantize.
pub fn calibrate_and_quantize(fm: &FloatModel, images: &[Image]) -> Result<(IntModel, QuantReport, Calibration)> {
    let pb = bar(images.len(), "calibrating");
    let cal = Calibration::collect(fm, images, |i| pb.set_position(i as u64));
    pb.finish_and_clear();
    let (im, rep) = quantize(fm, &cal)?;
    Ok((im, rep, cal))
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let cfg = super::config(a.config.as_deref())?;
    let ModelFile::Float(fm) = host::load_model(&a.model, Some(&cfg))? else {
        bail!("{} is already quantized", a.model.display());
    };
    let ds = Dataset::load(&a.calib)?;
    ds.check_against(&a.calib, &fm.shape)?;
    let n = a.limit.unwrap_or(ds.images.len()).min(ds.images.len());
    if n == 0 {
        bail!("{} holds no images to calibrate on", a.calib.display());
    }
    let (im, rep, _) = calibrate_and_quantize(&fm, &ds.images[..n])?;
    host::qmodel_file::save(&im, &rep, n, &a.out)?;
    println!("quantized {} on {n} calibration images -> {}", a.model.display(), a.out.display());
    println!("  residual LSB {:.3e}, logit LSB {:.3e}", rep.residual_scale, rep.logit_scale);
    for (layer, count) in &rep.clamped_biases {
        println!("  warning: {count} biases of {layer} clamped to |b| <= 2^30");
    }
    if let Some(p) = &a.json {
        super::write_json(p, &rep)?;
    }
    Ok(())
}
