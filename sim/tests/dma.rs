//! LOAD/STORE through the real RTL: DRAM -> scratchpad bank -> another DRAM region must be an exact
//! copy, on every configuration, with and without back-pressure.

mod common;

use common::{configs, pattern, run, Outcome};
use proptest::prelude::*;
use sim::Sim;
use spec::isa::{BankAddr, Dma, Insn, Op, INSN_BYTES};
use spec::AccelConfig;

const MEM: usize = 1 << 20;
const INSN_BASE: u64 = 0x100;
/// Copy `i` reads from `SRC + i * REGION` and writes to `DST + i * REGION` (plus its offsets).
const SRC: u64 = 0x1_0000;
const DST: u64 = 0x8_0000;
const REGION: u64 = 0x1_8000;
/// Copy `i` uses scratchpad words from `i * SP_REGION` (plus its offset) of its bank.
const SP_REGION: u32 = 4096;
const FILL: u8 = 0xa5;

/// One copy: `rows` rows of `words` words, with the given gaps between rows (in words) and
/// offsets (in words) into its DRAM regions and scratchpad region.
#[derive(Clone, Copy, Debug)]
struct Copy {
    rows: u16,
    words: u32,
    bank: u8,
    sp_addr: u32,
    sp_gap: u32,
    src_off_words: u64,
    src_gap: u64,
    dst_off_words: u64,
    dst_gap: u64,
}

impl Copy {
    /// The LOAD and STORE of copy number `i` on `wb`-byte words.
    fn insns(&self, i: usize, wb: u64) -> (Dma, Dma) {
        let row_bytes = self.words as u64 * wb;
        let sp = BankAddr { bank: self.bank, addr: i as u32 * SP_REGION + self.sp_addr };
        let load = Dma {
            sp,
            sp_stride: self.words + self.sp_gap,
            rows: self.rows,
            words: self.words,
            dram: SRC + i as u64 * REGION + self.src_off_words * wb,
            dram_stride: row_bytes + self.src_gap * wb,
        };
        let store = Dma {
            dram: DST + i as u64 * REGION + self.dst_off_words * wb,
            dram_stride: row_bytes + self.dst_gap * wb,
            ..load
        };
        (load, store)
    }
}

/// Run the copies (all LOADs then all STOREs when `interleave`, else LOAD/STORE pairs) and
/// compare the whole DRAM with the expected image.
fn check_copies(sim: &mut Sim, copies: &[Copy], interleave: bool, seed: u64) -> Result<(), String> {
    let wb = sim.config().word_bytes() as u64;
    let dmas: Vec<(Dma, Dma)> = copies.iter().enumerate().map(|(i, c)| c.insns(i, wb)).collect();
    let insns: Vec<Insn> = if interleave {
        dmas.iter().map(|d| Insn::new(Op::Load(d.0))).chain(dmas.iter().map(|d| Insn::new(Op::Store(d.1)))).collect()
    } else {
        dmas.iter().flat_map(|d| [Insn::new(Op::Load(d.0)), Insn::new(Op::Store(d.1))]).collect()
    };

    sim.mem_mut().fill(FILL);
    for (i, (load, _)) in dmas.iter().enumerate() {
        let len = load.rows as usize * load.dram_stride as usize;
        let a = load.dram as usize;
        sim.mem_mut()[a..a + len].copy_from_slice(&pattern(seed ^ i as u64, len));
    }
    let mut want = sim.mem().to_vec();
    for (i, insn) in insns.iter().enumerate() {
        let a = INSN_BASE as usize + INSN_BYTES * i;
        want[a..a + INSN_BYTES].copy_from_slice(&insn.encode());
    }
    for (load, store) in &dmas {
        let row_bytes = (load.words as u64 * wb) as usize;
        for r in 0..load.rows as u64 {
            let (s, d) = ((load.dram + r * load.dram_stride) as usize, (store.dram + r * store.dram_stride) as usize);
            want.copy_within(s..s + row_bytes, d);
        }
    }

    let beats: u64 = copies.iter().map(|c| 2 * c.rows as u64 * c.words as u64).sum();
    let n = insns.len() as u32;
    let got = run(sim, INSN_BASE, &insns, 20_000 + 40 * beats);
    let what = format!("{copies:?} (interleaved: {interleave})");
    if got != Outcome::done(n) {
        return Err(format!("{what}: {got:?}, expected {:?}", Outcome::done(n)));
    }
    if let Some(i) = want.iter().zip(sim.mem()).position(|(a, b)| a != b) {
        let n = want.iter().zip(sim.mem()).filter(|(a, b)| a != b).count();
        return Err(format!(
            "{what}: {n} DRAM bytes differ, the first at {i:#x} (holds {:#04x}, expected {:#04x})",
            sim.mem()[i],
            want[i]
        ));
    }
    if let Some(v) = sim.protocol_violations() {
        return Err(format!("{what}: {v}"));
    }
    let st = sim.mem_stats();
    if st.read_errors + st.write_errors != 0 {
        return Err(format!("{what}: DRAM errors {st:?}"));
    }
    Ok(())
}

fn check_copy(sim: &mut Sim, c: Copy, seed: u64) -> Result<(), String> {
    check_copies(sim, &[c], false, seed)
}

/// Cases per property: `PROPTEST_CASES` if set (heavier regressions), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn copy_case(cfg: &AccelConfig) -> impl Strategy<Value = Copy> {
    let banks = cfg.banks as u8;
    (
        1u16..=5,
        prop_oneof![3 => 1u32..=40, 1 => 200u32..=600],
        0..banks,
        0u32..2000,
        0u32..4,
        0u64..300,
        0u64..4,
        0u64..300,
        0u64..4,
    )
        .prop_map(|(rows, words, bank, sp_addr, sp_gap, src_off_words, src_gap, dst_off_words, dst_gap)| Copy {
            rows,
            words,
            bank,
            sp_addr,
            sp_gap,
            src_off_words,
            src_gap,
            dst_off_words,
            dst_gap,
        })
}

