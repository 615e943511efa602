//! The token selector's instructions alone (COLMEAN, SELECT), on every backend: every byte they
//! write and the LIVE_TOKENS they leave equal the golden ISA simulator's, and their cycles equal
//! the cycle model's, over random cases and the edge cases of pruning (every token kept, every
//! patch token dropped, exactly one token kept, the maximum token count). The decisions, the
//! gathered rows, the count word and the column means are checked against `spec::numerics`
//! independently of every backend.

use crate::common::{Backend, GOLDEN};
use host::cycle_model::CycleModel;
use host::device::{self, Device};
use host::program::{DramAlloc, Program, Segment};
use proptest::prelude::*;
use spec::isa::{self, BankAddr, ColMean, Dma, Insn, Op, Select};
use spec::numerics::keep_decision;
use spec::regmap;
use spec::AccelConfig;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const MEM: usize = 1 << 20;

/// A region of the scratchpad staged from and read back to DRAM.
struct Region {
    bank: u8,
    words: usize,
    out: u64,
}

/// Three programs: LOAD every region, the instruction alone, STORE every region.
struct Case {
    load: Program,
    op: Program,
    store: Program,
    regions: Vec<Region>,
}

fn case(cfg: &AccelConfig, data: Vec<(u8, Vec<u8>)>, insn: Insn, live: u16) -> Case {
    let wb = cfg.word_bytes();
    let mut alloc = DramAlloc::default();
    let mut load = Program::default();
    let mut store = Program::default();
    let mut regions = vec![];
    for (bank, mut bytes) in data {
        bytes.resize(bytes.len().div_ceil(wb) * wb, 0);
        let words = bytes.len() / wb;
        let dram = alloc.alloc(bytes.len());
        let out = alloc.alloc(bytes.len());
        let dma =
            Dma { sp: BankAddr { bank, addr: 0 }, sp_stride: 0, rows: 1, words: words as u32, dram, dram_stride: 0 };
        load.segments.push(Segment { name: format!("bank{bank}"), addr: dram, bytes });
        load.insns.push(Insn::new(Op::Load(dma)));
        store.insns.push(Insn::new(Op::Store(Dma { dram: out, ..dma })));
        regions.push(Region { bank, words, out });
    }
    let mut op = Program { insns: vec![insn], live_tokens: live, ..Program::default() };
    for p in [&mut load, &mut op, &mut store] {
        p.insn_base = alloc.alloc(p.insns.len() * isa::INSN_BYTES);
        p.dram_bytes = MEM as u64;
    }
    Case { load, op, store, regions }
}

/// Run a case: (bytes of every region after the op, LIVE_TOKENS after it, CYCLES of the op).
fn run(dev: &mut dyn Device, c: &Case) -> (Vec<Vec<u8>>, u32, u64) {
    device::run(dev, &c.load, TIMEOUT).unwrap();
    let st = device::run(dev, &c.op, TIMEOUT).unwrap();
    let live = dev.read_reg(regmap::LIVE_TOKENS.offset).unwrap();
    device::run(dev, &c.store, TIMEOUT).unwrap();
    let wb = dev.config().word_bytes();
    let out = c.regions.iter().map(|r| dev.read_mem(r.out, r.words * wb).unwrap()).collect();
    (out, live, st.cycles)
}

/// Run a case on `backend`: its cycles must be the model's and, unless it is the reference,
/// every byte and LIVE_TOKENS those of the golden ISA simulator. Returns the backend's banks
/// and LIVE_TOKENS.
fn on(backend: &Backend, cfg: &AccelConfig, c: &Case, model_cycles: u64) -> (Vec<Vec<u8>>, u32) {
    let (banks, live, cycles) = run(backend.open(cfg, MEM).as_mut(), c);
    assert_eq!(cycles, model_cycles, "{}: cycles vs the cycle model", backend.name);
    if !backend.is_reference() {
        let (want, want_live, _) = run(GOLDEN.open(cfg, MEM).as_mut(), c);
        for (i, (got, want)) in banks.iter().zip(&want).enumerate() {
            if let Some(k) = (0..want.len()).find(|&k| got[k] != want[k]) {
                panic!("{}: bank {} byte {k}: {}, golden {}", backend.name, c.regions[i].bank, got[k], want[k]);
            }
        }
        assert_eq!(live, want_live, "{}: LIVE_TOKENS", backend.name);
    }
    (banks, live)
}

