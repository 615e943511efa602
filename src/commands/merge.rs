//! `vitaccel merge`: the JSON reports of the shards of one run (`run --model ... --shard K/N
//! --json`) into the report of the whole run, recomputed from the per-image records exactly as the
//! unsharded run computes it. `wall_seconds` of the merge is the sum of the shards' (host time
//! spent, not the elapsed time of shards run side by side); every other figure equals the
//! unsharded run's.

use super::run::summary::{ModelRunReport, RunSource};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The shards' JSON reports, in any order (all N shards of one run, each once).
    #[arg(required = true)]
    reports: Vec<PathBuf>,
    /// Where to write the merged JSON report.
    #[arg(short, long)]
    out: PathBuf,
}

/// Read one shard's report.
fn load(path: &Path) -> Result<ModelRunReport> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!("{}: not the JSON report of a `vitaccel run --model` (this vitaccel's format)", path.display())
    })
}

/// The fields of `s` that differ from `first`'s, by name.
fn source_differences(first: &RunSource, s: &RunSource) -> Vec<&'static str> {
    let fields = [
        ("model file", first.model_fnv1a64 != s.model_fnv1a64),
        ("calibration set", first.calib_fnv1a64 != s.calib_fnv1a64),
        ("image set", first.images_fnv1a64 != s.images_fnv1a64),
        ("accelerator configuration", first.config_hash != s.config_hash || first.clock_mhz != s.clock_mhz),
        ("compiled program", first.program_fnv1a64 != s.program_fnv1a64),
        ("images in the run (--limit)", first.images_in_run != s.images_in_run),
    ];
    fields.iter().filter(|(_, differ)| *differ).map(|(name, _)| *name).collect()
}

/// Check that `reports` are the N distinct shards of one run, covering each image once, and merge.
pub fn merge(reports: &[(PathBuf, ModelRunReport)]) -> Result<ModelRunReport> {
    let Some((first_path, first)) = reports.first() else { bail!("nothing to merge") };
    let name = |p: &Path| p.display().to_string();
    let mut seen: Vec<Option<&Path>> = Vec::new();
    for (path, r) in reports {
        let Some(shard) = r.shard else {
            bail!("{}: not a shard (run without --shard); it is already the whole run", name(path))
        };
        let first_shard = first.shard.expect("checked above");
        if shard.count != first_shard.count {
            bail!(
                "{} is shard {shard} but {} is shard {first_shard}: shards of different splits",
                name(path),
                name(first_path)
            );
        }
        let differ = source_differences(&first.source, &r.source);
        let settings = [
            ("backend", r.backend != first.backend),
            ("array", r.array != first.array),
            ("pruning (--no-prune)", r.pruning != first.pruning),
            ("selectors", r.mean_live_after_selector.len() != first.mean_live_after_selector.len()),
            ("labels", r.device_top1_percent.is_some() != first.device_top1_percent.is_some()),
            ("float reference", r.float_top1_percent.is_some() != first.float_top1_percent.is_some()),
        ];
        let differ: Vec<&str> =
            differ.into_iter().chain(settings.iter().filter(|(_, d)| *d).map(|(n, _)| *n)).collect();
        if !differ.is_empty() {
            bail!(
                "{} and {} are not shards of the same run: their {} differ",
                name(first_path),
                name(path),
                differ.join(", ")
            );
        }
        seen.resize(shard.count, None);
        if let Some(other) = seen[shard.index].replace(path) {
            bail!("shard {shard} is given twice: {} and {}", name(other), name(path));
        }
        let want = shard.range(r.source.images_in_run);
        let got: Vec<usize> = r.per_image.iter().map(|i| i.index).collect();
        if got != want.clone().collect::<Vec<_>>() || r.images != got.len() {
            bail!(
                "{}: shard {shard} should hold images {}..{}, its per-image records do not",
                name(path),
                want.start,
                want.end
            );
        }
    }
    let missing: Vec<String> =
        seen.iter().enumerate().filter(|(_, p)| p.is_none()).map(|(k, _)| format!("{k}/{}", seen.len())).collect();
    if !missing.is_empty() {
        bail!("shard(s) {} missing: a merge needs every shard of the run", missing.join(", "));
    }
    let mut header = first.header();
    header.shard = None;
    header.wall_seconds = reports.iter().map(|(_, r)| r.wall_seconds).sum();
    let images = reports.iter().flat_map(|(_, r)| r.per_image.iter().cloned()).collect();
    Ok(ModelRunReport::summarize(header, images))
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let reports = a.reports.iter().map(|p| Ok((p.clone(), load(p)?))).collect::<Result<Vec<_>>>()?;
    let merged = merge(&reports)?;
    merged.print();
    println!("  merged from {} shards (wall: the sum of theirs)", reports.len());
    super::write_json(&a.out, &merged)?;
    if let Some(i) = merged.first_inexact() {
        bail!("image {i}: device logits or kept tokens differ from the golden model");
    }
    Ok(())
}
