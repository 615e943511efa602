//! The board backend against a fake device tree of plain files below a temporary root: a file
//! stands for /dev/uio0 (mapped: the register window), one for /dev/udmabuf0, sysfs
//! attributes are files. Nothing answers behind the registers, so the tests set STATUS and
//! CONFIG_HASH themselves and check what the driver wrote.

use super::layout::Layout;
use super::load::{load, Method};
use super::uio::wait_interrupt;
use super::*;
use crate::compile::compile_chain;
use crate::device::{self, Device, DeviceError};
use crate::testkit::{random_i8, random_linear};
use golden::synth::Rng;
use spec::isa::{self, Insn, Op};
use spec::regmap::{self, status};
use spec::AccelConfig;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PHYS: u64 = 0x7800_0000;
const BUF: usize = 1 << 20;

/// A temporary root with a fake UIO device, u-dma-buf and FPGA manager; removed on drop.
struct FakeRoot {
    root: PathBuf,
}

impl FakeRoot {
    fn new(cfg: &AccelConfig) -> FakeRoot {
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "vitaccel-board-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let f = FakeRoot { root };
        f.put("sys/class/uio/uio0/name", "vitaccel\n");
        f.put("sys/class/uio/uio0/maps/map0/addr", "0x00000000a0000000\n");
        f.put("sys/class/uio/uio0/maps/map0/size", "0x0000000000001000\n");
        f.put("sys/class/uio/uio1/name", "axi-dma\n");
        f.put_bytes("dev/uio0", &vec![0; 4096]);
        f.put("sys/class/u-dma-buf/udmabuf0/phys_addr", &format!("{PHYS:#x}\n"));
        f.put("sys/class/u-dma-buf/udmabuf0/size", &format!("{BUF}\n"));
        f.put_bytes("dev/udmabuf0", &vec![0; BUF]);
        f.put("sys/class/fpga_manager/fpga0/state", "operating\n");
        f.set_reg(regmap::CONFIG_HASH.offset, cfg.hash());
        f
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn put(&self, rel: &str, text: &str) {
        self.put_bytes(rel, text.as_bytes());
    }
    fn put_bytes(&self, rel: &str, bytes: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }
    /// A register as the file holds it (what the driver wrote).
    fn reg(&self, offset: u32) -> u32 {
        let b = std::fs::read(self.path("dev/uio0")).unwrap();
        u32::from_ne_bytes(b[offset as usize..offset as usize + 4].try_into().unwrap())
    }
    /// Set a register in the file (what the hardware would show).
    fn set_reg(&self, offset: u32, value: u32) {
        let mut b = std::fs::read(self.path("dev/uio0")).unwrap();
        b[offset as usize..offset as usize + 4].copy_from_slice(&value.to_ne_bytes());
        std::fs::write(self.path("dev/uio0"), b).unwrap();
    }
    fn buffer(&self) -> Vec<u8> {
        std::fs::read(self.path("dev/udmabuf0")).unwrap()
    }
    fn layout(&self) -> Layout {
        Layout::new(&self.root)
    }
    fn open(&self, cfg: &AccelConfig) -> Result<BoardDevice, DeviceError> {
        BoardDevice::open(&self.layout(), cfg, BoardOptions::default())
    }
}

impl Drop for FakeRoot {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.root).ok();
    }
}

fn err(r: Result<impl Sized, DeviceError>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn chain_program(cfg: &AccelConfig) -> crate::program::Program {
    let mut rng = Rng::new(5);
    let layers = vec![random_linear(&mut rng, 16, 24), random_linear(&mut rng, 24, 8)];
    compile_chain(&layers, &random_i8(&mut rng, 3, 16), cfg).unwrap()
}

#[test]
fn registers_are_the_register_maps_and_nothing_else() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    let mut dev = fake.open(&cfg).unwrap();
    assert_eq!(dev.read_reg(regmap::CONFIG_HASH.offset).unwrap(), cfg.hash());
    dev.write_reg(regmap::SCRATCH.offset, 0xdead_beef).unwrap();
    assert_eq!(fake.reg(regmap::SCRATCH.offset), 0xdead_beef);
    assert_eq!(dev.read_reg(regmap::SCRATCH.offset).unwrap(), 0xdead_beef);
    assert!(err(dev.write_reg(regmap::STATUS.offset, 1)).contains("STATUS (0x4) is read-only"));
    assert!(err(dev.read_reg(0x02)).contains("no register at offset 0x2"));
    assert!(err(dev.read_reg(0x800)).contains("no register at offset 0x800"));
    assert_eq!(dev.uio().phys, 0xa000_0000);
    let dump = dev.dump();
    for r in regmap::REGISTERS {
        assert!(dump.contains(r.name), "{dump}");
    }
    assert!(dump.contains(&format!("CONFIG_HASH  = {:#010x}", cfg.hash())), "{dump}");
}

