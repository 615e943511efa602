//! `vitaccel golden`: run the golden models on an image set.

use crate::progress::bar;
use anyhow::{Context, Result};
use golden::{ForwardOptions, Trace};
use host::eval::evaluate;
use host::tensors::{Codec, TensorWriter};
use host::Dataset;
use std::path::{Path, PathBuf};

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Quantized model, or float model together with --calib.
    model: PathBuf,
    /// Image set to evaluate (labels enable accuracy).
    #[arg(long)]
    images: PathBuf,
    /// Calibration set: quantize a float model in memory and report float and integer side by side.
    #[arg(long)]
    calib: Option<PathBuf>,
    /// Evaluate only the first N images.
    #[arg(long)]
    limit: Option<usize>,
    /// Disable the token selectors (every token survives).
    #[arg(long)]
    no_prune: bool,
    /// Write every named intermediate of one image (int32 and f32 safetensors) into this directory.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Image index for --dump.
    #[arg(long, default_value_t = 0)]
    dump_index: usize,
    /// Accelerator config to check the model against.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Write a trace as a safetensors file, one tensor per stage.
fn save_trace<T: host::tensors::Elem>(trace: &Trace<T>, path: &Path) -> Result<()> {
    let mut w = TensorWriter::new();
    let mut order = Vec::new();
    for (name, v) in trace.stages() {
        let mut data: Vec<T> = v.iter().copied().collect();
        w.tensor(name, v.shape(), &mut data)?;
        order.push(name.clone());
    }
    w.metadata("stage_order", serde_json::to_string(&order)?);
    w.write(path).with_context(|| format!("writing {}", path.display()))
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let cfg = super::config(a.config.as_deref())?;
    let (int, float) = super::quantize::int_model_of(&a.model, a.calib.as_deref(), &cfg)?;
    let ds = Dataset::load(&a.images)?;
    ds.check_against(&a.images, &int.shape)?;
    let n = a.limit.unwrap_or(ds.images.len()).min(ds.images.len());
    let opts = ForwardOptions { prune: !a.no_prune };
    let pb = bar(n, "evaluating");
    let labels = ds.labels.as_ref().map(|l| &l[..n]);
    let report = evaluate(&int, float.as_ref(), &ds.images[..n], labels, &opts, |i| pb.set_position(i as u64));
    pb.finish_and_clear();
    super::print_eval(&format!("golden {}", a.model.display()), &report);
    if let Some(dir) = &a.dump {
        let img = ds.images.get(a.dump_index).with_context(|| format!("--dump-index {} out of range", a.dump_index))?;
        super::ensure_dir(dir)?;
        let mut ti = Trace::new();
        int.forward(img, &opts, Some(&mut ti));
        save_trace(&ti, &dir.join("int_trace.safetensors"))?;
        if let Some(fm) = &float {
            let mut tf = Trace::new();
            fm.forward(img, &opts, Some(&mut tf));
            save_trace(&tf, &dir.join("float_trace.safetensors"))?;
        }
        println!("  dumped {} stages of image {} to {}", ti.stages().len(), a.dump_index, dir.display());
    }
    if let Some(p) = &a.json {
        super::write_json(p, &report)?;
    }
    Ok(())
}
