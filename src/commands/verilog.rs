//! `vitaccel verilog`: generate the accelerator's Verilog and its generated companions.

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::PathBuf;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Accelerator config (TOML/JSON); the default 16x16 configuration otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory.
    #[arg(short, long, default_value = "out/verilog")]
    out: PathBuf,
}

#[derive(Serialize)]
struct Manifest {
    top_module: &'static str,
    config: spec::AccelConfig,
    config_hash: String,
    hw_info: String,
    format_versions: (u32, u32, u32),
    files: Vec<(String, usize, String)>,
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let cfg = super::config(a.config.as_deref())?;
    let dir = super::ensure_dir(&a.out)?;
    let t = std::time::Instant::now();
    let verilog = hdl::top_verilog(&cfg)?;
    let gen_s = t.elapsed().as_secs_f64();
    let files = [
        (format!("{}.v", hdl::TOP_MODULE), verilog),
        ("vitaccel_regs.h".to_string(), spec::regmap::to_c_header(&cfg)),
        ("regmap.json".to_string(), spec::regmap::to_json(&cfg)),
        ("REGMAP.md".to_string(), spec::regmap::to_markdown(&cfg)),
        ("ISA.md".to_string(), spec::isa::to_markdown()),
    ];
    let mut listed = Vec::new();
    for (name, text) in &files {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
        listed.push((name.clone(), text.len(), format!("{:016x}", spec::fnv1a64(text.as_bytes()))));
    }
    let manifest = Manifest {
        top_module: hdl::TOP_MODULE,
        config: cfg.clone(),
        config_hash: format!("{:#010x}", cfg.hash()),
        hw_info: format!("{:#010x}", spec::regmap::hw_info(&cfg)),
        format_versions: spec::FORMAT_VERSIONS,
        files: listed,
    };
    super::write_json(&dir.join("manifest.json"), &manifest)?;
    println!(
        "{}x{} array, {} banks x {} words, CONFIG_HASH {:#010x}: generated in {gen_s:.2} s",
        cfg.array_rows,
        cfg.array_cols,
        cfg.banks,
        cfg.bank_words,
        cfg.hash()
    );
    for (name, len, _) in &manifest.files {
        println!("  {} ({} bytes)", dir.join(name).display(), len);
    }
    println!("  {}", dir.join("manifest.json").display());
    Ok(())
}
