//! `vitaccel board emulate --root DIR`: a board without a board. Creates the device files the
//! board backend opens below DIR and serves the Verilator model behind them until SIGTERM or
//! SIGINT, until DIR (or its `emulator.pid`) is removed, or until the process that started
//! it exits.

use anyhow::{bail, Result};
use std::path::PathBuf;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Folder standing for the board's `/` (made if missing); run the board backend with
    /// `--sysfs-root DIR` or `VITACCEL_SYSFS_ROOT=DIR`.
    #[arg(long)]
    root: PathBuf,
    /// Accelerator config (TOML/JSON) of the emulated bitstream; default 16x16.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Size of the emulated u-dma-buf in MiB (`vitaccel bitstream --model` sizes the real one).
    #[arg(long, default_value_t = 64)]
    buffer_mib: u64,
    /// Fault injection: take START but never finish (the host's timeout must catch it).
    #[arg(long)]
    hang: bool,
}

/// Run.
#[cfg(all(feature = "verilator", target_os = "linux"))]
pub fn run(a: Args) -> Result<()> {
    use host::device::board::emulator::{Emulator, EmulatorOptions, READY_FILE};
    use std::sync::atomic::{AtomicBool, Ordering};

    static STOP: AtomicBool = AtomicBool::new(false);
    extern "C" fn on_signal(_: libc::c_int) {
        STOP.store(true, Ordering::Relaxed);
    }
    // SAFETY: the handler only stores to an atomic (async-signal-safe); PR_SET_PDEATHSIG takes
    // a signal number and changes nothing else.
    unsafe {
        for sig in [libc::SIGTERM, libc::SIGINT] {
            libc::signal(sig, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t);
        }
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
    }
    let pid_file = a.root.join(READY_FILE);
    if let Some(pid) = std::fs::read_to_string(&pid_file).ok().and_then(|t| t.trim().parse::<libc::pid_t>().ok()) {
        // SAFETY: signal 0 only asks whether the process exists.
        if unsafe { libc::kill(pid, 0) } == 0 {
            bail!("an emulator (process {pid}) already serves {}: stop it first", a.root.display());
        }
    }
    let cfg = super::config(a.config.as_deref())?;
    let opts = EmulatorOptions { buffer_bytes: a.buffer_mib << 20, hang: a.hang, ..EmulatorOptions::default() };
    let mut emu = match Emulator::create(&a.root, &cfg, opts) {
        Ok(e) => e,
        Err(e) => bail!("cannot emulate a board below {}: {e}", a.root.display()),
    };
    eprintln!(
        "emulating a {}x{} board (CONFIG_HASH {:#010x}, {} MiB u-dma-buf) below {}; ready when {} appears",
        cfg.array_rows,
        cfg.array_cols,
        cfg.hash(),
        a.buffer_mib,
        a.root.display(),
        READY_FILE
    );
    if let Err(e) = emu.serve(&STOP) {
        bail!("board emulator: {e}");
    }
    Ok(())
}

/// The emulator needs the Verilator model and Linux.
#[cfg(not(all(feature = "verilator", target_os = "linux")))]
pub fn run(a: Args) -> Result<()> {
    let _ = (a.root, a.config, a.buffer_mib, a.hang);
    bail!("the board emulator needs Linux and the Verilator backend (cargo feature `verilator`)")
}