#[test]
fn memory_is_bounds_checked_and_synced_around_every_access() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    let mut dev = fake.open(&cfg).unwrap();
    assert_eq!((dev.buffer().phys, dev.buffer().size), (PHYS, BUF as u64));
    dev.write_mem(0x100, &[1, 2, 3, 4, 5]).unwrap();
    assert_eq!(fake.buffer()[0x100..0x105], [1, 2, 3, 4, 5]);
    let sysfs = "sys/class/u-dma-buf/udmabuf0/";
    let sync = |a: &str| fake.read(&format!("{sysfs}{a}"));
    assert_eq!(
        (sync("sync_offset"), sync("sync_size"), sync("sync_direction"), sync("sync_for_device")),
        ("256".into(), "5".into(), "1".into(), "1".into())
    );
    let mut image = fake.buffer();
    image[0x2000..0x2003].copy_from_slice(&[9, 8, 7]);
    fake.put_bytes("dev/udmabuf0", &image);
    assert_eq!(dev.read_mem(0x2000, 3).unwrap(), [9, 8, 7]);
    assert_eq!(
        (sync("sync_offset"), sync("sync_size"), sync("sync_direction"), sync("sync_for_cpu")),
        ("8192".into(), "3".into(), "2".into(), "1".into())
    );
    let oob = err(dev.write_mem(BUF as u64 - 1, &[0, 0]));
    assert!(oob.contains(&format!("{:#x}+2 outside the device memory of {BUF} bytes", BUF - 1)), "{oob}");
    assert!(err(dev.read_mem(u64::MAX, 2)).contains("outside"));
    drop(dev);
    // Uncached (O_SYNC): no sync calls.
    std::fs::remove_file(fake.path(&format!("{sysfs}sync_for_device"))).unwrap();
    let opts = BoardOptions { cache: CacheMode::Uncached, ..BoardOptions::default() };
    let mut dev = BoardDevice::open(&fake.layout(), &cfg, opts).unwrap();
    dev.write_mem(0x40, &[7]).unwrap();
    assert_eq!(fake.buffer()[0x40], 7);
    assert!(!fake.path(&format!("{sysfs}sync_for_device")).exists());
}

#[test]
fn a_second_user_gets_device_busy_until_the_first_closes() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    let first = fake.open(&cfg).unwrap();
    assert!(err(fake.open(&cfg)).contains("device busy"));
    drop(first);
    fake.open(&cfg).unwrap();
}

#[test]
fn config_hash_mismatch_stops_before_any_run() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    fake.set_reg(regmap::CONFIG_HASH.offset, cfg.hash() ^ 1);
    let mut dev = fake.open(&cfg).unwrap();
    let prog = chain_program(&cfg);
    assert!(matches!(device::load(&mut dev, &prog), Err(DeviceError::ConfigMismatch { .. })));
    // Also when START is written directly: CTRL stays untouched.
    dev.write_mem(prog.insn_base, &prog.insn_bytes()).unwrap();
    dev.write_reg(regmap::INSN_COUNT.offset, prog.insns.len() as u32).unwrap();
    assert!(matches!(dev.write_reg(regmap::CTRL.offset, 1), Err(DeviceError::ConfigMismatch { .. })));
    assert_eq!(fake.reg(regmap::CTRL.offset), 0);
}