#[test]
fn single_word_and_4k_crossing_copies() {
    for (name, cfg) in configs() {
        let wb = cfg.word_bytes() as u64;
        let mut sim = Sim::new(&cfg, MEM).unwrap();
        let one = Copy {
            rows: 1,
            words: 1,
            bank: 0,
            sp_addr: 0,
            sp_gap: 0,
            src_off_words: 0,
            src_gap: 0,
            dst_off_words: 0,
            dst_gap: 0,
        };
        check_copy(&mut sim, one, 1).unwrap_or_else(|e| panic!("{name}: {e}"));
        // 300 words starting 3 words before a 4 KiB boundary: bursts of 3, then 256-beat and
        // 4 KiB-limited ones, on both sides.
        let big = Copy {
            rows: 2,
            words: 300,
            bank: cfg.banks as u8 - 1,
            sp_addr: 17,
            sp_gap: 1,
            src_off_words: 4096 / wb - 3,
            src_gap: 1,
            dst_off_words: 4096 / wb - 5,
            dst_gap: 2,
        };
        check_copy(&mut sim, big, 2).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

fn config() -> impl Strategy<Value = AccelConfig> {
    prop_oneof![Just(AccelConfig::small()), Just(AccelConfig::default())]
}

/// Memory timing: read latency, write latency, back-pressure percentage and seed.
fn timing() -> impl Strategy<Value = (u32, u32, u32, u64)> {
    (1u32..40, 1u32..10, prop_oneof![Just(0u32), 10u32..50], any::<u64>())
}

fn sim_with(cfg: &AccelConfig, (read_latency, write_latency, bp, bp_seed): (u32, u32, u32, u64)) -> Sim {
    let mut sim = Sim::new(cfg, MEM).unwrap();
    sim.set_read_latency(read_latency);
    sim.set_write_latency(write_latency);
    sim.set_backpressure(bp_seed, bp);
    sim
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(24), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn load_store_round_trip(
        (cfg, c) in config().prop_flat_map(|cfg| (Just(cfg.clone()), copy_case(&cfg))),
        seed: u64,
        t in timing(),
    ) {
        let mut sim = sim_with(&cfg, t);
        prop_assert_eq!(check_copy(&mut sim, c, seed), Ok(()));
    }

    #[test]
    fn programs_of_several_copies(
        (cfg, copies) in config().prop_flat_map(|cfg| (Just(cfg.clone()), prop::collection::vec(copy_case(&cfg), 2..=4))),
        interleave: bool,
        seed: u64,
        t in timing(),
    ) {
        let mut sim = sim_with(&cfg, t);
        prop_assert_eq!(check_copies(&mut sim, &copies, interleave, seed), Ok(()));
    }
}

/// 100 instructions fetched from a word-aligned (not 32-byte-aligned) base, so instructions
/// straddle a 4 KiB boundary; DRAM stride 0 on one-row copies.
#[test]
fn long_program_across_a_4k_boundary() {
    for (name, cfg) in configs() {
        let wb = cfg.word_bytes() as u64;
        let mut sim = Sim::new(&cfg, MEM).unwrap();
        let src = pattern(7, 0x1_0000);
        sim.mem_mut()[SRC as usize..SRC as usize + src.len()].copy_from_slice(&src);
        let mut insns = Vec::new();
        for i in 0..50u64 {
            let load = Dma {
                sp: BankAddr { bank: (i % cfg.banks as u64) as u8, addr: i as u32 * 3 },
                sp_stride: 3,
                rows: 1,
                words: 3,
                dram: SRC + i * 3 * wb,
                dram_stride: 0,
            };
            insns.push(Insn::new(Op::Load(load)));
            insns.push(Insn::new(Op::Store(Dma { dram: DST + i * 3 * wb, ..load })));
        }
        let base = 0x1000 - 3 * 32 - wb;
        assert_eq!(run(&mut sim, base, &insns, 1_000_000), Outcome::done(100), "{name}");
        let n = (50 * 3 * wb) as usize;
        assert!(sim.mem()[DST as usize..DST as usize + n] == src[..n], "{name}");
        assert_eq!(sim.protocol_violations(), None, "{name}");
    }
}

/// Read latency, write latency and back-pressure change how long a copy takes, never its result.
#[test]
fn memory_timing_knobs_change_cycles_not_data() {
    let c = Copy {
        rows: 4,
        words: 100,
        bank: 2,
        sp_addr: 3,
        sp_gap: 1,
        src_off_words: 5,
        src_gap: 2,
        dst_off_words: 1,
        dst_gap: 0,
    };
    for (name, cfg) in configs() {
        let mut cycles = Vec::new();
        for (read_latency, write_latency, bp) in [(1, 1, 0), (40, 1, 0), (1, 30, 0), (1, 1, 40)] {
            let mut sim = Sim::new(&cfg, MEM).unwrap();
            sim.set_read_latency(read_latency);
            sim.set_write_latency(write_latency);
            sim.set_backpressure(9, bp);
            check_copy(&mut sim, c, 3).unwrap_or_else(|e| panic!("{name}: {e}"));
            cycles.push(sim.axil_read(spec::regmap::CYCLES_LO.offset));
        }
        let fastest = cycles[0];
        assert!(cycles[1..].iter().all(|&c| c > fastest), "{name}: CYCLES {cycles:?}");
    }
}
