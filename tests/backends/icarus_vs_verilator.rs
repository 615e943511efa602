//! Icarus Verilog against Verilator: the same generated Verilog (`hdl::top_verilog`), the same
//! program, the same calls; every counter (CYCLES, ACTIVE, INSN_DONE, the unit busy counts)
//! equal, the outputs free of X and equal, and the whole DRAM afterwards equal byte for byte
//! wherever Icarus knows the value. Two simulators that disagree on fragile Verilog (X at
//! reset, initial values, races between blocking and non-blocking assignments, signed products)
//! cannot both match.
//!
//! RAMs power up zero here, as block RAM and Verilator's model do. With X instead
//! ([`RamPowerUp::Unknown`]) a chain of two layers gets X in every output: the second layer's
//! reduction reads the first one's padding columns, never written, and multiplies them by zero
//! weights (`0 * X` is X in Verilog). Harmless on hardware, and checked to be: with every RAM
//! byte powering up as garbage ([`RamPowerUp::Pattern`]) outputs, DRAM and counters still equal
//! Verilator's. Any other X the core stores is kept as unknown and must stay out of the outputs.
//!
//! Icarus runs the design at a few thousand cycles per second, so the default tier compares
//! few cases: `VITACCEL_ICARUS_CASES` random GEMM chains on the 8x8 `small` configuration
//! (default 3), `VITACCEL_ICARUS_16X16_CASES` on the 16x16 default (default 1) and
//! `VITACCEL_ICARUS_IMAGES` fixture images on 8x8 (default 1); the heavy tier
//! (`scripts/regress.sh`) raises all three.

use crate::common::icarus_model;
use golden::synth::Rng;
use host::compile::compile_chain;
use host::device::icarus::{ClockFanout, IcarusDevice, RamPowerUp, AXIL_TIMEOUT_CYCLES, RESET_CYCLES};
use host::device::verilator::VerilatorDevice;
use host::device::{self, Device, RunStats};
use host::model_compile::{compile_model, ModelOptions};
use host::program::Program;
use host::testkit::{fixture_int_model, random_i8, random_linear};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use spec::AccelConfig;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(3600);

/// A count from the environment, or `default`.
fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What one run left behind: the counters (wall time zeroed) and the whole DRAM.
#[derive(Debug, PartialEq)]
struct Outcome {
    stats: RunStats,
    dram: Vec<u8>,
}

/// `got` (Icarus's DRAM, its unknown bytes in `unknown`) against `want` (Verilator's): equal
/// wherever known, and no unknown byte inside the rows x columns of an output. The number of
/// unknown bytes.
fn check_dram(got: &[u8], unknown: &[bool], want: &[u8], prog: &Program) -> Result<usize, String> {
    for o in &prog.outputs {
        for r in 0..o.rows {
            let row = o.addr as usize + r * o.row_bytes;
            if let Some(c) = unknown[row..row + o.cols].iter().position(|&x| x) {
                return Err(format!("output {} row {r} column {c}: X in Icarus", o.name));
            }
        }
    }
    let differs = (0..got.len()).find(|&i| !unknown[i] && got[i] != want[i]);
    if let Some(at) = differs {
        return Err(format!("DRAM differs first at byte {at:#x}: icarus {}, verilator {}", got[at], want[at]));
    }
    Ok(unknown.iter().filter(|&&x| x).count())
}

/// Load `prog` into `dev`, run it, and read back the counters and the whole DRAM.
fn run_on(dev: &mut dyn Device, prog: &Program) -> Outcome {
    let stats = device::run(dev, prog, TIMEOUT).unwrap_or_else(|e| panic!("{}: {e}", dev.name()));
    let dram = dev.read_mem(0, prog.dram_bytes as usize).unwrap();
    Outcome { stats: RunStats { wall_seconds: 0.0, ..stats }, dram }
}

/// `prog` on both simulators: `Err` says what differs. Prints the Icarus wall time.
fn compare(cfg: &AccelConfig, prog: &Program, fanout: ClockFanout, what: &str) -> Result<RunStats, String> {
    compare_with(cfg, prog, fanout, RamPowerUp::Zero, what)
}

