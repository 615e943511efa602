//! `vitaccel run --model`: compile the whole model once, run every image of the run (or of its
//! `--shard`) on `--jobs` device instances, and check each image's logits and kept tokens against
//! the integer golden model exactly.

use super::shard::Shard;
use super::summary::{Header, ImageRecord, ModelRunReport, RunSource};
use super::workers::map_in_workers;
use super::{open, Args, Backend};
use anyhow::{bail, Context, Result};
use golden::{argmax, FloatModel, ForwardOptions, Image, IntModel};
use host::device::{self, Device};
use host::model_compile::{compile_model, CompiledModel, ModelOptions};
use host::Dataset;
use std::path::Path;
use std::time::{Duration, Instant};

/// Everything one image needs, shared by the worker threads.
struct Work<'a> {
    int: &'a IntModel,
    float: Option<&'a FloatModel>,
    cm: &'a CompiledModel,
    images: &'a [Image],
    labels: Option<&'a [u8]>,
    prune: bool,
    timeout: Duration,
}

impl Work<'_> {
    /// Run image `i` on `dev` (which holds the program) and in the golden models.
    fn image(&self, dev: &mut dyn Device, i: usize) -> Result<ImageRecord> {
        let img = &self.images[i];
        let got = self.cm.run_image(dev, &self.int.input_patches(img), self.timeout)?;
        let fwd = ForwardOptions { prune: self.prune };
        let want = self.int.forward(img, &fwd, None);
        let sh = &self.int.shape;
        // MACs at the live counts golden computed (selectors included when they run).
        let macs = if self.prune {
            sh.macs(&want.live)
        } else {
            sh.macs_dense() - sh.selectors.iter().map(|s| sh.selector_macs(s, sh.tokens())).sum::<usize>()
        };
        Ok(ImageRecord {
            index: i,
            label: self.labels.map(|l| l[i]),
            device_class: argmax(&got.logits),
            golden_class: argmax(&want.logits),
            float_class: self.float.map(|f| argmax(&f.forward(img, &fwd, None).logits)),
            logits_exact: got.logits == want.logits,
            kept_exact: !self.prune || got.kept == want.kept,
            live_after_selector: got.kept.iter().map(|k| k.len()).collect(),
            cycles: got.stats.cycles,
            macs: macs as u64,
            device_wall_seconds: got.stats.wall_seconds,
        })
    }
}

/// Device instances to run on: `--jobs`, else the cores; one for the board (a single device).
fn jobs(a: &Args) -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(match (a.backend, a.jobs.map(|j| j.get())) {
        (Backend::Board, Some(j)) if j > 1 => {
            bail!("--jobs {j}: the board backend drives one device; run it with --jobs 1 (or shard across boards)")
        }
        (Backend::Board, _) => 1,
        (_, Some(j)) => j,
        (_, None) => cores,
    })
}

/// FNV-1a 64 of a file's bytes, in hex.
fn file_fingerprint(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:016x}", spec::fnv1a64(&bytes)))
}

/// FNV-1a 64 of a program's instructions and data segments, in hex.
fn program_fingerprint(cm: &CompiledModel) -> String {
    let p = &cm.program;
    let mut all = p.insn_base.to_le_bytes().to_vec();
    all.extend(p.insn_bytes());
    for s in &p.segments {
        all.extend(s.addr.to_le_bytes());
        all.extend((s.bytes.len() as u64).to_le_bytes());
        all.extend(&s.bytes);
    }
    format!("{:016x}", spec::fnv1a64(&all))
}

/// Run.
pub fn run_model(a: Args) -> Result<()> {
    let cfg = crate::commands::config(a.config.as_deref())?;
    let path = a.model.as_ref().expect("checked by the caller");
    let Some(images) = &a.images else { bail!("--model needs --images <image set>") };
    let jobs = jobs(&a)?;
    let (int, float) = crate::commands::quantize::int_model_of(path, a.calib.as_deref(), &cfg)?;
    let ds = Dataset::load(images)?;
    ds.check_against(images, &int.shape)?;
    let total = a.limit.unwrap_or(ds.images.len()).min(ds.images.len());
    let range = a.shard.unwrap_or(Shard::WHOLE).range(total);
    let prune = !a.no_prune && !int.shape.selectors.is_empty();
    let cm = compile_model(&int, &cfg, ModelOptions { prune, ..ModelOptions::default() })?;
    let source = RunSource {
        model: path.display().to_string(),
        model_fnv1a64: file_fingerprint(path)?,
        calib_fnv1a64: a.calib.as_deref().map(file_fingerprint).transpose()?,
        images: images.display().to_string(),
        images_fnv1a64: file_fingerprint(images)?,
        config_hash: format!("{:#010x}", cfg.hash()),
        clock_mhz: cfg.clock_mhz,
        program_fnv1a64: program_fingerprint(&cm),
        images_in_run: total,
        tokens: int.shape.tokens(),
    };
    let work = Work {
        int: &int,
        float: float.as_ref(),
        cm: &cm,
        images: &ds.images,
        labels: ds.labels.as_deref(),
        prune,
        timeout: Duration::from_secs(a.timeout_s),
    };
    let t0 = Instant::now();
    let pb = crate::progress::bar(range.len(), &format!("{:?}", a.backend).to_lowercase());
    let board = a.board();
    let open_device = || -> Result<Box<dyn Device>> {
        let mut dev = open(a.backend, &cfg, cm.program.dram_bytes as usize, board)?;
        device::load(dev.as_mut(), &cm.program)?;
        Ok(dev)
    };
    let records = map_in_workers(
        range.clone(),
        jobs,
        open_device,
        |dev, i| work.image(dev.as_mut(), i).with_context(|| format!("image {i}")),
        || pb.inc(1),
    )
    .map_err(|e| e.context("running the images"))?;
    pb.finish_and_clear();
    let header = Header {
        backend: a.backend,
        array: (cfg.array_rows, cfg.array_cols),
        source,
        shard: a.shard,
        pruning: prune,
        selectors: cm.kept_at.len(),
        labelled: ds.labels.is_some(),
        float_reference: float.is_some(),
        instructions: cm.program.insns.len(),
        wall_seconds: t0.elapsed().as_secs_f64(),
    };
    let report = ModelRunReport::summarize(header, records);
    report.print();
    println!("  {} device instance(s) in parallel", jobs.min(range.len()).max(1));
    if let Some(p) = &a.json {
        crate::commands::write_json(p, &report)?;
    }
    if let Some(i) = report.first_inexact() {
        bail!(
            "image {i}: device logits or kept tokens differ from the golden model (rerun the co-simulation test for \
             the first differing stage)"
        );
    }
    Ok(())
}
