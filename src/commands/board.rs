//! `vitaccel board`: put a bitstream project (`vitaccel bitstream` + Vivado) on the board.

use anyhow::{bail, Result};
use host::device::board::layout::Layout;
use host::device::board::load::{load, Method};
use std::path::PathBuf;

/// Arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Load the project's bitstream and overlay: FPGA manager + configfs, or a Kria app.
    Load(LoadArgs),
    /// Emulate a board below a folder: its /sys and /dev files, served by the Verilator model.
    Emulate(super::emulate::Args),
}

/// How to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LoadMethod {
    /// Copy to /lib/firmware, set the FPGA manager's flags, apply the overlay (configfs).
    FpgaManager,
    /// Install /lib/firmware/xilinx/vitaccel for `xmutil loadapp vitaccel` (KV260 images).
    Kria,
}

#[derive(clap::Args)]
struct LoadArgs {
    /// The project folder written by `vitaccel bitstream` (with Vivado's out/vitaccel.bit.bin).
    project: PathBuf,
    /// How to load.
    #[arg(long, value_enum, default_value = "fpga-manager")]
    method: LoadMethod,
    /// Root of the board's /sys, /dev and /lib/firmware; default $VITACCEL_SYSFS_ROOT, else /.
    #[arg(long)]
    sysfs_root: Option<PathBuf>,
}

/// Run.
pub fn run(a: Args) -> Result<()> {
    let l = match a.command {
        Command::Load(l) => l,
        Command::Emulate(e) => return super::emulate::run(e),
    };
    let layout = Layout::from_env(l.sysfs_root.as_deref());
    let method = match l.method {
        LoadMethod::FpgaManager => Method::FpgaManager,
        LoadMethod::Kria => Method::Kria,
    };
    match load(&layout, &l.project, method) {
        Ok(steps) => {
            for s in steps {
                println!("{s}");
            }
            Ok(())
        }
        Err(missing) => bail!("cannot load {}:\n{missing}", l.project.display()),
    }
}
