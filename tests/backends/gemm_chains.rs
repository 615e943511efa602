//! GEMM chains on every backend, equal to the golden model bit for bit: random chains of linear
//! layers (M, K, N not multiples of the array, K up to 4096, N = 1) compiled by
//! `host::compile`, compared with `QLinear::forward_i8` applied in turn.
//!
//! A chain runs either as one program (the instructions wait on their dependency counts) or
//! instruction by instruction (each its own program, its dependency counts dropped: everything
//! before it has completed), so that every instruction's cycles are checked against the cycle
//! model: GEMM and STORE exactly, LOAD within 5 %. A backend that models memory timing (the RTL)
//! runs under random DRAM latency and AXI back-pressure (cycles are checked without
//! back-pressure, which the model does not describe) and must keep the AXI protocol.

use crate::common::Backend;
use golden::synth::Rng;
use host::compile::{chain_reference, compile_chain};
use host::cycle_model::CycleModel;
use host::device::{load, read_outputs, run};
use host::testkit::{random_i8, random_linear};
use proptest::prelude::*;
use spec::isa::Op;
use spec::AccelConfig;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// A chain of random layers of widths `dims` on a random `m x dims[0]` input, compiled, with
/// the golden model's output.
struct Chain {
    prog: host::program::Program,
    want: ndarray::Array2<u8>,
}

impl Chain {
    fn new(cfg: &AccelConfig, seed: u64, m: usize, dims: &[usize]) -> Chain {
        let mut rng = Rng::new(seed);
        let layers: Vec<_> = dims.windows(2).map(|d| random_linear(&mut rng, d[0], d[1])).collect();
        let x = random_i8(&mut rng, m, dims[0]);
        let prog = compile_chain(&layers, &x, cfg).unwrap();
        Chain { prog, want: chain_reference(&layers, &x).mapv(|v| v as u8) }
    }
}

/// Run a chain on `backend` as one program: `Err` says what differs from the golden model.
fn as_one_program(backend: &Backend, cfg: &AccelConfig, seed: u64, m: usize, dims: &[usize]) -> Result<(), String> {
    let c = Chain::new(cfg, seed, m, dims);
    let mut dev = backend.open(cfg, c.prog.dram_bytes as usize);
    let stats = run(dev.as_mut(), &c.prog, TIMEOUT).map_err(|e| e.to_string())?;
    if stats.insns as usize != c.prog.insns.len() {
        return Err(format!("{} instructions done of {}", stats.insns, c.prog.insns.len()));
    }
    if let Some(v) = dev.protocol_violations() {
        return Err(format!("AXI protocol: {v}"));
    }
    let got = read_outputs(dev.as_mut(), &c.prog).unwrap().remove(0);
    if got != c.want {
        return Err(format!("outputs {got:?}, golden model {:?}", c.want));
    }
    Ok(())
}

/// Run a chain on `backend` instruction by instruction, at DRAM read `latency` with
/// `backpressure` percent (where the backend models memory timing), asserting every
/// instruction's cycles against the cycle model and the AXI protocol; returns whether the
/// outputs equal the golden model's.
fn by_instruction(
    backend: &Backend,
    cfg: &AccelConfig,
    (seed, m, dims): (u64, usize, &[usize]),
    latency: u32,
    backpressure: u32,
) -> bool {
    let c = Chain::new(cfg, seed, m, dims);
    let mut dev = backend.open(cfg, c.prog.dram_bytes as usize);
    let mut model = CycleModel::new(cfg);
    let backpressure = if dev.set_memory_timing(latency, seed, backpressure) {
        model.read_latency = latency as u64;
        backpressure
    } else {
        0
    };
    let latency = model.read_latency;
    load(dev.as_mut(), &c.prog).unwrap();
    for (i, insn) in c.prog.insns.iter().enumerate() {
        let st = run(dev.as_mut(), &c.prog.alone(i), TIMEOUT).unwrap();
        let predicted = model.insn(insn).0;
        if backpressure != 0 {
            continue;
        }
        if matches!(insn.op, Op::Load(_)) {
            // The LOAD model is fitted at the default latency; within 5 % at any other.
            let err = (st.cycles as f64 - predicted as f64).abs() / predicted as f64;
            assert!(
                err <= 0.05,
                "{}: {insn:?} with read latency {latency}: {} cycles, model {predicted}",
                backend.name,
                st.cycles
            );
        } else {
            assert_eq!(st.cycles, predicted, "{}: {insn:?} with read latency {latency}: vs model", backend.name);
        }
    }
    assert_eq!(dev.protocol_violations(), None, "{}: AXI protocol", backend.name);
    read_outputs(dev.as_mut(), &c.prog).unwrap().remove(0) == c.want
}

