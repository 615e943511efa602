//! Programs are compiled for DRAM addresses counted from 0 (offsets into the device memory);
//! on a board the accelerator's AXI master sees physical addresses. Before each START the
//! board backend copies the instruction stream, adds the u-dma-buf's physical base to every
//! DRAM address field (`DMA_DRAM_ADDR` of LOAD/STORE, `GEMM_W_ADDR`) and checks that every
//! access the instruction makes lies inside the buffer: an instruction can never make the
//! accelerator read or write memory outside it.

use crate::device::DeviceError;
use spec::isa::{self, Insn, Op, OutMode, WeightSource};
use spec::AccelConfig;

/// DRAM bytes `insn` (with its live sizes resolved) reads or writes, as `(address, length)`.
pub fn dram_extent(insn: &Insn, cfg: &AccelConfig) -> Option<(u64, u64)> {
    let word = cfg.word_bytes() as u64;
    match insn.op {
        Op::Load(d) | Op::Store(d) if d.rows > 0 && d.words > 0 => {
            Some((d.dram, (d.rows as u64 - 1) * d.dram_stride + d.words as u64 * word))
        }
        Op::Gemm(g) => {
            let dram_weights = matches!(g.b, WeightSource::Dram);
            let lut = matches!(g.out.mode, OutMode::Int8Lut);
            let words =
                isa::weight_stream_words(g.k as usize, g.n as usize, cfg.array_rows, cfg.array_cols, dram_weights, lut);
            Some((g.weights, words as u64 * word))
        }
        _ => None,
    }
}

/// `insn_bytes` (whole instructions) with `base` added to every DRAM address, each access
/// checked against the `limit` bytes of the buffer the program may use. Sizes marked live
/// are taken at `live_tokens` (the selectors only ever lower the count). Relocation stops at
/// the first instruction that does not decode: the accelerator stops there with ERROR, so the
/// rest is copied unchanged and never runs.
pub fn relocate(
    insn_bytes: &[u8],
    base: u64,
    limit: u64,
    live_tokens: u16,
    cfg: &AccelConfig,
) -> Result<Vec<u8>, DeviceError> {
    let mut out = insn_bytes.to_vec();
    for (i, chunk) in out.chunks_exact_mut(isa::INSN_BYTES).enumerate() {
        let word: &mut isa::Word = chunk.try_into().expect("whole instructions");
        let Ok(insn) = Insn::decode(word) else { break };
        let Ok(resolved) = insn.resolve(live_tokens) else { break };
        let Some((addr, len)) = dram_extent(&resolved, cfg) else { continue };
        if addr.checked_add(len).is_none_or(|end| end > limit) {
            return Err(DeviceError::Backend(format!(
                "instruction {i} ({:?}) accesses DRAM {addr:#x}+{len}, outside the {limit} bytes of the u-dma-buf \
                 the program may use; refused before START",
                insn.op.opcode()
            )));
        }
        let field = match insn.op {
            Op::Gemm(_) => isa::GEMM_W_ADDR,
            _ => isa::DMA_DRAM_ADDR,
        };
        let moved = addr + base;
        if moved > field.max() {
            return Err(DeviceError::Backend(format!(
                "instruction {i}: DRAM address {addr:#x} + u-dma-buf base {base:#x} exceeds the {}-bit field {}",
                field.width, field.name
            )));
        }
        field.set(word, moved);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile_chain;
    use crate::testkit::{random_i8, random_linear};
    use golden::synth::Rng;
    use proptest::prelude::*;
    use spec::isa::{BankAddr, Deps, Dma};

    fn dma(dram: u64, dram_stride: u64, rows: u16, words: u32) -> Insn {
        let d = Dma { sp: BankAddr { bank: 1, addr: 0 }, sp_stride: words, rows, words, dram, dram_stride };
        Insn { deps: Deps::default(), op: Op::Load(d), live: 0 }
    }

    /// Every instruction of a compiled chain: DRAM fields moved by `base`, nothing else changed.
    #[test]
    fn a_compiled_program_moves_by_the_base_and_nothing_else_changes() {
        let cfg = AccelConfig::small();
        let mut rng = Rng::new(3);
        let layers = vec![random_linear(&mut rng, 24, 40), random_linear(&mut rng, 40, 16)];
        let prog = compile_chain(&layers, &random_i8(&mut rng, 5, 24), &cfg).unwrap();
        let base = 0x6_8000_0000u64;
        let bytes = relocate(&prog.insn_bytes(), base, prog.dram_bytes, prog.live_tokens, &cfg).unwrap();
        let (mut dmas, mut gemms) = (0, 0);
        for (insn, chunk) in prog.insns.iter().zip(bytes.chunks_exact(isa::INSN_BYTES)) {
            let moved = Insn::decode(chunk.try_into().unwrap()).unwrap();
            let expect = match insn.op {
                Op::Load(d) => Op::Load(Dma { dram: d.dram + base, ..d }),
                Op::Store(d) => Op::Store(Dma { dram: d.dram + base, ..d }),
                Op::Gemm(g) => Op::Gemm(isa::Gemm { weights: g.weights + base, ..g }),
                op => op,
            };
            dmas += matches!(insn.op, Op::Load(_) | Op::Store(_)) as usize;
            gemms += matches!(insn.op, Op::Gemm(_)) as usize;
            assert_eq!(moved, Insn { op: expect, ..*insn });
        }
        assert!(dmas >= 2 && gemms == 2, "{dmas} DMAs, {gemms} GEMMs");
        // One byte less of buffer than the program uses: some access falls outside.
        let last = prog.insns.iter().filter_map(|i| dram_extent(i, &cfg)).map(|(a, l)| a + l).max().unwrap();
        assert!(relocate(&prog.insn_bytes(), base, last - 1, prog.live_tokens, &cfg).is_err());
        assert!(relocate(&prog.insn_bytes(), base, last, prog.live_tokens, &cfg).is_ok());
    }

    #[test]
    fn relocation_stops_at_an_undecodable_instruction() {
        let cfg = AccelConfig::small();
        let mut bytes =
            [dma(0x100, 0x40, 2, 1), dma(0x200, 0x40, 1, 1)].iter().flat_map(|i| i.encode()).collect::<Vec<_>>();
        bytes[64] = 0xff; // opcode of instruction 1
        let out = relocate(&bytes, 0x1000, 0x10000, 0, &cfg).unwrap();
        assert_eq!(out[64..], bytes[64..], "left as written");
        assert_eq!(Insn::decode(out[..64].try_into().unwrap()).unwrap(), dma(0x1100, 0x40, 2, 1));
    }

    proptest! {
        /// A LOAD moves by the base when its rows lie in the buffer, and is refused otherwise.
        #[test]
        fn a_dma_moves_or_is_refused(row in 0u64..64, rows in 1u16..8, words in 1u32..4, stride_words in 0u64..6,
                                     limit_words in 1u64..200, base_pages in 0u64..1 << 20) {
            let cfg = AccelConfig::small();
            let wb = cfg.word_bytes() as u64;
            let insn = dma(row * wb, stride_words * wb, rows, words);
            let base = base_pages << 12;
            let end = row * wb + (rows as u64 - 1) * stride_words * wb + words as u64 * wb;
            let got = relocate(&insn.encode(), base, limit_words * wb, 0, &cfg);
            if end <= limit_words * wb {
                let moved = Insn::decode(got.unwrap()[..].try_into().unwrap()).unwrap();
                prop_assert_eq!(moved, dma(row * wb + base, stride_words * wb, rows, words));
            } else {
                prop_assert!(got.unwrap_err().to_string().contains("outside"));
            }
        }
    }
}
