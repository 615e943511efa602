//! The emulated board: `vitaccel board emulate` (the built binary, a separate process) on a
//! temporary root, and the unchanged board backend pointed at it.

use host::device::board::emulator::READY_FILE;
use host::device::board::layout::{udmabuf_bytes, Layout, UDMABUF_GRANULE};
use host::device::board::{BoardDevice, BoardOptions};
use host::device::{Device, DeviceError};
use spec::AccelConfig;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Instructions the buffer of an emulated board leaves room for in its relocated copy.
const MAX_INSNS: usize = 1 << 14;

/// A running `vitaccel board emulate` on its own temporary root; stopped (SIGTERM, then
/// SIGKILL after 5 s), reaped and its root removed on drop.
pub struct Emulator {
    /// The emulator's process.
    pub child: Child,
    /// Its root folder.
    pub root: PathBuf,
}

impl Emulator {
    /// Start an emulator of `cfg` with a u-dma-buf of `buffer_bytes` (rounded up to whole
    /// MiB), plus `extra` arguments, and wait until it serves.
    pub fn start(cfg: &AccelConfig, buffer_bytes: u64, extra: &[&str]) -> Emulator {
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "vitaccel-emu-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&root).unwrap();
        let config = root.join("config.json");
        std::fs::write(&config, serde_json::to_string(cfg).unwrap()).unwrap();
        let mib = buffer_bytes.div_ceil(UDMABUF_GRANULE).to_string();
        let child = Command::new(env!("CARGO_BIN_EXE_vitaccel"))
            .args(["board", "emulate", "--root"])
            .arg(&root)
            .arg("--config")
            .arg(&config)
            .args(["--buffer-mib", &mib])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the vitaccel binary starts");
        let mut emu = Emulator { child, root };
        let t0 = Instant::now();
        while !emu.root.join(READY_FILE).exists() {
            if let Some(status) = emu.child.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(emu.child.stderr.as_mut().unwrap(), &mut err).unwrap();
                panic!("the board emulator exited ({status}) before it was ready: {err}");
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "the board emulator is not ready after 60 s");
            std::thread::sleep(Duration::from_millis(5));
        }
        emu
    }

    /// The board's layout.
    pub fn layout(&self) -> Layout {
        Layout::new(&self.root)
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The board backend on this emulator, for `cfg`.
    pub fn open(&self, cfg: &AccelConfig) -> Result<BoardDevice, DeviceError> {
        BoardDevice::open(&self.layout(), cfg, BoardOptions::default())
    }

    /// Send SIGTERM and wait at most `within` for the process to exit: its exit status.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: a signal to our own child, which we have not reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if t0.elapsed() > within {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if self.terminate(Duration::from_secs(5)).is_none() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
        std::fs::remove_dir_all(&self.root).ok();
    }
}

/// The board backend on its own emulator: a [`Device`] that stops the emulator when dropped.
pub struct EmulatedBoard {
    // Declared first: dropped (unmapped, unlocked) before the emulator stops.
    dev: BoardDevice,
    _emulator: Emulator,
}

impl EmulatedBoard {
    /// A fresh emulated board for `cfg` whose buffer holds `mem_bytes` of program memory plus
    /// the relocated copy of up to [`MAX_INSNS`] instructions.
    pub fn new(cfg: &AccelConfig, mem_bytes: usize) -> EmulatedBoard {
        let emulator = Emulator::start(cfg, udmabuf_bytes(mem_bytes as u64, MAX_INSNS), &[]);
        let dev = emulator.open(cfg).expect("the board backend opens the emulated board");
        EmulatedBoard { dev, _emulator: emulator }
    }
}

impl Device for EmulatedBoard {
    fn config(&self) -> &AccelConfig {
        self.dev.config()
    }
    fn name(&self) -> &'static str {
        self.dev.name()
    }
    fn write_mem(&mut self, addr: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.dev.write_mem(addr, data)
    }
    fn read_mem(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, DeviceError> {
        self.dev.read_mem(addr, len)
    }
    fn write_reg(&mut self, offset: u32, value: u32) -> Result<(), DeviceError> {
        self.dev.write_reg(offset, value)
    }
    fn read_reg(&mut self, offset: u32) -> Result<u32, DeviceError> {
        self.dev.read_reg(offset)
    }
    fn wait_idle(&mut self, timeout: Duration) -> Result<(), DeviceError> {
        self.dev.wait_idle(timeout)
    }
}
