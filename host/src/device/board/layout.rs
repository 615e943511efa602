//! Where a board's devices appear under Linux, below a configurable root folder: `/` on a
//! board, a folder of plain files in tests and under the board emulator. The names here are
//! the ones the device-tree overlay (`vitaccel bitstream`) gives the devices.

use std::path::{Path, PathBuf};

/// Environment variable naming the root folder (default `/`); `--sysfs-root` overrides it.
pub const ROOT_ENV: &str = "VITACCEL_SYSFS_ROOT";
/// Name of the UIO device (`/sys/class/uio/uioN/name`): the overlay's node name.
pub const UIO_NAME: &str = "vitaccel";
/// Name of the u-dma-buf device (`/dev/udmabuf0`): the overlay's `device-name`.
pub const UDMABUF_NAME: &str = "udmabuf0";
/// Base name of the board files (`vitaccel.bit.bin`, `vitaccel.dtbo`) and the Kria app.
pub const APP_NAME: &str = "vitaccel";
/// Physical address of the register window: the start of the PS's M_AXI_HPM0_FPD aperture.
pub const REG_BASE: u64 = 0xA000_0000;
/// Granule of the u-dma-buf size (1 MiB: whole pages, round numbers in the overlay).
pub const UDMABUF_GRANULE: u64 = 1 << 20;

/// Bytes of u-dma-buf a program of `dram_bytes` with `insns` instructions needs: its image,
/// plus room for the relocated copy of its instructions that the board backend writes at the
/// top of the buffer (see `board::relocate`), rounded up to [`UDMABUF_GRANULE`].
pub fn udmabuf_bytes(dram_bytes: u64, insns: usize) -> u64 {
    let insn_copy = (insns * spec::isa::INSN_BYTES) as u64;
    (dram_bytes + insn_copy + 4096).div_ceil(UDMABUF_GRANULE) * UDMABUF_GRANULE
}

/// The device paths of a board below one root folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout below `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    /// `explicit` if given, else `$VITACCEL_SYSFS_ROOT`, else `/`.
    pub fn from_env(explicit: Option<&Path>) -> Self {
        match explicit {
            Some(p) => Layout::new(p),
            None => Layout::new(std::env::var_os(ROOT_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/"))),
        }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `abs` (an absolute Linux path such as `/sys/class/uio`) below the root.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// `/sys/class/uio`.
    pub fn uio_class(&self) -> PathBuf {
        self.path("/sys/class/uio")
    }

    /// `/dev/<node>`.
    pub fn dev(&self, node: &str) -> PathBuf {
        self.path("/dev").join(node)
    }

    /// The sysfs folder of u-dma-buf device `name` (`phys_addr`, `size`, `sync_*`).
    pub fn udmabuf_sysfs(&self, name: &str) -> PathBuf {
        self.path("/sys/class/u-dma-buf").join(name)
    }

    /// The first FPGA manager (`flags`, `firmware`, `state`).
    pub fn fpga_manager(&self) -> PathBuf {
        self.path("/sys/class/fpga_manager/fpga0")
    }

    /// The firmware folder the FPGA manager and the overlays load from.
    pub fn firmware_dir(&self) -> PathBuf {
        self.path("/lib/firmware")
    }

    /// The Kria app folder of `app` (`xmutil loadapp <app>`).
    pub fn kria_app_dir(&self, app: &str) -> PathBuf {
        self.path("/lib/firmware/xilinx").join(app)
    }

    /// The configfs folder of device-tree overlays.
    pub fn overlays_dir(&self) -> PathBuf {
        self.path("/sys/kernel/config/device-tree/overlays")
    }
}

/// A number from a sysfs attribute: `0x`-prefixed hex or decimal, surrounding space ignored.
pub fn parse_sysfs_number(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sit_below_the_root() {
        let l = Layout::new("/tmp/fake");
        assert_eq!(l.uio_class(), PathBuf::from("/tmp/fake/sys/class/uio"));
        assert_eq!(l.dev("uio0"), PathBuf::from("/tmp/fake/dev/uio0"));
        assert_eq!(l.kria_app_dir("vitaccel"), PathBuf::from("/tmp/fake/lib/firmware/xilinx/vitaccel"));
        assert_eq!(Layout::new("/").fpga_manager(), PathBuf::from("/sys/class/fpga_manager/fpga0"));
    }

    #[test]
    fn sysfs_numbers_parse_hex_and_decimal() {
        assert_eq!(parse_sysfs_number("0x00000000a0000000\n"), Some(0xa000_0000));
        assert_eq!(parse_sysfs_number("4096\n"), Some(4096));
        assert_eq!(parse_sysfs_number("0x"), None);
        assert_eq!(parse_sysfs_number("twelve"), None);
    }

    #[test]
    fn udmabuf_holds_the_image_and_the_instruction_copy() {
        // 1 MiB image + 100 instructions (6400 bytes) + a page: 2 MiB.
        assert_eq!(udmabuf_bytes(1 << 20, 100), 2 << 20);
        assert_eq!(udmabuf_bytes(1000, 1), 1 << 20);
        assert_eq!(udmabuf_bytes((1 << 20) - 64 - 4096, 1), 1 << 20);
        assert_eq!(udmabuf_bytes((1 << 20) - 64 - 4095, 1), 2 << 20);
    }
}
