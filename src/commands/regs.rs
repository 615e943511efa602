//! `vitaccel regs`: the accelerator's register file on a board, by name (`spec::regmap`).
//! It maps the window read-only and takes no lock, so it can look at a device another
//! process is running (a run that hangs, for instance).

use anyhow::Result;
use host::device::board::layout::Layout;
use std::path::PathBuf;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Root of the board's /sys and /dev (tests, the emulator); default $VITACCEL_SYSFS_ROOT, else /.
    #[arg(long)]
    sysfs_root: Option<PathBuf>,
    /// Accelerator config whose CONFIG_HASH the device's is compared with.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Run.
#[cfg(target_os = "linux")]
pub fn run(a: Args) -> Result<()> {
    use host::device::board::{check_programmed, dump_registers, layout::UIO_NAME, uio::Uio};
    let layout = Layout::from_env(a.sysfs_root.as_deref());
    check_programmed(&layout)?;
    let uio = Uio::open(&layout, UIO_NAME, spec::regmap::WINDOW_BYTES as u64, false).map_err(anyhow::Error::msg)?;
    println!("{} (registers at {:#x}):", uio.dev.display(), uio.phys);
    print!("{}", dump_registers(|offset| uio.read(offset)));
    if let Some(path) = &a.config {
        let cfg = super::config(Some(path))?;
        let device = uio.read(spec::regmap::CONFIG_HASH.offset).unwrap_or_default();
        let verdict = if device == cfg.hash() { "matches" } else { "DIFFERS FROM" };
        println!("CONFIG_HASH {device:#010x} {verdict} {} ({:#010x})", path.display(), cfg.hash());
    }
    Ok(())
}

/// Run (the board backend is Linux only).
#[cfg(not(target_os = "linux"))]
pub fn run(a: Args) -> Result<()> {
    let _ = (a, Layout::from_env(None));
    anyhow::bail!("`vitaccel regs` needs Linux (UIO)")
}
