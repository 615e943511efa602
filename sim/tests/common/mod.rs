//! Helpers shared by the RTL tests: run instruction streams and read the outcome.

#![allow(dead_code)]

use sim::Sim;
use spec::isa::{Insn, INSN_BYTES};
use spec::regmap::{self, status};
use spec::AccelConfig;

/// The configurations every test runs on.
pub fn configs() -> [(&'static str, AccelConfig); 2] {
    [("small", AccelConfig::small()), ("default", AccelConfig::default())]
}

/// Registers after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// STATUS.
    pub status: u32,
    /// ERROR_CODE.
    pub error_code: u32,
    /// ERROR_INSN.
    pub error_insn: u32,
    /// INSN_DONE.
    pub insn_done: u32,
}

impl Outcome {
    /// A run of `n` instructions that finished without error.
    pub fn done(n: u32) -> Outcome {
        Outcome { status: status::DONE, error_code: 0, error_insn: 0, insn_done: n }
    }
    /// A run stopped by `code` at instruction `insn` after `done` completed instructions.
    pub fn error(code: u32, insn: u32, done: u32) -> Outcome {
        Outcome { status: status::ERROR, error_code: code, error_insn: insn, insn_done: done }
    }
}

/// Write raw 32-byte instruction words at DRAM byte address `base`.
pub fn place_words(sim: &mut Sim, base: u64, words: &[[u8; INSN_BYTES]]) {
    for (i, w) in words.iter().enumerate() {
        let a = base as usize + i * INSN_BYTES;
        sim.mem_mut()[a..a + INSN_BYTES].copy_from_slice(w);
    }
}

/// Point the controller at `count` instructions at `base`, START, and wait for idle.
pub fn start(sim: &mut Sim, base: u64, count: u32, timeout: u64) -> Outcome {
    sim.axil_write(regmap::INSN_BASE_LO.offset, base as u32);
    sim.axil_write(regmap::INSN_BASE_HI.offset, (base >> 32) as u32);
    sim.axil_write(regmap::INSN_COUNT.offset, count);
    sim.axil_write(regmap::CTRL.offset, 1);
    sim.run_until_idle(timeout).unwrap_or_else(|e| panic!("{e}"));
    outcome(sim)
}

/// Place `words` at `base` and run them.
pub fn run_words(sim: &mut Sim, base: u64, words: &[[u8; INSN_BYTES]], timeout: u64) -> Outcome {
    place_words(sim, base, words);
    start(sim, base, words.len() as u32, timeout)
}

/// Encode, place and run `insns` at `base`.
pub fn run(sim: &mut Sim, base: u64, insns: &[Insn], timeout: u64) -> Outcome {
    let words: Vec<_> = insns.iter().map(Insn::encode).collect();
    run_words(sim, base, &words, timeout)
}

/// The status registers.
pub fn outcome(sim: &mut Sim) -> Outcome {
    Outcome {
        status: sim.axil_read(regmap::STATUS.offset),
        error_code: sim.axil_read(regmap::ERROR_CODE.offset),
        error_insn: sim.axil_read(regmap::ERROR_INSN.offset),
        insn_done: sim.axil_read(regmap::INSN_DONE.offset),
    }
}

/// Deterministic bytes for test data (splitmix64).
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}
