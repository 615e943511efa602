//! Bad programs stop the same way on every backend: each reports the ERROR_CODE, ERROR_INSN and
//! INSN_DONE written down here (from the ISA's error rules), so the backends agree with each
//! other and with the specification.

use crate::common::{Backend, GOLDEN};
use host::device::{run, DeviceError};
use host::program::Program;
use spec::isa::{live, BankAddr, ColMean, Deps, Dma, Gemm, GemmOut, Insn, Op, OutMode, Select, WeightSource};
use spec::regmap::{self, error_code};
use spec::AccelConfig;
use std::time::Duration;

const MEM: usize = 0x10000;

/// `(ERROR_CODE, ERROR_INSN, INSN_DONE)` of a program that stopped on an error.
type Stop = (u32, u32, u32);

/// How `insns` end on a fresh device of `backend`: `None` when they finish.
fn outcome(backend: &Backend, insns: &[Insn]) -> Option<Stop> {
    outcome_or_refusal(backend, insns).unwrap_or_else(|e| panic!("{}: {e}", backend.name))
}

/// As [`outcome`], or the host's error when it refused to start them.
fn outcome_or_refusal(backend: &Backend, insns: &[Insn]) -> Result<Option<Stop>, String> {
    let mut dev = backend.open(&AccelConfig::small(), MEM);
    // LIVE_TOKENS beyond the small config's 32 tokens: any live size is a bad field.
    let prog = Program {
        insns: insns.to_vec(),
        insn_base: 0x1000,
        dram_bytes: MEM as u64,
        live_tokens: 33,
        ..Default::default()
    };
    let r = run(dev.as_mut(), &prog, Duration::from_secs(10));
    let done = dev.read_reg(regmap::INSN_DONE.offset).unwrap();
    match r {
        Ok(_) => Ok(None),
        Err(DeviceError::Execution { code, insn, .. }) => Ok(Some((code, insn, done))),
        Err(e) => Err(e.to_string()),
    }
}

/// A STORE at `dram`.
fn store_at(dram: u64) -> Vec<Insn> {
    vec![Insn::new(Op::Store(Dma { dram, ..LOAD }))]
}

/// A LOAD of one word into bank 0.
const LOAD: Dma =
    Dma { sp: BankAddr { bank: 0, addr: 0 }, sp_stride: 1, rows: 1, words: 1, dram: 0x2000, dram_stride: 8 };

/// A 1x8x8 GEMM from bank 0 into `out_bank`, its weights (all zero: a valid header) in DRAM.
fn gemm(deps: Deps, out_bank: u8) -> Insn {
    Insn {
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
            out: GemmOut { at: BankAddr { bank: out_bank, addr: 0 }, stride: 1, group: 0, mode: OutMode::Int8 },
            row_scale: None,
            weights: 0x3000,
        }),
    }
}

/// Waiting for `n` DMA instructions.
fn after_dma(n: u16) -> Deps {
    Deps { dma: n, ..Deps::default() }
}

