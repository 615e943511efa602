//! Bad programs stop the same way on both backends: the golden ISA simulator and the RTL
//! (Verilator) report the same ERROR_CODE, ERROR_INSN and INSN_DONE.

use host::device::golden::GoldenDevice;
use host::device::verilator::VerilatorDevice;
use host::device::{run, Device, DeviceError};
use host::program::Program;
use spec::isa::{BankAddr, ColMean, Deps, Dma, Gemm, GemmOut, Insn, Op, OutMode, Select, WeightSource};
use spec::regmap::{self, error_code};
use spec::AccelConfig;
use std::time::Duration;

const MEM: usize = 0x10000;

/// `(ERROR_CODE, ERROR_INSN, INSN_DONE)` of a program that stopped on an error.
type Stop = (u32, u32, u32);

/// How a program ends: `None` when it finished.
fn outcome(dev: &mut dyn Device, insns: &[Insn]) -> Option<Stop> {
    // LIVE_TOKENS beyond the small config's 32 tokens: any live size is a bad field.
    let prog = Program {
        insns: insns.to_vec(),
        insn_base: 0x1000,
        dram_bytes: MEM as u64,
        live_tokens: 33,
        ..Default::default()
    };
    let r = run(dev, &prog, Duration::from_secs(10));
    let done = dev.read_reg(regmap::INSN_DONE.offset).unwrap();
    match r {
        Ok(_) => None,
        Err(DeviceError::Execution { code, insn, .. }) => Some((code, insn, done)),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn both_backends_stop_bad_programs_alike() {
    let cfg = AccelConfig::small();
    let dma = |n: u16| Deps { dma: n, ..Deps::default() };
    let ld = Dma { sp: BankAddr { bank: 0, addr: 0 }, sp_stride: 1, rows: 1, words: 1, dram: 0x2000, dram_stride: 8 };
    let gemm = |deps, out_bank: u8| Insn {
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
    };
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
    let vec = |op| Insn::new(op);
    let cases: Vec<(&str, Vec<Insn>, Option<Stop>)> = vec![
        ("good selector instructions", vec![vec(Op::ColMean(cm)), vec(Op::Select(sel))], None),
        (
            "SELECT without heads",
            vec![vec(Op::ColMean(cm)), vec(Op::Select(Select { heads: 0, ..sel }))],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        (
            "SELECT with more heads than max_heads",
            vec![vec(Op::Select(Select { heads: 9, ..sel }))],
            Some((error_code::BAD_FIELD, 0, 0)),
        ),
        (
            "SELECT with one bank for both planes",
            vec![vec(Op::Select(Select { x_hi_bank: 0, ..sel }))],
            Some((error_code::BAD_FIELD, 0, 0)),
        ),
        (
            "COLMEAN without channels",
            vec![vec(Op::ColMean(ColMean { n: 0, ..cm }))],
            Some((error_code::BAD_FIELD, 0, 0)),
        ),
        (
            "COLMEAN rows beyond max_tokens through LIVE_TOKENS",
            vec![Insn { live: spec::isa::live::M, ..vec(Op::ColMean(cm)) }],
            Some((error_code::BAD_FIELD, 0, 0)),
        ),
        ("good", vec![Insn::new(Op::Load(ld)), gemm(dma(1), 1)], None),
        (
            "bank past the config",
            vec![Insn::new(Op::Load(ld)), Insn::new(Op::Load(Dma { sp: BankAddr { bank: 12, addr: 0 }, ..ld }))],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        ("GEMM waits for a LOAD that never comes", vec![gemm(dma(1), 1)], Some((error_code::BAD_FIELD, 0, 0))),
        (
            "GEMM waits for a later LOAD",
            vec![Insn::new(Op::Load(ld)), gemm(dma(2), 1), Insn::new(Op::Load(ld))],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        (
            "LOAD with a live size (DMA sizes are never live)",
            vec![Insn::new(Op::Load(ld)), Insn { live: spec::isa::live::M, ..Insn::new(Op::Load(ld)) }],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        (
            "GEMM M beyond max_tokens through LIVE_TOKENS",
            vec![Insn::new(Op::Load(ld)), Insn { live: spec::isa::live::M, ..gemm(dma(1), 1) }],
            Some((error_code::BAD_FIELD, 1, 1)),
        ),
        (
            "STORE outside DRAM",
            vec![Insn::new(Op::Store(Dma { dram: MEM as u64, ..ld }))],
            Some((error_code::AXI_ERROR, 0, 0)),
        ),
    ];
    for (what, insns, want) in cases {
        let mut golden = GoldenDevice::new(&cfg, MEM);
        let mut rtl = VerilatorDevice::new(&cfg, MEM).unwrap();
        let g = outcome(&mut golden, &insns);
        assert_eq!(g, want, "golden: {what}");
        assert_eq!(outcome(&mut rtl, &insns), g, "RTL vs golden: {what}");
    }
}