#[test]
fn start_relocates_the_program_into_a_checked_copy() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    fake.set_reg(regmap::STATUS.offset, status::DONE);
    let mut dev = fake.open(&cfg).unwrap();
    let prog = chain_program(&cfg);
    device::load(&mut dev, &prog).unwrap();
    // The fake hardware never takes START (CTRL keeps the 1 written): no run is reported done,
    // even with STATUS showing DONE (from an earlier run).
    let e = err(device::execute(&mut dev, &prog, Duration::from_millis(30)));
    assert!(e.starts_with("device timeout after 30ms (START not taken: CTRL still 1)"), "{e}");
    assert_eq!(fake.reg(regmap::CTRL.offset), 1);
    // Once it reads 0 (as the hardware's W1 register does), the run counts as started.
    fake.set_reg(regmap::CTRL.offset, 0);
    dev.wait_idle(Duration::from_millis(30)).unwrap();
    assert_eq!(fake.reg(regmap::INSN_COUNT.offset), prog.insns.len() as u32);
    let hw_base = fake.reg(regmap::INSN_BASE_LO.offset) as u64 | (fake.reg(regmap::INSN_BASE_HI.offset) as u64) << 32;
    let copy = (hw_base - PHYS) as usize;
    assert!(copy as u64 >= prog.dram_bytes && copy + prog.insns.len() * 64 <= BUF, "copy at {copy:#x}");
    assert_eq!(dev.read_reg(regmap::INSN_BASE_LO.offset).unwrap() as u64, prog.insn_base, "the host's view");
    let image = fake.buffer();
    for (i, insn) in prog.insns.iter().enumerate() {
        let moved = Insn::decode(image[copy + 64 * i..copy + 64 * (i + 1)].try_into().unwrap()).unwrap();
        let want = match insn.op {
            Op::Load(d) => Op::Load(isa::Dma { dram: d.dram + PHYS, ..d }),
            Op::Store(d) => Op::Store(isa::Dma { dram: d.dram + PHYS, ..d }),
            Op::Gemm(g) => Op::Gemm(isa::Gemm { weights: g.weights + PHYS, ..g }),
            op => op,
        };
        assert_eq!(moved.op, want, "instruction {i}");
    }
    // The program as loaded is unchanged (a second START relocates it again, not twice).
    assert_eq!(image[prog.insn_base as usize..][..prog.insns.len() * 64], prog.insn_bytes()[..]);
}

#[test]
fn an_instruction_outside_the_buffer_is_refused_before_start() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    let mut dev = fake.open(&cfg).unwrap();
    let mut prog = chain_program(&cfg);
    let i = prog.insns.iter().position(|i| matches!(i.op, Op::Load(_))).unwrap();
    if let Op::Load(d) = &mut prog.insns[i].op {
        d.dram = BUF as u64 - 64;
    }
    let e = err(device::run(&mut dev, &prog, Duration::from_secs(1)));
    assert!(e.contains(&format!("instruction {i} (Load)")) && e.contains("outside"), "{e}");
    assert_eq!(fake.reg(regmap::CTRL.offset), 0, "never started");
    // A program filling the buffer leaves no room for the relocated copy.
    dev.write_mem(BUF as u64 - 8, &[0; 8]).unwrap();
    assert!(err(dev.write_reg(regmap::CTRL.offset, 1)).contains("u-dma-buf too small"));
}

#[test]
fn a_device_that_never_finishes_times_out_with_a_register_dump() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    fake.set_reg(regmap::STATUS.offset, status::BUSY);
    fake.set_reg(regmap::INSN_DONE.offset, 17);
    let mut dev = fake.open(&cfg).unwrap();
    let prog = chain_program(&cfg);
    let t0 = Instant::now();
    let e = err(device::run(&mut dev, &prog, Duration::from_millis(50)));
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(e.starts_with("device timeout after 50ms"), "{e}");
    assert!(e.contains("STATUS       = 0x00000001  (BUSY)") && e.contains("INSN_DONE    = 0x00000011"), "{e}");
}

#[test]
fn open_says_what_is_missing() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    fake.put("sys/class/fpga_manager/fpga0/state", "write init\n");
    assert!(err(fake.open(&cfg)).contains("the PL is not programmed"));
    fake.put("sys/class/fpga_manager/fpga0/state", "operating\n");
    fake.put("sys/class/uio/uio0/name", "other\n");
    let e = err(fake.open(&cfg));
    assert!(e.contains("no UIO device named `vitaccel`") && e.contains("uio0 (other)"), "{e}");
    fake.put("sys/class/uio/uio0/name", "vitaccel\n");
    fake.put("sys/class/uio/uio0/maps/map0/size", "0x800\n");
    assert!(err(fake.open(&cfg)).contains("maps 2048 bytes, the register map needs 4096"));
    fake.put("sys/class/uio/uio0/maps/map0/size", "0x1000\n");
    std::fs::remove_file(fake.path("dev/udmabuf0")).unwrap();
    assert!(err(fake.open(&cfg)).contains("dev/udmabuf0"));
    fake.put_bytes("dev/udmabuf0", &[0; 100]);
    assert!(err(fake.open(&cfg)).contains("the file holds 100 bytes"));
}