/// Every case stops (or finishes) as written down.
fn check_bad_programs_stop_as_specified(backend: &Backend) {
    let at = |bank: u8| BankAddr { bank, addr: 0 };
    let sel = Select {
        rows: 4,
        n: 8,
        x: at(0),
        x_hi_bank: 1,
        x_stride: 1,
        probs: at(2),
        probs_stride: 4,
        weights_addr: 16,
        heads: 2,
        prefix: 1,
        gather: at(3),
        gather_stride: 1,
        gather_rows: 1,
        package_byte: 4,
    };
    let cm =
        ColMean { rows: 4, n: 8, input: at(0), in_stride: 1, out: at(0), out_stride: 1, mean_at: at(1), mean_byte: 0 };
    let insn = Insn::new;
    let cases: Vec<(&str, Vec<Insn>, Option<Stop>)> = vec![
        ("good selector instructions", vec![insn(Op::ColMean(cm)), insn(Op::Select(sel))], None),
        (
            "SELECT without heads",
            vec![insn(Op::ColMean(cm)), insn(Op::Select(Select { heads: 0, ..sel }))],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        (
            "SELECT with more heads than max_heads",
            vec![insn(Op::Select(Select { heads: 9, ..sel }))],
            Some((error_code::BAD_FIELD, 0, 0)),
        ),
        (
            "SELECT with one bank for both planes",
            vec![insn(Op::Select(Select { x_hi_bank: 0, ..sel }))],
            Some((error_code::BAD_FIELD, 0, 0)),
        ),
        (
            "COLMEAN without channels",
            vec![insn(Op::ColMean(ColMean { n: 0, ..cm }))],
            Some((error_code::BAD_FIELD, 0, 0)),
        ),
        (
            "COLMEAN rows beyond max_tokens through LIVE_TOKENS",
            vec![Insn { live: live::M, ..insn(Op::ColMean(cm)) }],
            Some((error_code::BAD_FIELD, 0, 0)),
        ),
        ("good", vec![insn(Op::Load(LOAD)), gemm(after_dma(1), 1)], None),
        ("a LOAD alone", vec![insn(Op::Load(LOAD))], None),
        (
            "bank past the config",
            vec![insn(Op::Load(LOAD)), insn(Op::Load(Dma { sp: at(12), ..LOAD }))],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        ("GEMM waits for a LOAD that never comes", vec![gemm(after_dma(1), 1)], Some((error_code::BAD_FIELD, 0, 0))),
        (
            "GEMM waits for a later LOAD",
            vec![insn(Op::Load(LOAD)), gemm(after_dma(2), 1), insn(Op::Load(LOAD))],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        (
            "LOAD with a live size (DMA sizes are never live)",
            vec![insn(Op::Load(LOAD)), Insn { live: live::M, ..insn(Op::Load(LOAD)) }],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        (
            "GEMM M beyond max_tokens through LIVE_TOKENS",
            vec![insn(Op::Load(LOAD)), Insn { live: live::M, ..gemm(after_dma(1), 1) }],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
    ];
    for (what, insns, want) in cases {
        assert_eq!(outcome(backend, &insns), want, "{}: {what}", backend.name);
    }
    // Past the end of DRAM the device answers with an AXI error; the board backend refuses the
    // instruction before START instead (its relocation bounds every access by its buffer, whose
    // end `board_faults` tests: it is not at MEM but at the u-dma-buf's size).
    let far = store_at(1 << 30);
    if backend.checks_dram_on_host {
        let e = outcome_or_refusal(backend, &far).unwrap_err();
        assert!(e.contains("instruction 0 (Store)") && e.contains("outside"), "{}: {e}", backend.name);
    } else {
        let axi = Some((error_code::AXI_ERROR, 0, 0));
        assert_eq!(outcome(backend, &store_at(MEM as u64)), axi, "{}: STORE at the end of DRAM", backend.name);
        assert_eq!(outcome(backend, &far), axi, "{}: STORE far outside DRAM", backend.name);
    }
}

on_every_backend!(BACKEND => {
    #[test]
    fn bad_programs_stop_as_specified() {
        check_bad_programs_stop_as_specified(BACKEND);
    }
});

/// The golden ISA simulator only: a GEMM that reads bank 0 while a LOAD may still be writing it
/// (no dependency count orders them) is a BANK_CONFLICT, found statically from the counts. The
/// RTL's crossbar flags a conflict only when both accesses meet in the same cycle, which this
/// short LOAD never does, so the RTL runs the program; ordered by a count, it runs everywhere.
#[test]
fn unordered_use_of_one_bank_is_a_bank_conflict_on_the_golden_isa() {
    let unordered = [Insn::new(Op::Load(LOAD)), gemm(Deps::default(), 1)];
    assert_eq!(outcome(&GOLDEN, &unordered), Some((error_code::BANK_CONFLICT, 1, 1)));
    assert_eq!(outcome(&GOLDEN, &[Insn::new(Op::Load(LOAD)), gemm(after_dma(1), 1)]), None);
}
