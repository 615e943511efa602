//! The register window through Linux UIO: `/sys/class/uio/uioN/name` finds the device,
//! `maps/map0/{addr,size}` give the window, `/dev/uioN` is mapped for volatile register access
//! and carries the interrupt (write 1 to re-enable, then `poll` + `read` of the 4-byte count).

use super::layout::{parse_sysfs_number, Layout};
use super::mapping::Mapping;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// An open, mapped UIO device.
pub struct Uio {
    /// `/dev/uioN` (below the layout's root).
    pub dev: PathBuf,
    /// Physical address of map 0.
    pub phys: u64,
    file: File,
    map: Mapping,
}

/// Failure to find, open or map a UIO device: what is missing, by path.
pub type UioError = String;

impl Uio {
    /// Find the UIO device called `name` below `layout` and map `min_bytes` of its map 0.
    pub fn open(layout: &Layout, name: &str, min_bytes: u64, writable: bool) -> Result<Uio, UioError> {
        let (number, sysfs) = find(layout, name)?;
        let attr = |a: &str| -> Result<u64, UioError> {
            let p = sysfs.join("maps/map0").join(a);
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            parse_sysfs_number(&text).ok_or_else(|| format!("{}: not a number: {:?}", p.display(), text.trim()))
        };
        let (phys, size) = (attr("addr")?, attr("size")?);
        if size < min_bytes {
            return Err(format!(
                "UIO device {name} (uio{number}) maps {size} bytes, the register map needs {min_bytes}: wrong overlay?"
            ));
        }
        let dev = layout.dev(&format!("uio{number}"));
        let file = OpenOptions::new()
            .read(true)
            .write(writable)
            .open(&dev)
            .map_err(|e| format!("{}: {e} (run as root, or give your user access to it)", dev.display()))?;
        let map = Mapping::new(&file, min_bytes as usize, 0, writable)
            .map_err(|e| format!("mapping {}: {e}", dev.display()))?;
        Ok(Uio { dev, phys, file, map })
    }

    /// The open device file (for locking).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The register at byte `offset`, or `None` outside the mapped window.
    pub fn read(&self, offset: u32) -> Option<u32> {
        self.map.read_u32(offset as u64)
    }

    /// Write the register at byte `offset`; `None` outside the mapped window.
    pub fn write(&self, offset: u32, value: u32) -> Option<()> {
        self.map.write_u32(offset as u64, value)
    }

    /// Re-enable the interrupt and wait for it at most `timeout`: the interrupt count, or
    /// `None` on timeout.
    pub fn wait_interrupt(&self, timeout: Duration) -> std::io::Result<Option<u32>> {
        wait_interrupt(&mut &self.file, timeout)
    }
}

/// The UIO protocol on `dev`: write `1u32` (re-enable the interrupt), `poll` for input at most
/// `timeout`, then read the 4-byte interrupt count; `None` on timeout.
pub fn wait_interrupt<D: AsFd + Read + Write>(dev: &mut D, timeout: Duration) -> std::io::Result<Option<u32>> {
    dev.write_all(&1u32.to_ne_bytes())?;
    let ts = Timespec { tv_sec: timeout.as_secs() as _, tv_nsec: timeout.subsec_nanos() as _ };
    let ready = {
        let mut fds = [PollFd::new(&*dev, PollFlags::IN)];
        poll(&mut fds, Some(&ts))?
    };
    if ready == 0 {
        return Ok(None);
    }
    let mut count = [0u8; 4];
    dev.read_exact(&mut count)?;
    Ok(Some(u32::from_ne_bytes(count)))
}

/// The number and sysfs folder of the UIO device called `name`.
fn find(layout: &Layout, name: &str) -> Result<(u32, PathBuf), UioError> {
    let class = layout.uio_class();
    let entries = std::fs::read_dir(&class).map_err(|e| {
        format!(
            "{}: {e}: no UIO devices (is the overlay applied and uio_pdrv_genirq loaded with of_id=generic-uio?)",
            class.display()
        )
    })?;
    let mut seen = vec![];
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = file_name.strip_prefix("uio").and_then(|n| n.parse::<u32>().ok()) else { continue };
        let dev_name = read_trimmed(&entry.path().join("name")).unwrap_or_default();
        if dev_name == name {
            return Ok((number, entry.path()));
        }
        seen.push(format!("{file_name} ({dev_name})"));
    }
    Err(format!(
        "no UIO device named `{name}` in {} (found: {}); is the vitaccel overlay applied?",
        class.display(),
        if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
    ))
}

fn read_trimmed(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}
