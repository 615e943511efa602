//! Faults on the emulated board (`vitaccel board emulate` + the board backend): each ends in a
//! clear error, never a panic or a hang, and leaves no process behind.

use crate::emulated::Emulator;
use golden::synth::Rng;
use host::compile::{chain_reference, compile_chain};
use host::device::golden::GoldenDevice;
use host::device::{self, Device, DeviceError};
use host::program::Program;
use host::testkit::{random_i8, random_linear};
use spec::isa::{self, Insn, Op};
use spec::regmap;
use spec::AccelConfig;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

const BUF: u64 = 1 << 20;

/// A two-layer chain `m x k -> dims...` and its expected output (from the golden model).
fn chain(cfg: &AccelConfig, seed: u64, m: usize, dims: &[usize]) -> (Program, ndarray::Array2<u8>) {
    let mut rng = Rng::new(seed);
    let layers: Vec<_> = dims.windows(2).map(|w| random_linear(&mut rng, w[0], w[1])).collect();
    let x = random_i8(&mut rng, m, dims[0]);
    let want = chain_reference(&layers, &x).mapv(|v| v as u8);
    (compile_chain(&layers, &x, cfg).unwrap(), want)
}

fn run_exact(dev: &mut dyn Device, prog: &Program, want: &ndarray::Array2<u8>) {
    device::run(dev, prog, Duration::from_secs(60)).unwrap();
    assert_eq!(&device::read_outputs(dev, prog).unwrap()[0], want);
}

fn error(r: Result<impl Sized, DeviceError>) -> DeviceError {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// No process with this id exists (it was reaped, not left behind).
fn gone(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) != 0 }
}

#[test]
fn config_hash_mismatch_stops_before_any_run() {
    let host_cfg = AccelConfig::small();
    let emu = Emulator::start(&AccelConfig::default(), BUF, &[]);
    let mut dev = emu.open(&host_cfg).unwrap();
    let (prog, _) = chain(&host_cfg, 1, 4, &[16, 8]);
    match error(device::run(&mut dev, &prog, Duration::from_secs(5))) {
        DeviceError::ConfigMismatch { device, host } => {
            assert_eq!((device, host), (AccelConfig::default().hash(), host_cfg.hash()))
        }
        e => panic!("{e}"),
    }
    assert_eq!(dev.read_reg(regmap::INSN_DONE.offset).unwrap(), 0, "nothing ran");
}

#[test]
fn a_device_that_never_finishes_times_out_with_a_register_dump() {
    let cfg = AccelConfig::small();
    let mut emu = Emulator::start(&cfg, BUF, &["--hang"]);
    let mut dev = emu.open(&cfg).unwrap();
    let (prog, _) = chain(&cfg, 2, 4, &[16, 8]);
    let t0 = Instant::now();
    let e = error(device::run(&mut dev, &prog, Duration::from_millis(200))).to_string();
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert!(e.starts_with("device timeout after 200ms (STATUS.BUSY still set); registers:"), "{e}");
    assert!(e.contains("STATUS       = 0x00000001  (BUSY)") && e.contains("CTRL         = 0x00000000"), "{e}");
    drop(dev);
    // SIGTERM stops it cleanly, even with a run in progress.
    let pid = emu.child.id();
    let status = emu.terminate(Duration::from_secs(5)).expect("the emulator exits on SIGTERM");
    assert!(status.success(), "{status}");
    assert!(gone(pid));
}

#[test]
fn an_instruction_outside_the_buffer_is_refused_and_the_board_still_works() {
    let cfg = AccelConfig::small();
    let emu = Emulator::start(&cfg, BUF, &[]);
    let mut dev = emu.open(&cfg).unwrap();
    let (good, want) = chain(&cfg, 3, 5, &[24, 16, 8]);
    let mut bad = good.clone();
    let i = bad.insns.iter().position(|i| matches!(i.op, Op::Load(_))).unwrap();
    if let Op::Load(d) = &mut bad.insns[i].op {
        d.dram = BUF - 64; // two rows from here reach past the buffer's end
        d.rows = 2;
    }
    let e = error(device::run(&mut dev, &bad, Duration::from_secs(5))).to_string();
    assert!(e.contains(&format!("instruction {i} (Load)")) && e.contains("outside"), "{e}");
    assert_eq!(dev.read_reg(regmap::INSN_DONE.offset).unwrap(), 0, "never started");
    run_exact(&mut dev, &good, &want);
}