#[test]
fn interrupt_wait_reenables_then_reads_the_count_or_times_out() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let (mut driver, mut kernel) = UnixStream::pair().unwrap();
    let k = std::thread::spawn(move || {
        let mut enable = [0u8; 4];
        kernel.read_exact(&mut enable).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        kernel.write_all(&7u32.to_ne_bytes()).unwrap();
        (u32::from_ne_bytes(enable), kernel)
    });
    assert_eq!(wait_interrupt(&mut driver, Duration::from_secs(5)).unwrap(), Some(7));
    let (enable, _kernel) = k.join().unwrap();
    assert_eq!(enable, 1);
    let t0 = Instant::now();
    assert_eq!(wait_interrupt(&mut driver, Duration::from_millis(30)).unwrap(), None);
    assert!(t0.elapsed() >= Duration::from_millis(30));
}

fn project(dir: &Path, with_shell: bool) {
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("out/vitaccel.bit.bin"), b"bits").unwrap();
    std::fs::write(dir.join("vitaccel.dtbo"), b"dtbo").unwrap();
    if with_shell {
        std::fs::write(dir.join("shell.json"), b"{}").unwrap();
    }
}

#[test]
fn load_through_the_fpga_manager_and_an_overlay() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    let proj = fake.path("proj");
    let e = load(&fake.layout(), &proj, Method::FpgaManager).unwrap_err();
    assert!(e.contains("missing") && e.contains("out/vitaccel.bit.bin") && e.contains("vitaccel.dtbo"), "{e}");
    project(&proj, false);
    std::fs::create_dir_all(fake.path("sys/kernel/config/device-tree/overlays")).unwrap();
    let steps = load(&fake.layout(), &proj, Method::FpgaManager).unwrap();
    assert_eq!(fake.read("lib/firmware/vitaccel.bit.bin"), "bits");
    assert_eq!(fake.read("lib/firmware/vitaccel.dtbo"), "dtbo");
    assert_eq!(fake.read("sys/class/fpga_manager/fpga0/flags"), "0");
    assert_eq!(fake.read("sys/kernel/config/device-tree/overlays/vitaccel/path"), "vitaccel.dtbo");
    assert!(steps.last().unwrap().contains("operating"), "{steps:?}");
    let again = load(&fake.layout(), &proj, Method::FpgaManager).unwrap_err();
    assert!(again.contains("applied already"), "{again}");
    // Without configfs overlays: the bitstream through `firmware`, and a note.
    std::fs::remove_dir_all(fake.path("sys/kernel")).unwrap();
    let steps = load(&fake.layout(), &proj, Method::FpgaManager).unwrap();
    assert_eq!(fake.read("sys/class/fpga_manager/fpga0/firmware"), "vitaccel.bit.bin");
    assert!(steps.iter().any(|s| s.contains("no overlay support")), "{steps:?}");
    fake.put("sys/class/fpga_manager/fpga0/state", "write error\n");
    assert!(load(&fake.layout(), &proj, Method::FpgaManager).unwrap_err().contains("`write error`"));
}

#[test]
fn load_as_a_kria_app() {
    let cfg = AccelConfig::small();
    let fake = FakeRoot::new(&cfg);
    let proj = fake.path("proj");
    project(&proj, false);
    assert!(load(&fake.layout(), &proj, Method::Kria).unwrap_err().contains("shell.json"));
    project(&proj, true);
    let steps = load(&fake.layout(), &proj, Method::Kria).unwrap();
    for f in ["vitaccel.bit.bin", "vitaccel.dtbo", "shell.json"] {
        assert!(fake.path("lib/firmware/xilinx/vitaccel").join(f).is_file(), "{f}");
    }
    assert!(steps.last().unwrap().contains("xmutil loadapp vitaccel"));
}
