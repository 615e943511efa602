//! The program's DRAM: a physically contiguous buffer from u-dma-buf (`/dev/udmabufN`; its
//! sysfs folder gives `phys_addr` and `size` and takes `sync_for_cpu`/`sync_for_device`).
//! The accelerator's HP port is not cache coherent, so the buffer is either mapped cached with
//! an explicit sync around every device access, or uncached (`O_SYNC`) with none.

use super::layout::{parse_sysfs_number, Layout};
use super::mapping::Mapping;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// How the CPU maps the buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// Cacheable; `sync_for_device` after the CPU writes a range, `sync_for_cpu` before it
    /// reads one.
    #[default]
    Cached,
    /// Opened with `O_SYNC`: u-dma-buf maps it non-cacheable; no sync calls.
    Uncached,
}

/// Direction of a sync (u-dma-buf's `sync_direction`: DMA_TO_DEVICE = 1, DMA_FROM_DEVICE = 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sync {
    /// CPU writes are made visible to the device.
    ForDevice,
    /// Device writes are made visible to the CPU.
    ForCpu,
}

/// An open, mapped u-dma-buf.
pub struct Udmabuf {
    /// `/dev/<name>`.
    pub dev: PathBuf,
    /// Its sysfs folder.
    pub sysfs: PathBuf,
    /// Physical (bus) address of byte 0.
    pub phys: u64,
    /// Bytes.
    pub size: u64,
    /// Mapping mode.
    pub mode: CacheMode,
    _file: File,
    map: Mapping,
}

impl Udmabuf {
    /// Open and map the u-dma-buf called `name` below `layout`.
    pub fn open(layout: &Layout, name: &str, mode: CacheMode) -> Result<Udmabuf, String> {
        let sysfs = layout.udmabuf_sysfs(name);
        let attr = |a: &str| -> Result<u64, String> {
            let p = sysfs.join(a);
            let text = std::fs::read_to_string(&p).map_err(|e| {
                format!("{}: {e} (is the u-dma-buf module loaded and the overlay applied?)", p.display())
            })?;
            parse_sysfs_number(&text).ok_or_else(|| format!("{}: not a number: {:?}", p.display(), text.trim()))
        };
        let (phys, size) = (attr("phys_addr")?, attr("size")?);
        let dev = layout.dev(name);
        let mut opts = OpenOptions::new();
        opts.read(true).write(true);
        if mode == CacheMode::Uncached {
            opts.custom_flags(rustix::fs::OFlags::SYNC.bits() as i32);
        }
        let file = opts.open(&dev).map_err(|e| format!("{}: {e}", dev.display()))?;
        let map = Mapping::new(&file, size as usize, 0, true).map_err(|e| format!("mapping {}: {e}", dev.display()))?;
        Ok(Udmabuf { dev, sysfs, phys, size, mode, _file: file, map })
    }

    /// `offset..offset + len` lies inside the buffer.
    pub fn contains(&self, offset: u64, len: usize) -> bool {
        self.map.contains(offset, len)
    }

    /// Copy `data` to `offset` and make it visible to the device; `None` out of bounds.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<Option<()>, String> {
        if self.map.copy_in(offset, data).is_none() {
            return Ok(None);
        }
        self.sync(Sync::ForDevice, offset, data.len())?;
        Ok(Some(()))
    }

    /// The `len` bytes at `offset` as the device left them; `None` out of bounds.
    pub fn read(&self, offset: u64, len: usize) -> Result<Option<Vec<u8>>, String> {
        if !self.contains(offset, len) {
            return Ok(None);
        }
        self.sync(Sync::ForCpu, offset, len)?;
        Ok(self.map.copy_out(offset, len))
    }

    /// Cache maintenance of one range (cached mode only): `sync_offset`, `sync_size` and
    /// `sync_direction`, then `1` into `sync_for_device` or `sync_for_cpu`.
    pub fn sync(&self, dir: Sync, offset: u64, len: usize) -> Result<(), String> {
        if self.mode == CacheMode::Uncached || len == 0 {
            return Ok(());
        }
        let (direction, trigger) = match dir {
            Sync::ForDevice => (1, "sync_for_device"),
            Sync::ForCpu => (2, "sync_for_cpu"),
        };
        for (attr, value) in [
            ("sync_offset", offset.to_string()),
            ("sync_size", len.to_string()),
            ("sync_direction", direction.to_string()),
            (trigger, "1".to_string()),
        ] {
            let p = self.sysfs.join(attr);
            std::fs::write(&p, value).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(())
    }
}