/// How the keep probabilities are drawn.
#[derive(Clone, Copy, Debug)]
enum Pattern {
    /// Uniform random probabilities and weights (zero weights included: ties keep).
    Random,
    /// Every probability 255: every token kept, no package token.
    AllKept,
    /// Every probability 0 and every weight positive: only the prefix and the package live.
    AllDropped,
    /// Only token `k` (and the prefix) has probability 255.
    OneKept(usize),
}

#[allow(clippy::too_many_arguments)]
fn select_case(
    backend: &Backend,
    cfg: &AccelConfig,
    rows: usize,
    n: usize,
    heads: usize,
    prefix: usize,
    gather_rows: usize,
    pattern: Pattern,
    seed: u64,
) {
    let r = cfg.word_bytes();
    let mut rng = golden::synth::Rng::new(seed);
    let mut byte = || rng.next_u64() as u8;
    let e_w = n.div_ceil(r);
    // Residual planes: rows + 1 rows (row `rows` is the package scratch row), random words.
    let x_lo: Vec<u8> = (0..(rows + 1) * e_w * r).map(|_| byte()).collect();
    let x_hi: Vec<u8> = (0..(rows + 1) * e_w * r).map(|_| byte()).collect();
    let w: Vec<u8> = (0..heads)
        .map(|_| match pattern {
            Pattern::Random => byte(),
            _ => byte().max(1),
        })
        .collect();
    let p: Vec<Vec<u8>> = (0..rows)
        .map(|t| {
            (0..heads)
                .map(|_| match pattern {
                    Pattern::Random => byte(),
                    Pattern::AllKept => 255,
                    Pattern::AllDropped => 0,
                    Pattern::OneKept(k) => {
                        if t == k {
                            255
                        } else {
                            0
                        }
                    }
                })
                .collect()
        })
        .collect();
    // Probabilities: head j of token t at word j*rows + t, byte 0 (other bytes random); the
    // weights after them.
    let w_addr = heads * rows;
    let mut probs: Vec<u8> = (0..(w_addr + heads.div_ceil(r)) * r).map(|_| byte()).collect();
    for (t, pt) in p.iter().enumerate() {
        for (j, &v) in pt.iter().enumerate() {
            probs[(j * rows + t) * r] = v;
        }
    }
    probs[w_addr * r..w_addr * r + heads].copy_from_slice(&w);
    // Gathered byte rows, the package entry at byte `rows + 1`, then the count word.
    let pkg_byte = rows + 1;
    let g_w = (pkg_byte + 1).div_ceil(r);
    let gather: Vec<u8> = (0..(gather_rows * g_w + 1) * r).map(|_| byte()).collect();
    let sel = Select {
        rows: 0,
        n: n as u16,
        x: BankAddr { bank: 0, addr: 0 },
        x_hi_bank: 1,
        x_stride: e_w as u32,
        probs: BankAddr { bank: 2, addr: 0 },
        probs_stride: rows as u32,
        weights_addr: w_addr as u32,
        heads: heads as u8,
        prefix: prefix as u8,
        gather: BankAddr { bank: 3, addr: 0 },
        gather_stride: g_w as u32,
        gather_rows: gather_rows as u8,
        package_byte: pkg_byte as u16,
    };
    // Rows are live: the count comes from LIVE_TOKENS.
    let insn = Insn { live: isa::live::M, ..Insn::new(Op::Select(sel)) };
    let c = case(cfg, vec![(0, x_lo.clone()), (1, x_hi), (2, probs), (3, gather.clone())], insn, rows as u16);
    // Independent expectation of the decisions (spec::numerics only).
    let keep: Vec<bool> = (0..rows).map(|t| t < prefix || keep_decision(&w, &p[t]).0).collect();
    let kept = keep.iter().filter(|&&k| k).count();
    let want_live = kept + (kept < rows) as usize;
    match pattern {
        Pattern::AllKept => assert_eq!(want_live, rows),
        Pattern::AllDropped => assert_eq!(want_live, prefix.min(rows) + (prefix < rows) as usize),
        Pattern::OneKept(_) => assert!(want_live <= prefix + 2),
        Pattern::Random => {}
    }
    let resolved = Insn { live: 0, ..insn }.resolve(rows as u16).unwrap();
    let Op::Select(rs) = resolved.op else { unreachable!() };
    let rs = Select { rows: rows as u16, ..rs };
    let model = CycleModel::new(cfg);
    let cycles = model.fetch() + model.select_cycles(&rs, &keep) + host::cycle_model::DONE_CYCLES;
    let (banks, live) = on(backend, cfg, &c, cycles);
    assert_eq!(live as usize, want_live, "new live count");
    // The gathered rows follow the kept tokens; the count word holds the new count.
    let g = &banks[3];
    for row in 0..gather_rows {
        let base = row * g_w * r;
        let want: Vec<u8> = (0..rows)
            .filter(|&t| keep[t])
            .map(|t| gather[base + t])
            .chain((kept < rows).then(|| gather[base + pkg_byte]))
            .collect();
        assert_eq!(&g[base..base + want.len()], &want[..], "gathered row {row}");
    }
    let cnt = gather_rows * g_w * r;
    assert_eq!(u16::from_le_bytes([g[cnt], g[cnt + 1]]) as usize, want_live, "count word");
    // Kept rows (low plane) in order.
    let lo = &banks[0];
    for (pos, t) in (0..rows).filter(|&t| keep[t]).enumerate() {
        assert_eq!(&lo[pos * e_w * r..][..n], &x_lo[t * e_w * r..][..n], "row {t} moved to {pos}");
    }
}