/// [`compare`] with the RAMs powering up as `rams`.
fn compare_with(
    cfg: &AccelConfig,
    prog: &Program,
    fanout: ClockFanout,
    rams: RamPowerUp,
    what: &str,
) -> Result<RunStats, String> {
    let model = icarus_model(cfg, fanout, rams);
    let mut verilator = VerilatorDevice::new(cfg, prog.dram_bytes as usize).unwrap();
    let want = run_on(&mut verilator, prog);
    let t0 = Instant::now();
    let mut icarus = IcarusDevice::new(&model, prog.dram_bytes as usize).unwrap();
    let got = run_on(&mut icarus, prog);
    let unknown = icarus.unknown_bytes(0, got.dram.len()).unwrap();
    let n_x = check_dram(&got.dram, &unknown, &want.dram, prog).map_err(|e| format!("{what}: {e}"))?;
    eprintln!(
        "icarus: {what}: {} cycles in {:.1} s, {n_x} padding bytes X",
        got.stats.cycles,
        t0.elapsed().as_secs_f64()
    );
    if got.stats != want.stats {
        return Err(format!("{what}: counters: icarus {:?}, verilator {:?}", got.stats, want.stats));
    }
    Ok(got.stats)
}

/// A compiled chain of random layers of widths `dims` on a random `m x dims[0]` input.
fn chain(cfg: &AccelConfig, seed: u64, m: usize, dims: &[usize]) -> Program {
    let mut rng = Rng::new(seed);
    let layers: Vec<_> = dims.windows(2).map(|d| random_linear(&mut rng, d[0], d[1])).collect();
    let x = random_i8(&mut rng, m, dims[0]);
    compile_chain(&layers, &x, cfg).unwrap()
}

/// Random GEMM chains (one or two layers, shapes off the array) on `cfg`, `cases` of them.
fn random_chains(cfg: &AccelConfig, cases: usize) {
    let mut runner = TestRunner::new(Config { cases: cases as u32, failure_persistence: None, ..Config::default() });
    let compared = std::sync::atomic::AtomicUsize::new(0);
    let shapes = (any::<u64>(), 1usize..=20, 1usize..=40, 1usize..=24, 0usize..=12);
    let r = runner.run(&shapes, |(seed, m, k, n, n2)| {
        let dims: Vec<usize> = if n2 == 0 { vec![k, n] } else { vec![k, n, n2] };
        let what = format!("chain M={m} dims={dims:?} seed={seed}");
        let r = compare(cfg, &chain(cfg, seed, m, &dims), ClockFanout::Hoisted, &what);
        compared.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        Ok(())
    });
    let n = compared.into_inner();
    r.unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "icarus == verilator on {n} random GEMM chains ({}x{}): outputs, DRAM and counters equal",
        cfg.array_rows, cfg.array_cols
    );
}

#[test]
fn random_gemm_chains_8x8_equal_verilator() {
    random_chains(&AccelConfig::small(), env_count("VITACCEL_ICARUS_CASES", 3));
}

#[test]
fn random_gemm_chains_16x16_equal_verilator() {
    random_chains(&AccelConfig::default(), env_count("VITACCEL_ICARUS_16X16_CASES", 1));
}

/// The fixture model on the 8x8 configuration: `VITACCEL_ICARUS_IMAGES` images (default 1),
/// one program loaded once, logits, DRAM and counters equal after every image.
#[test]
fn fixture_images_8x8_equal_verilator() {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    let cm = compile_model(&im, &cfg, ModelOptions::default()).unwrap();
    let bytes = cm.program.dram_bytes as usize;
    let model = icarus_model(&cfg, ClockFanout::Hoisted, RamPowerUp::Zero);
    let mut verilator = VerilatorDevice::new(&cfg, bytes).unwrap();
    let mut icarus = IcarusDevice::new(&model, bytes).unwrap();
    device::load(&mut verilator, &cm.program).unwrap();
    device::load(&mut icarus, &cm.program).unwrap();
    let n = env_count("VITACCEL_ICARUS_IMAGES", 1).min(test.images.len());
    for (i, img) in test.images[..n].iter().enumerate() {
        let patches = im.input_patches(img);
        let want = cm.run_image(&mut verilator, &patches, TIMEOUT).unwrap();
        let t0 = Instant::now();
        let got = cm.run_image(&mut icarus, &patches, TIMEOUT).unwrap();
        eprintln!("icarus: fixture image {i}: {} cycles in {:.1} s", got.stats.cycles, t0.elapsed().as_secs_f64());
        assert_eq!(got.logits, want.logits, "image {i}: logits");
        let zero_wall = |s: &RunStats| RunStats { wall_seconds: 0.0, ..s.clone() };
        assert_eq!(zero_wall(&got.stats), zero_wall(&want.stats), "image {i}: counters");
        let unknown = icarus.unknown_bytes(0, bytes).unwrap();
        let (got_dram, want_dram) = (icarus.read_mem(0, bytes).unwrap(), verilator.read_mem(0, bytes).unwrap());
        let n_x = check_dram(&got_dram, &unknown, &want_dram, &cm.program).unwrap_or_else(|e| panic!("image {i}: {e}"));
        eprintln!("icarus: fixture image {i}: {n_x} padding bytes X");
    }
    eprintln!("icarus == verilator on {n} fixture image(s) (8x8): logits, DRAM and counters equal");
}

