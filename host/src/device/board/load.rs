//! Loading a bitstream on the board: through the Linux FPGA manager and a configfs overlay, or
//! as a Kria app for `xmutil`/dfx-mgr. Each step says what it did; a missing piece is an error
//! naming every missing file or folder.

use super::layout::{Layout, APP_NAME};
use std::path::{Path, PathBuf};

/// How to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Copy `.bit.bin` and `.dtbo` to the firmware folder, set full-bitstream `flags`, apply the
    /// overlay through configfs (its `firmware-name` makes the fpga-region program the PL), or
    /// without configfs write `firmware` of the FPGA manager (bitstream only).
    FpgaManager,
    /// Install the Kria app folder (`.bit.bin`, `.dtbo`, `shell.json`) for `xmutil loadapp`.
    Kria,
}

/// The files of a project folder the board needs (`vitaccel bitstream` + Vivado).
pub struct BoardFiles {
    /// `out/vitaccel.bit.bin`.
    pub bit_bin: PathBuf,
    /// `vitaccel.dtbo`.
    pub dtbo: PathBuf,
    /// `shell.json` (Kria).
    pub shell: PathBuf,
}

impl BoardFiles {
    /// The files of project folder `dir`.
    pub fn of(dir: &Path) -> Self {
        BoardFiles {
            bit_bin: dir.join("out").join(format!("{APP_NAME}.bit.bin")),
            dtbo: dir.join(format!("{APP_NAME}.dtbo")),
            shell: dir.join("shell.json"),
        }
    }
}

/// Load the project in `dir` onto the board below `layout`. Returns the steps done and, for
/// Kria, the `xmutil` commands still to run; an error lists everything missing.
pub fn load(layout: &Layout, dir: &Path, method: Method) -> Result<Vec<String>, String> {
    let files = BoardFiles::of(dir);
    let mut needed = vec![
        (&files.bit_bin, "run Vivado on the project: `vivado -mode batch -source build.tcl`"),
        (&files.dtbo, "compile the overlay: `dtc -@ -I dts -O dtb -o vitaccel.dtbo vitaccel.dtso`"),
    ];
    if method == Method::Kria {
        needed.push((&files.shell, "write the project with `vitaccel bitstream --board kv260`"));
    }
    let mut missing: Vec<String> = needed
        .iter()
        .filter(|(p, _)| !p.is_file())
        .map(|(p, how)| format!("missing {} ({how})", p.display()))
        .collect();
    let fpga = layout.fpga_manager();
    if method == Method::FpgaManager && !fpga.is_dir() {
        missing.push(format!(
            "missing {} (a kernel with the Zynq UltraScale+ FPGA manager, CONFIG_FPGA_MGR_ZYNQMP_FPGA)",
            fpga.display()
        ));
    }
    if !missing.is_empty() {
        return Err(missing.join("\n"));
    }
    match method {
        Method::Kria => install_kria_app(layout, &files),
        Method::FpgaManager => load_with_fpga_manager(layout, &files),
    }
}

fn copy(from: &Path, to_dir: &Path, steps: &mut Vec<String>) -> Result<(), String> {
    std::fs::create_dir_all(to_dir).map_err(|e| format!("creating {}: {e}", to_dir.display()))?;
    let to = to_dir.join(from.file_name().expect("a file"));
    std::fs::copy(from, &to).map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))?;
    steps.push(format!("copied {} -> {}", from.display(), to.display()));
    Ok(())
}

fn write(path: &Path, value: &str, steps: &mut Vec<String>) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("writing `{value}` to {}: {e}", path.display()))?;
    steps.push(format!("wrote `{value}` to {}", path.display()));
    Ok(())
}

fn install_kria_app(layout: &Layout, files: &BoardFiles) -> Result<Vec<String>, String> {
    let app = layout.kria_app_dir(APP_NAME);
    let mut steps = vec![];
    for f in [&files.bit_bin, &files.dtbo, &files.shell] {
        copy(f, &app, &mut steps)?;
    }
    steps.push(format!("now run: sudo xmutil unloadapp && sudo xmutil loadapp {APP_NAME}"));
    Ok(steps)
}

fn load_with_fpga_manager(layout: &Layout, files: &BoardFiles) -> Result<Vec<String>, String> {
    let (fpga, firmware) = (layout.fpga_manager(), layout.firmware_dir());
    let mut steps = vec![];
    copy(&files.bit_bin, &firmware, &mut steps)?;
    copy(&files.dtbo, &firmware, &mut steps)?;
    write(&fpga.join("flags"), "0", &mut steps)?;
    let overlays = layout.overlays_dir();
    if overlays.is_dir() {
        let ours = overlays.join(APP_NAME);
        if ours.exists() {
            return Err(format!(
                "an overlay `{APP_NAME}` is applied already ({}): remove it first with `sudo rmdir {}`",
                ours.display(),
                ours.display()
            ));
        }
        std::fs::create_dir(&ours).map_err(|e| format!("creating {}: {e}", ours.display()))?;
        write(&ours.join("path"), &format!("{APP_NAME}.dtbo"), &mut steps)?;
    } else {
        write(&fpga.join("firmware"), &format!("{APP_NAME}.bit.bin"), &mut steps)?;
        steps.push(format!(
            "no overlay support at {} (configfs): the PL is programmed, but the UIO and u-dma-buf devices need the \
             overlay applied another way",
            overlays.display()
        ));
    }
    let state_path = fpga.join("state");
    let state = std::fs::read_to_string(&state_path).map_err(|e| format!("{}: {e}", state_path.display()))?;
    if state.trim() != "operating" {
        return Err(format!("the FPGA manager reports `{}` after loading ({})", state.trim(), state_path.display()));
    }
    steps.push(format!("FPGA manager state: {}", state.trim()));
    Ok(steps)
}
