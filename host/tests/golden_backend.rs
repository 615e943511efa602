//! The compiler and the golden instruction-set simulator agree with the golden model: a compiled
//! chain of linear layers run on the `golden` backend equals `QLinear::forward_i8` applied in
//! turn, exactly.

use golden::synth::Rng;
use host::compile::{chain_reference, compile_chain};
use host::device::golden::GoldenDevice;
use host::device::{read_outputs, run, DeviceError};
use host::testkit::{random_i8, random_linear};
use proptest::prelude::*;
use spec::isa::{BankAddr, Deps, Dma, Gemm, GemmOut, Insn, Op, OutMode, WeightSource};
use spec::regmap::error_code;
use spec::AccelConfig;
use std::time::Duration;

fn run_chain(cfg: &AccelConfig, seed: u64, m: usize, dims: &[usize]) -> Result<(), TestCaseError> {
    let mut rng = Rng::new(seed);
    let layers: Vec<_> = dims.windows(2).map(|d| random_linear(&mut rng, d[0], d[1])).collect();
    let x = random_i8(&mut rng, m, dims[0]);
    let prog = compile_chain(&layers, &x, cfg).unwrap();
    let mut dev = GoldenDevice::new(cfg, prog.dram_bytes as usize);
    let stats = run(&mut dev, &prog, Duration::from_secs(1)).unwrap();
    prop_assert_eq!(stats.insns as usize, prog.insns.len());
    let got = read_outputs(&mut dev, &prog).unwrap().remove(0);
    let want = chain_reference(&layers, &x).mapv(|v| v as u8);
    prop_assert_eq!(got, want);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn compiled_chains_equal_the_golden_model(seed: u64, m in 1usize..20, k in 1usize..70, n1 in 1usize..40, n2 in 1usize..40) {
        run_chain(&AccelConfig::small(), seed, m, &[k, n1, n2])?;
    }

    #[test]
    fn compiled_chains_equal_the_golden_model_16x16(seed: u64, m in 1usize..40, k in 1usize..100, n in 1usize..50) {
        run_chain(&AccelConfig::default(), seed, m, &[k, n])?;
    }
}

#[test]
fn deep_and_wide_chains_match() {
    run_chain(&AccelConfig::small(), 1, 32, &[4096, 8, 1]).unwrap();
    run_chain(&AccelConfig::default(), 2, 197, &[192, 768, 192]).unwrap();
}

#[test]
fn compile_errors_name_the_limit() {
    let cfg = AccelConfig::small();
    let mut rng = Rng::new(0);
    let l = random_linear(&mut rng, 16, 8);
    let too_many_rows = random_i8(&mut rng, cfg.max_tokens + 1, 16);
    let e = compile_chain(std::slice::from_ref(&l), &too_many_rows, &cfg).unwrap_err().to_string();
    assert!(e.contains("max_tokens"), "{e}");
    let wrong_width = random_i8(&mut rng, 4, 15);
    let e = compile_chain(std::slice::from_ref(&l), &wrong_width, &cfg).unwrap_err().to_string();
    assert!(e.contains("layer 0 expects 16"), "{e}");
    let wide = random_linear(&mut rng, 16, cfg.max_width + 1);
    let e = compile_chain(&[wide], &random_i8(&mut rng, 4, 16), &cfg).unwrap_err().to_string();
    assert!(e.contains("max_width"), "{e}");
}

fn run_raw(insns: Vec<Insn>) -> Result<(), DeviceError> {
    let cfg = AccelConfig::small();
    let prog = host::program::Program { insns, insn_base: 0x1000, dram_bytes: 0x10000, ..Default::default() };
    let mut dev = GoldenDevice::new(&cfg, 0x10000);
    run(&mut dev, &prog, Duration::from_secs(1)).map(|_| ())
}

#[test]
fn bad_programs_stop_with_the_hardware_error_codes() {
    let dma = Dma { sp: BankAddr { bank: 0, addr: 0 }, sp_stride: 1, rows: 1, words: 1, dram: 0x2000, dram_stride: 8 };
    assert!(run_raw(vec![Insn::new(Op::Load(dma))]).is_ok());
    let bad_bank = Dma { sp: BankAddr { bank: 12, addr: 0 }, ..dma };
    let err = run_raw(vec![Insn::new(Op::Load(dma)), Insn::new(Op::Load(bad_bank))]).unwrap_err();
    assert!(matches!(err, DeviceError::Execution { code: error_code::BAD_FIELD, insn: 1, .. }), "{err}");
    let outside = Dma { dram: 0x1_0000, ..dma };
    let err = run_raw(vec![Insn::new(Op::Store(outside))]).unwrap_err();
    assert!(matches!(err, DeviceError::Execution { code: error_code::AXI_ERROR, insn: 0, .. }), "{err}");
}

#[test]
fn unordered_use_of_one_bank_is_a_bank_conflict() {
    let dma = Dma { sp: BankAddr { bank: 0, addr: 0 }, sp_stride: 1, rows: 1, words: 1, dram: 0x2000, dram_stride: 8 };
    // A GEMM reading bank 0 while the LOAD may still be writing it, then the same GEMM waiting for
    // the LOAD (its weight stream, all zero, is a valid header: m = s = 0).
    let gemm = |deps| Insn {
        live: 0,
        deps,
        op: Op::Gemm(Gemm {
            m: 1,
            k: 8,
            n: 8,
            a: BankAddr { bank: 0, addr: 0 },
            a_stride: 1,
            a_unsigned: false,
            b: WeightSource::Dram,
            out: GemmOut { at: BankAddr { bank: 1, addr: 0 }, stride: 1, group: 0, mode: OutMode::Int8 },
            row_scale: None,
            weights: 0x3000,
        }),
    };
    let err = run_raw(vec![Insn::new(Op::Load(dma)), gemm(Deps::default())]).unwrap_err();
    assert!(matches!(err, DeviceError::Execution { code: error_code::BANK_CONFLICT, insn: 1, .. }), "{err}");
    assert!(run_raw(vec![Insn::new(Op::Load(dma)), gemm(Deps { dma: 1, ..Deps::default() })]).is_ok());
}