/// Reduction lengths: mostly short, up to the 4096 limit.
fn reduction() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 1usize..64, 2 => 64usize..512, 1 => 512usize..=4096]
}

/// Edge shapes instruction by instruction: one element, the longest reduction, N = 1, chains
/// of four layers, widths off the array, and a DeiT-Tiny MLP on the 16x16 array.
fn check_edge_shapes(backend: &Backend) {
    let small = AccelConfig::small();
    for (m, dims) in
        [(1, vec![1, 1]), (32, vec![4096, 1]), (1, vec![4096, 64]), (32, vec![8, 8, 8, 8]), (7, vec![9, 17, 1])]
    {
        assert!(by_instruction(backend, &small, (3, m, &dims), 20, 0), "{}: M={m} dims={dims:?}", backend.name);
    }
    assert!(by_instruction(backend, &AccelConfig::default(), (4, 197, &[192, 768, 192]), 20, 0), "{}", backend.name);
}

/// Deep and wide chains as one program.
fn check_deep_and_wide(backend: &Backend) {
    let r = as_one_program(backend, &AccelConfig::small(), 1, 32, &[4096, 8, 1]);
    assert_eq!(r, Ok(()), "{}: 32 x 4096 -> 8 -> 1", backend.name);
    let r = as_one_program(backend, &AccelConfig::default(), 2, 197, &[192, 768, 192]);
    assert_eq!(r, Ok(()), "{}: 197 x 192 -> 768 -> 192", backend.name);
}

on_every_backend!(BACKEND => {
    #[test]
    fn edge_shapes_by_instruction() {
        check_edge_shapes(BACKEND);
    }

    #[test]
    fn deep_and_wide_chains_as_one_program() {
        check_deep_and_wide(BACKEND);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(BACKEND.cases(500)))]

        /// The 8x8 configuration, single GEMMs and two-layer chains, by instruction (500 cases).
        #[test]
        fn by_instruction_8x8(seed: u64, m in 1usize..=32, k in reduction(), n in 1usize..=64, n2 in 0usize..=24,
                              latency in 1u32..40, bp in prop_oneof![3 => Just(0u32), 1 => 1u32..40]) {
            let dims: Vec<usize> = if n2 == 0 { vec![k, n] } else { vec![k, n, n2] };
            let eq = by_instruction(BACKEND, &AccelConfig::small(), (seed, m, &dims), latency, bp);
            prop_assert!(eq, "{}: M={} dims={:?} latency={} backpressure={}", BACKEND.name, m, dims, latency, bp);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(BACKEND.cases(40)))]

        /// The default 16x16 configuration, by instruction.
        #[test]
        fn by_instruction_16x16(seed: u64, m in 1usize..=64, k in 1usize..400, n in 1usize..=80, latency in 1u32..40) {
            let eq = by_instruction(BACKEND, &AccelConfig::default(), (seed, m, &[k, n]), latency, 0);
            prop_assert!(eq, "{}: M={} K={} N={}", BACKEND.name, m, k, n);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(BACKEND.cases(64)))]

        /// Three-layer chains on the 8x8 configuration as one program.
        #[test]
        fn as_one_program_8x8(seed: u64, m in 1usize..20, k in 1usize..70, n1 in 1usize..40, n2 in 1usize..40) {
            let r = as_one_program(BACKEND, &AccelConfig::small(), seed, m, &[k, n1, n2]);
            prop_assert_eq!(r, Ok(()), "{}", BACKEND.name);
        }

        /// Single GEMMs on the default 16x16 configuration as one program.
        #[test]
        fn as_one_program_16x16(seed: u64, m in 1usize..40, k in 1usize..100, n in 1usize..50) {
            let r = as_one_program(BACKEND, &AccelConfig::default(), seed, m, &[k, n]);
            prop_assert_eq!(r, Ok(()), "{}", BACKEND.name);
        }
    }
});

/// Chains beyond the hardware are rejected by the compiler, naming the limit (no backend runs).
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
