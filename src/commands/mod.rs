//! One module per subcommand, plus the helpers they share.

pub mod bench;
pub mod bitstream;
pub mod board;
pub mod demo;
pub mod emulate;
pub mod golden;
pub mod inspect;
pub mod merge;
pub mod quantize;
pub mod regs;
pub mod report;
pub mod run;
pub mod synth;
pub mod verilog;

use anyhow::{Context, Result};
use host::eval::EvalReport;
use spec::AccelConfig;
use std::path::{Path, PathBuf};

/// The error of a command that needs the Verilator backend in a build without it.
#[cfg(not(feature = "verilator"))]
pub const NO_VERILATOR: &str = "this vitaccel was built without the Verilator backend (cargo feature `verilator`, \
     default on; building it needs `verilator` on PATH): use `--backend golden`, or rebuild with default features";

/// Load `--config` or use the default configuration.
pub fn config(path: Option<&Path>) -> Result<AccelConfig> {
    match path {
        Some(p) => Ok(AccelConfig::load(p)?),
        None => Ok(AccelConfig::default()),
    }
}

/// Write a value as pretty JSON, creating parent directories.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Create a directory (and parents) for outputs.
pub fn ensure_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Print an evaluation report for humans.
pub fn print_eval(title: &str, r: &EvalReport) {
    println!("{title} ({} images, pruning {}):", r.images, if r.pruning { "on" } else { "off" });
    if let Some(f) = &r.float {
        println!("  float   top-1 {:6.2} %  ({}/{})", f.top1_percent, f.correct, f.total);
    }
    if let Some(i) = &r.int {
        println!("  integer top-1 {:6.2} %  ({}/{})", i.top1_percent, i.correct, i.total);
    }
    if let Some(a) = r.top1_agreement_percent {
        println!("  float/integer prediction agreement {a:.2} %");
    }
    for (s, st) in r.stages.iter().enumerate() {
        let f = r.float_stages.get(s).map(|f| format!(" (float {:.2})", f.mean_patch_tokens)).unwrap_or_default();
        println!(
            "  selector {s} before block {}: live tokens mean {:.2} [min {}, max {}], patch tokens kept {:.2}{f} = {:.1} % cumulative",
            st.block,
            st.mean_live,
            st.min_live,
            st.max_live,
            st.mean_patch_tokens,
            100.0 * st.patch_keep_ratio
        );
    }
    if let Some(k) = &r.keep_agreement {
        println!(
            "  keep decisions float vs integer: {:.2} % of {} agree; identical kept sets on {}/{} images",
            k.rate_percent, k.decisions, k.identical_images, r.images
        );
    }
    println!(
        "  MACs per image: {:.3} M (dense {:.3} M), reduction {:.1} %",
        r.macs_mean / 1e6,
        r.macs_dense as f64 / 1e6,
        r.mac_reduction_percent
    );
}
