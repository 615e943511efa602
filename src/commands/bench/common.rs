//! Setup every benchmark shares: configs, synthetic models, devices, cycle breakdowns, output.
//!
//! The Verilator-dependent helpers are [`rtl_device`] alone; everything else builds without the
//! RTL simulator.

use crate::commands::synth::Shape;
use anyhow::Result;
use host::cycle_model::CycleModel;
use host::device::golden::GoldenDevice;
use host::model_compile::LayerKind;
use spec::isa::Insn;
use spec::AccelConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Whether this build has the RTL simulator (Verilator); the suite skips the RTL pieces
/// without it (the `verilator` cargo feature).
pub const RTL_BUILT: bool = cfg!(feature = "verilator");

/// Time limit of one program run on the RTL.
pub const RTL_TIMEOUT: Duration = Duration::from_secs(3600);
/// Time limit of one program run on the golden ISA simulator.
pub const GOLDEN_TIMEOUT: Duration = Duration::from_secs(600);

/// Load `--config` or use the default configuration.
pub fn config(path: Option<&Path>) -> Result<AccelConfig> {
    crate::commands::config(path)
}

/// `cycles` at `clock_mhz`, in milliseconds.
pub fn latency_ms(cycles: u64, clock_mhz: f64) -> f64 {
    cycles as f64 / (clock_mhz * 1e3)
}

/// PE utilization in percent: `macs` over `pes x cycles` multiply slots.
pub fn utilization_percent(macs: u64, pes: usize, cycles: u64) -> f64 {
    100.0 * macs as f64 / (pes as f64 * cycles as f64)
}

/// A synthetic model of `sh` (seeded random weights) quantized on two random calibration
/// images: the integer model and three images (the test image first).
pub fn synthetic(sh: &spec::ModelShape) -> Result<(golden::IntModel, Vec<golden::Image>)> {
    let fm = golden::synth::random_model(sh, 0, 0.0);
    let imgs = golden::synth::random_images(sh, 3, 1);
    let (im, _, _) = crate::commands::quantize::calibrate_and_quantize(&fm, &imgs[1..])?;
    Ok((im, imgs))
}

/// The device the RTL benchmarks run on: the Verilator model (the golden simulator's type stands
/// in for it in a build without the `verilator` feature, where [`rtl_device`] always fails).
#[cfg(feature = "verilator")]
pub type RtlDevice = host::device::verilator::VerilatorDevice;
/// The device the RTL benchmarks run on (never built without the `verilator` feature).
#[cfg(not(feature = "verilator"))]
pub type RtlDevice = GoldenDevice;

/// The Verilator model of `cfg` with `program` loaded (needs the RTL simulator; without the
/// `verilator` feature, an error that says so).
pub fn rtl_device(cfg: &AccelConfig, program: &host::program::Program) -> Result<RtlDevice> {
    #[cfg(feature = "verilator")]
    {
        let mut dev = host::device::verilator::VerilatorDevice::new(cfg, program.dram_bytes as usize)?;
        host::device::load(&mut dev, program)?;
        Ok(dev)
    }
    #[cfg(not(feature = "verilator"))]
    {
        let _ = (cfg, program);
        anyhow::bail!(crate::commands::NO_VERILATOR)
    }
}

/// Run one image of `cm` on the RTL: the run and its wall time in seconds.
pub fn run_image_rtl(
    cfg: &AccelConfig,
    cm: &host::model_compile::CompiledModel,
    im: &golden::IntModel,
    img: &golden::Image,
) -> Result<(host::model_compile::ImageRun, f64)> {
    let mut dev = rtl_device(cfg, &cm.program)?;
    let t0 = std::time::Instant::now();
    let run = cm.run_image(&mut dev, &im.input_patches(img), RTL_TIMEOUT)?;
    Ok((run, t0.elapsed().as_secs_f64()))
}

/// The golden ISA simulator of `cfg` with `program` loaded.
pub fn golden_device(cfg: &AccelConfig, program: &host::program::Program) -> Result<GoldenDevice> {
    let mut dev = GoldenDevice::new(cfg, program.dram_bytes as usize);
    host::device::load(&mut dev, program)?;
    Ok(dev)
}

/// Unit busy cycles per layer type (the cycle model, exact per instruction).
pub fn cycles_by_layer(model: &CycleModel, insns: &[Insn], kinds: &[LayerKind]) -> BTreeMap<String, u64> {
    let mut by = BTreeMap::new();
    for (insn, kind) in insns.iter().zip(kinds) {
        *by.entry(format!("{kind:?}")).or_default() += model.unit_cycles(insn).0;
    }
    by
}

/// Write a benchmark's figures as pretty JSON (creating the folder) and say where.
pub fn save_json(json: &Path, value: &impl serde::Serialize) -> Result<()> {
    crate::commands::write_json(json, value)?;
    println!("  saved {}", json.display());
    Ok(())
}

/// Read a benchmark's JSON back.
pub fn load_json<T: serde::de::DeserializeOwned>(json: &Path) -> Result<T> {
    let text = std::fs::read_to_string(json).map_err(|e| anyhow::anyhow!("reading {}: {e}", json.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("parsing {}: {e}", json.display()))
}

/// The value of `--shape` as typed on the command line.
pub fn shape_arg(shape: Shape) -> String {
    enum_arg(shape)
}

/// A value-enum argument as typed on the command line.
pub fn enum_arg<T: clap::ValueEnum>(value: T) -> String {
    value.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
}

/// Create a folder (and its parents).
pub fn ensure_dir(dir: &Path) -> Result<PathBuf> {
    crate::commands::ensure_dir(dir)
}

/// `--name a,b,c` for a list argument.
pub fn list_arg<T: std::fmt::Display>(values: &[T]) -> String {
    values.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// ` --config PATH` when a config was given, else nothing (the default config).
pub fn config_arg(config: Option<&Path>) -> String {
    config.map(|p| format!(" --config {}", p.display())).unwrap_or_default()
}

/// The command line of a benchmark (`vitaccel bench <what> <args> --json <json>`), recorded in
/// its JSON and in the generated results.
pub fn command_line(what: &str, args: &str, json: &Path) -> String {
    format!("vitaccel bench {what}{args} --json {}", json.display())
}

/// Paths of a plot next to `json`: `<stem>.png` and `<stem>.svg`.
pub fn plot_stem(json: &Path) -> PathBuf {
    json.with_extension("")
}