/// The Verilog as generated (clock copies inside combinational blocks, the slow form) gives
/// what the hoisted form gives: the speed-up changes no result.
#[test]
fn clock_fanout_as_generated_equals_hoisted() {
    let cfg = AccelConfig::small();
    let prog = chain(&cfg, 11, 9, &[13, 10]);
    let hoisted = compare(&cfg, &prog, ClockFanout::Hoisted, "hoisted").unwrap();
    let as_generated = compare(&cfg, &prog, ClockFanout::AsGenerated, "as generated").unwrap();
    assert_eq!(hoisted, as_generated);
}

/// The comparison can fail: one cycle more of DRAM read latency on the Icarus side changes the
/// counters (and the DRAM model's default must be the one the Verilator harness uses).
#[test]
fn a_dram_latency_off_by_one_is_caught() {
    let cfg = AccelConfig::small();
    let prog = chain(&cfg, 5, 4, &[16, 8]);
    let model = icarus_model(&cfg, ClockFanout::Hoisted, RamPowerUp::Zero);
    let mut verilator = VerilatorDevice::new(&cfg, prog.dram_bytes as usize).unwrap();
    let want = run_on(&mut verilator, &prog);
    let mut icarus = IcarusDevice::new(&model, prog.dram_bytes as usize).unwrap();
    let latency = spec::timing::dram::READ_LATENCY as u32;
    icarus.set_latency(latency + 1, spec::timing::dram::WRITE_LATENCY as u32).unwrap();
    let got = run_on(&mut icarus, &prog);
    let unknown = icarus.unknown_bytes(0, got.dram.len()).unwrap();
    check_dram(&got.dram, &unknown, &want.dram, &prog).expect("the outputs do not depend on the latency");
    assert!(got.stats.cycles > want.stats.cycles, "icarus {:?}, verilator {:?}", got.stats, want.stats);
}

/// The bench's reset and transaction limits are the Verilator harness's.
#[test]
fn the_bench_drives_the_core_like_the_verilator_harness() {
    assert_eq!(RESET_CYCLES, sim::RESET_CYCLES);
    assert_eq!(AXIL_TIMEOUT_CYCLES, sim::AXIL_TIMEOUT_CYCLES);
    assert_eq!(host::device::icarus::POLL_CYCLES, sim::POLL_CYCLES);
    // Same cycle count after construction: both reset, read CONFIG_HASH and reset again.
    let cfg = AccelConfig::small();
    let mut v = VerilatorDevice::new(&cfg, 4096).unwrap();
    let mut i = IcarusDevice::new(&icarus_model(&cfg, ClockFanout::Hoisted, RamPowerUp::Zero), 4096).unwrap();
    assert_eq!(i.cycle().unwrap(), v.sim().cycle());
}

/// Stale RAM contents (every byte of every RAM word 0xa5 or 0x5a at power-up, as block RAM
/// holds after earlier runs) change no output, DRAM byte or counter; among the chains, two
/// layers whose second reduction reads the first one's never-written padding columns.
#[test]
fn stale_ram_contents_change_no_result() {
    let cfg = AccelConfig::small();
    for byte in [0xa5, 0x5a] {
        for (seed, m, dims) in [(4243643083260848, 9, vec![33, 20, 3]), (3088314958199691, 13, vec![27, 18, 10])] {
            let what = format!("RAM bytes {byte:#04x} at power-up, chain M={m} dims={dims:?}");
            let r = compare_with(
                &cfg,
                &chain(&cfg, seed, m, &dims),
                ClockFanout::Hoisted,
                RamPowerUp::Pattern(byte),
                &what,
            );
            assert_eq!(r.err(), None);
        }
    }
}