fn colmean_case(
    backend: &Backend,
    cfg: &AccelConfig,
    rows: usize,
    n: usize,
    in_place: bool,
    mean_byte: usize,
    seed: u64,
) {
    let r = cfg.word_bytes();
    let mut rng = golden::synth::Rng::new(seed);
    let stride = n.div_ceil(r) + (seed % 2) as usize;
    let input: Vec<u8> = (0..rows * stride * r).map(|_| rng.next_u64() as u8).collect();
    let other: Vec<u8> = (0..rows * stride * r).map(|_| rng.next_u64() as u8).collect();
    let means: Vec<u8> = (0..(mean_byte / r + 1) * r).map(|_| rng.next_u64() as u8).collect();
    let out_bank = if in_place { 0 } else { 1 };
    let cm = ColMean {
        rows: 0,
        n: n as u16,
        input: BankAddr { bank: 0, addr: 0 },
        in_stride: stride as u32,
        out: BankAddr { bank: out_bank, addr: 0 },
        out_stride: stride as u32,
        mean_at: BankAddr { bank: 2, addr: 0 },
        mean_byte: mean_byte as u16,
    };
    let insn = Insn { live: isa::live::M, ..Insn::new(Op::ColMean(cm)) };
    let c = case(cfg, vec![(0, input.clone()), (1, other), (2, means)], insn, rows as u16);
    let model = CycleModel::new(cfg);
    let resolved = insn.resolve(rows as u16).unwrap();
    let cycles = model.insn(&resolved).0;
    let (banks, _) = on(backend, cfg, &c, cycles);
    // Independent expectation: numerics::mean_i8 over each column, then over the means.
    let col =
        |c: usize| -> i8 { spec::numerics::mean_i8((0..rows).map(|t| input[(t * stride + c / r) * r + c % r] as i8)) };
    let g: Vec<i8> = (0..n).map(col).collect();
    let out = &banks[out_bank as usize];
    for t in 0..rows {
        for (c, &gc) in g.iter().enumerate() {
            assert_eq!(out[(t * stride + c / r) * r + c % r] as i8, gc, "row {t} channel {c}");
        }
    }
    assert_eq!(banks[2][mean_byte] as i8, spec::numerics::mean_i8(g.into_iter()), "mean of means");
}

