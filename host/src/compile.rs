//! The compiler: model layers to instruction streams and packed memory images.
//!
//! This first slice compiles a chain of linear layers (`x -> requant(x W1^T + b1) -> ...`,
//! e.g. a block's MLP) for `M` token rows: LOAD the input into bank 0, one GEMM per layer
//! ping-ponging between banks 0 and 1 (activations stay on chip), STORE the last result.

use crate::program::{pack_rows, pack_weights, row_words, DramAlloc, OutputRegion, Program, Segment};
use golden::kernels::QLinear;
use ndarray::Array2;
use spec::isa::{BankAddr, Deps, Dma, Gemm, GemmOut, Insn, Op, OutMode, WeightSource};
use spec::AccelConfig;

/// A model that does not fit the hardware or is inconsistent; the message names the limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot compile: {0}")]
pub struct CompileError(pub String);

fn check(ok: bool, msg: impl FnOnce() -> String) -> Result<(), CompileError> {
    if ok {
        Ok(())
    } else {
        Err(CompileError(msg()))
    }
}

/// Compile `layers` applied to the int8 `input` (`M x K0`) into a program whose single output
/// is the last layer's int8 result (`M x N_last`).
pub fn compile_chain(layers: &[QLinear], input: &Array2<i8>, cfg: &AccelConfig) -> Result<Program, CompileError> {
    check(!layers.is_empty(), || "a chain needs at least one layer".into())?;
    let m = input.nrows();
    check(m >= 1 && m <= cfg.max_tokens, || {
        format!("{m} rows, the hardware holds 1..={} tokens (max_tokens)", cfg.max_tokens)
    })?;
    check(input.ncols() == layers[0].in_dim(), || {
        format!("input has {} columns, layer 0 expects {}", input.ncols(), layers[0].in_dim())
    })?;
    for (i, l) in layers.iter().enumerate() {
        for (what, v) in [("input width K", l.in_dim()), ("output width N", l.out_dim())] {
            check(v >= 1 && v <= cfg.max_width, || {
                format!("layer {i} {what} = {v}, the hardware allows 1..={} (max_width)", cfg.max_width)
            })?;
        }
        if i > 0 {
            check(l.in_dim() == layers[i - 1].out_dim(), || {
                format!("layer {i} expects {} inputs, layer {} produces {}", l.in_dim(), i - 1, layers[i - 1].out_dim())
            })?;
        }
        let words = m * row_words(l.in_dim().max(l.out_dim()), cfg);
        check(words <= cfg.bank_words, || {
            format!("layer {i} needs {words} scratchpad words per bank, a bank has {} (bank_words)", cfg.bank_words)
        })?;
    }

    let wb = cfg.word_bytes() as u64;
    let mut dram = DramAlloc::default();
    let mut prog = Program::default();
    let k0 = row_words(input.ncols(), cfg);
    let in_bytes = pack_rows(&input.mapv(|v| v as u8), cfg);
    let in_addr = dram.alloc(in_bytes.len());
    prog.segments.push(Segment { name: "input".into(), addr: in_addr, bytes: in_bytes });
    prog.insns.push(Insn::new(Op::Load(Dma {
        sp: BankAddr { bank: 0, addr: 0 },
        sp_stride: k0 as u32,
        rows: m as u16,
        words: k0 as u32,
        dram: in_addr,
        dram_stride: k0 as u64 * wb,
    })));
    for (i, l) in layers.iter().enumerate() {
        let w = pack_weights(l, cfg);
        let w_addr = dram.alloc(w.len());
        prog.segments.push(Segment { name: format!("layer{i}.weights"), addr: w_addr, bytes: w });
        // Each GEMM waits for the input LOAD; GEMMs run in order on their unit.
        prog.insns.push(Insn {
            live: 0,
            deps: Deps { dma: 1, ..Deps::default() },
            op: Op::Gemm(Gemm {
                m: m as u16,
                k: l.in_dim() as u16,
                n: l.out_dim() as u16,
                a: BankAddr { bank: (i % 2) as u8, addr: 0 },
                a_stride: row_words(l.in_dim(), cfg) as u32,
                a_unsigned: false,
                b: WeightSource::Dram,
                out: GemmOut {
                    at: BankAddr { bank: ((i + 1) % 2) as u8, addr: 0 },
                    stride: row_words(l.out_dim(), cfg) as u32,
                    group: 0,
                    mode: OutMode::Int8,
                },
                row_scale: None,
                weights: w_addr,
            }),
        });
    }
    let n_last = layers.last().expect("non-empty").out_dim();
    let kw = row_words(n_last, cfg);
    let out_addr = dram.alloc(m * kw * wb as usize);
    prog.insns.push(Insn {
        live: 0,
        deps: Deps { dma: 1, gemm: layers.len() as u16, vec: 0 },
        op: Op::Store(Dma {
            sp: BankAddr { bank: (layers.len() % 2) as u8, addr: 0 },
            sp_stride: kw as u32,
            rows: m as u16,
            words: kw as u32,
            dram: out_addr,
            dram_stride: kw as u64 * wb,
        }),
    });
    prog.outputs.push(OutputRegion {
        name: "output".into(),
        addr: out_addr,
        rows: m,
        row_bytes: kw * wb as usize,
        cols: n_last,
    });
    prog.insn_base = dram.alloc(prog.insns.len() * spec::isa::INSN_BYTES);
    prog.dram_bytes = dram.used();
    Ok(prog)
}

/// The golden-model result of a chain: `requant_i8` after every layer.
pub fn chain_reference(layers: &[QLinear], input: &Array2<i8>) -> Array2<i8> {
    let mut x = input.clone();
    for l in layers {
        x = l.forward_i8(x.view());
    }
    x
}