#[test]
fn the_emulator_killed_mid_run_is_a_timeout_not_a_hang() {
    let cfg = AccelConfig::small();
    let mut emu = Emulator::start(&cfg, 8 << 20, &[]);
    let mut dev = emu.open(&cfg).unwrap();
    // About 800k cycles: far longer than the watcher below needs to see BUSY.
    let (prog, _) = chain(&cfg, 4, 32, &[256, 1024, 1024, 256]);
    let window = emu.layout().dev("uio0");
    let pid = emu.child.id();
    let killer = std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            let regs = std::fs::read(&window).unwrap();
            let status = u32::from_ne_bytes(regs[4..8].try_into().unwrap());
            if status & regmap::status::BUSY != 0 {
                // SAFETY: our test's own child process.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                return true;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        false
    });
    let e = error(device::run(&mut dev, &prog, Duration::from_secs(2))).to_string();
    assert!(killer.join().unwrap(), "the run never showed BUSY");
    assert!(e.starts_with("device timeout after 2s (STATUS.BUSY still set)"), "{e}");
    assert_eq!(emu.child.wait().unwrap().signal(), Some(libc::SIGKILL));
    assert!(gone(pid));
}

#[test]
fn a_truncated_program_stops_with_the_golden_models_error() {
    let cfg = AccelConfig::small();
    let (prog, _) = chain(&cfg, 5, 6, &[16, 24, 8]);
    // The stream ends in the middle of instruction `k`: the rest of it and everything after
    // reads as erased memory (0xff) while INSN_COUNT still covers the whole program.
    let k = prog.insns.len() / 2;
    let mut bytes = prog.insn_bytes();
    bytes[k * isa::INSN_BYTES + isa::INSN_BYTES / 2..].fill(0xff);
    assert!(Insn::decode(bytes[k * isa::INSN_BYTES..][..isa::INSN_BYTES].try_into().unwrap()).is_err());
    let stop = |dev: &mut dyn Device| {
        device::load(dev, &prog).unwrap();
        dev.write_mem(prog.insn_base, &bytes).unwrap();
        let e = error(device::execute(dev, &prog, Duration::from_secs(10)));
        (e.to_string(), dev.read_reg(regmap::INSN_DONE.offset).unwrap())
    };
    let emu = Emulator::start(&cfg, BUF, &[]);
    let board = stop(&mut emu.open(&cfg).unwrap());
    let golden = stop(&mut GoldenDevice::new(&cfg, BUF as usize));
    assert_eq!(board, golden);
    assert!(board.0.contains(&format!("at instruction {k}")), "{board:?}");
}

#[test]
fn a_second_process_gets_device_busy() {
    let cfg = AccelConfig::small();
    let emu = Emulator::start(&cfg, BUF, &[]);
    let cli = || {
        Command::new(env!("CARGO_BIN_EXE_vitaccel"))
            .args(["run", "--backend", "board", "--chain", "8,16,8", "--timeout-s", "10", "--sysfs-root"])
            .arg(emu.root())
            .arg("--config")
            .arg(emu.root().join("config.json"))
            .output()
            .unwrap()
    };
    let first = emu.open(&cfg).unwrap();
    let t0 = Instant::now();
    let out = cli();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && t0.elapsed() < Duration::from_secs(10));
    assert!(stderr.contains("device busy") && stderr.contains("dev/uio0 is in use by another process"), "{stderr}");
    drop(first);
    let out = cli();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("output EQUALS the golden model"));
}

#[test]
fn the_emulator_stops_when_its_root_goes() {
    let cfg = AccelConfig::small();
    let mut emu = Emulator::start(&cfg, BUF, &[]);
    let pid = emu.child.id();
    std::fs::remove_dir_all(emu.root()).unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = emu.child.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "still running 5 s after its root was removed");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
    assert!(gone(pid));
}