/// The pruning edge cases of SELECT, up to the maximum token and head counts.
fn check_select_edge_cases(backend: &Backend) {
    let cfg = AccelConfig::small();
    let max = cfg.max_tokens;
    select_case(backend, &cfg, 10, 20, 3, 1, 3, Pattern::AllKept, 1);
    select_case(backend, &cfg, 10, 20, 3, 1, 3, Pattern::AllDropped, 2);
    select_case(backend, &cfg, 10, 20, 3, 2, 3, Pattern::AllDropped, 3);
    select_case(backend, &cfg, 10, 9, 2, 0, 2, Pattern::OneKept(4), 4);
    select_case(backend, &cfg, 1, 8, 1, 0, 1, Pattern::AllDropped, 5);
    select_case(backend, &cfg, 1, 8, 1, 1, 1, Pattern::AllDropped, 6);
    select_case(backend, &cfg, max, 33, cfg.max_heads, 2, 4, Pattern::Random, 7);
    select_case(backend, &cfg, max, 16, cfg.max_heads, 2, 4, Pattern::AllDropped, 8);
    select_case(backend, &cfg, max, 16, 4, 1, 0, Pattern::AllKept, 9);
}

/// COLMEAN of one element, of the maximum token count, and out of place.
fn check_colmean_edge_cases(backend: &Backend) {
    let cfg = AccelConfig::small();
    colmean_case(backend, &cfg, 1, 1, true, 0, 1);
    colmean_case(backend, &cfg, cfg.max_tokens, 24, true, 5, 2);
    colmean_case(backend, &cfg, 7, 13, false, 17, 3);
}

/// Both ops on the default configuration, whose column pass has 4 lanes for 16-byte words
/// (each word in four slices): channel counts within one slice, across slices and words.
fn check_folded_column_pass(backend: &Backend) {
    let cfg = AccelConfig::default();
    assert!(cfg.sel_lanes() < cfg.array_rows, "the default folds the column pass");
    select_case(backend, &cfg, 40, 50, 3, 1, 3, Pattern::Random, 11);
    select_case(backend, &cfg, 20, 192, 3, 1, 2, Pattern::AllDropped, 12);
    select_case(backend, &cfg, 9, 3, 2, 0, 1, Pattern::OneKept(4), 13);
    colmean_case(backend, &cfg, 30, 13, true, 5, 14);
    colmean_case(backend, &cfg, 64, 32, false, 17, 15);
}

on_every_backend!(BACKEND => {
    #[test]
    fn select_edge_cases() {
        check_select_edge_cases(BACKEND);
    }

    #[test]
    fn folded_column_pass() {
        check_folded_column_pass(BACKEND);
    }

    #[test]
    fn colmean_edge_cases() {
        check_colmean_edge_cases(BACKEND);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: BACKEND.cases(40), failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn select_random(rows in 1usize..=32, n in 1usize..40, heads in 1usize..=8, prefix in 0usize..=2,
                         g in 0usize..4, kind in 0usize..4, seed in any::<u64>()) {
            let pattern = match kind {
                0 => Pattern::AllKept,
                1 => Pattern::AllDropped,
                2 => Pattern::OneKept(seed as usize % rows),
                _ => Pattern::Random,
            };
            select_case(BACKEND, &AccelConfig::small(), rows, n, heads, prefix, g, pattern, seed);
        }

        #[test]
        fn colmean_random(rows in 1usize..=32, n in 1usize..40, in_place: bool, byte in 0usize..24, seed in any::<u64>()) {
            colmean_case(BACKEND, &AccelConfig::small(), rows, n, in_place, byte, seed);
        }
    }
});
