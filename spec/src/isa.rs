//! The instruction set: 512-bit descriptors the controller fetches from memory and dispatches,
//! in order, to three units that run concurrently: DMA (LOAD, STORE), GEMM, and the vector unit
//! (LAYERNORM, SOFTMAX).
//!
//! Every instruction carries three dependency counts: it is dispatched only once the DMA, GEMM
//! and vector units have each completed at least that many instructions since START (compared
//! modulo 2^16). Within a unit, instructions run one at a time in program order. The compiler
//! sets the counts so that an instruction waits for the instructions whose results it reads
//! (and for the readers of what it overwrites); the golden backend checks them
//! (`host::device::golden`): instructions that may overlap in time must use disjoint banks.
//! Counts that can never be met (every unit idle, the counts still short) stop the program with
//! BAD_FIELD at that instruction.
//!
//! Every field is described once by a [`Field`]; [`Insn::encode`]/[`Insn::decode`] and the RTL
//! decoders slice with these constants. `docs/ISA.md` is generated from [`FIELDS`].
//!
//! # Semantics (the RTL and the golden backend implement exactly this)
//!
//! The scratchpad has `banks` banks of `bank_words` words of `R` bytes; word `w` of bank `b`,
//! byte `i`, is written `b[w].i`. Matrices are token-major: element `(row, ch)` of a matrix at
//! word `at` with row stride `s` is byte `ch % R` of word `at + row*s + ch/R`.
//!
//! * **LOAD / STORE** copy `rows` rows of `words` words between DRAM (`dram + r*dram_stride`)
//!   and the bank (`addr + r*stride`).
//! * **GEMM** (`M x K x N`, `kt = ceil(K/R)`, `nt = ceil(N/C)`):
//!   `acc[m][n] = bias[n] + sum_{k < kt*R} A[m][k] * B[k][n]` (int32, wrapping), where A is int8
//!   (uint8 with `A_UNSIGNED`) at `a`/`a_stride`, and B is int8 from
//!   - the weight stream (DRAM): per n-tile, after its header, `kt` tiles of `R` words; row
//!     `k % R` of tile `k / R` holds `B[k][n0..n0+C]` in bytes `0..C`;
//!   - scratchpad rows: `B[k][n] = byte (g % R) of word at + k*stride + g/R`, `g = group*C + n`,
//!     for `k < K`, else 0;
//!   - scratchpad columns: `B[k][n] = byte (k % R) of word at + n*stride + k/R` for `k < K`,
//!     else 0.
//!
//!   Bias and requantization `(m, s)` per channel come from the n-tile headers of the weight
//!   stream (which for on-chip B holds only the headers, after the optional LUT). With
//!   `ROW_SCALE`, `v = acc * rs[m]` (rs int8, byte `m % R` of word `rs + m/R`), else `v = acc`.
//!   The output channel `n` of row `m` is byte `(g % R)` of word `out + m*stride + g/R`,
//!   `g = out.group*C + n`; only channels `< N` are written:
//!   - `Int8`: `requant_i8(v)`;
//!   - `Int8Lut`: `lut[requant_i8(v) + 128]`, the 256-byte LUT at the start of the stream;
//!   - `Resid16`: `x = sat16(x + requant_i16(v))`, x's low byte in the output bank, its high
//!     byte at the same position in `hi_bank`;
//!   - `Int8Dup`: `requant_i8(v)` in the output bank and the same byte at the same position in
//!     `copy_bank` (scores for SOFTMAX, which reads two copies).
//! * **LAYERNORM** (`rows x n`): row `r`'s input is int16, low bytes at `input`/`in_stride`,
//!   high bytes at the same position in `in_hi_bank`; the output row is
//!   `numerics::layernorm_row` with gamma (int16, little-endian, channel `i` at byte `2i` of the
//!   parameter block) and beta (int32 LE, channel `i` at byte `4i` of the block's part that
//!   starts at word `params.addr + ceil(2n/R)`), and the instruction's output multiplier.
//! * **SOFTMAX** (`rows x n`): int8 rows in, `numerics::softmax_row` U0F8 rows out with the exp
//!   table at `params` (256 u16 LE entries). The row maximum is taken from a second copy of the
//!   rows at the same positions in `in_hi_bank` (the unit's max engine reads it concurrently with
//!   the main passes); the program must keep both copies equal (a GEMM with `Int8Dup` output).
//!
//! * **COLMEAN** (`rows x n`, int8): `g[c] = div_round(sum_r in[r][c], rows)` for `c < n`, then
//!   `out[r][c] = g[c]` for every row (after all rows were read: in place is allowed), and
//!   `div_round(sum_c g[c], n)` to byte `mean_byte` counted from word `mean_at`
//!   (`numerics::mean_i8` twice: the selector's global half and its head squeeze).
//! * **SELECT** (`rows` = L tokens of `n` int16 channels at `x`/`x_stride`, planes as LAYERNORM):
//!   per token `t`, `(keep, score) = numerics::keep_decision(w, p[t])` with the head weights `w`
//!   and probabilities `p` (U0F8); tokens `t < prefix` are kept. If any token is dropped, row `L`
//!   becomes the package token (`numerics::package_channel` with weights
//!   `numerics::package_weight(score)` of the dropped rows) and counts as kept. Then the kept rows
//!   move down in order (row `t` to the number of kept rows before it; rows that stay are not
//!   rewritten, rows after the new count keep their old contents), every gathered byte row is
//!   compacted the same way with the package's entry copied from its byte `package_byte`, the
//!   new count `L'` is written little-endian to bytes 0-1 of the word after the gathered rows,
//!   and LIVE_TOKENS becomes `L'`. Instructions with live sizes after a SELECT must wait for it
//!   (their sizes are read at dispatch).
//!
//! Vector outputs write only channels `< n` (byte enables); the GEMM never reads past K, so the
//! bytes after a row need no padding. Every field is checked before an instruction runs;
//! a violation stops the accelerator with BAD_FIELD (see [`Insn::check`]).

use crate::numerics::{Dyadic, MAX_SHIFT, MULT_FRAC_BITS};
use crate::AccelConfig;
use serde::Serialize;

/// Bytes per instruction.
pub const INSN_BYTES: usize = 64;
/// Bits per instruction.
pub const INSN_BITS: usize = 8 * INSN_BYTES;
/// One encoded instruction.
pub type Word = [u8; INSN_BYTES];

/// A bit field of the instruction word (little-endian bit numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Name (used in docs and error messages).
    pub name: &'static str,
    /// Lowest bit.
    pub lsb: u32,
    /// Width in bits.
    pub width: u32,
}

impl Field {
    /// Largest value the field holds (fields up to 64 bits).
    pub const fn max(&self) -> u64 {
        if self.width >= 64 {
            u64::MAX
        } else {
            (1u64 << self.width) - 1
        }
    }
    /// Whether every bit of the field is zero (works for any width).
    pub fn is_zero(&self, w: &Word) -> bool {
        (self.lsb..self.lsb + self.width).all(|b| w[(b / 8) as usize] >> (b % 8) & 1 == 0)
    }
    /// Read the field (at most 64 bits wide).
    pub fn get(&self, w: &Word) -> u64 {
        assert!(self.width <= 64, "{} is wider than 64 bits", self.name);
        let mut v = 0u64;
        for i in 0..self.width {
            let b = self.lsb + i;
            v |= (((w[(b / 8) as usize] >> (b % 8)) & 1) as u64) << i;
        }
        v
    }
    /// Write the field; `v` must fit (bits of fields wider than 64 above bit 63 become zero).
    pub fn set(&self, w: &mut Word, v: u64) {
        assert!(v <= self.max(), "{} = {v} does not fit in {} bits", self.name, self.width);
        for i in 0..self.width {
            let b = self.lsb + i;
            let byte = &mut w[(b / 8) as usize];
            let bit = if i < 64 { ((v >> i) & 1) as u8 } else { 0 };
            *byte = (*byte & !(1 << (b % 8))) | (bit << (b % 8));
        }
    }
}

macro_rules! fields {
    ($($(#[$doc:meta])* $id:ident = ($lsb:expr, $w:expr);)*) => {
        $( $(#[$doc])* pub const $id: Field = Field { name: stringify!($id), lsb: $lsb, width: $w }; )*
        /// Every field, for documentation and overlap checks.
        pub const FIELDS: &[Field] = &[$($id),*];
    };
}

fields! {
    /// Operation ([`Opcode`]).
    OPCODE = (0, 8);
    /// Dispatch once the DMA unit has completed this many instructions (mod 2^16).
    DEP_DMA = (8, 16);
    /// Dispatch once the GEMM unit has completed this many instructions (mod 2^16).
    DEP_GEMM = (24, 16);
    /// Dispatch once the vector unit has completed this many instructions (mod 2^16).
    DEP_VEC = (40, 16);

    /// DMA: scratchpad bank.
    DMA_BANK = (64, 4);
    /// DMA: first scratchpad word.
    DMA_ADDR = (68, 20);
    /// DMA: rows to move.
    DMA_ROWS = (88, 16);
    /// DMA: scratchpad words between row starts.
    DMA_STRIDE = (104, 20);
    /// DMA: words (of R bytes) per row.
    DMA_WORDS = (128, 32);
    /// DMA: first DRAM byte address (word aligned).
    DMA_DRAM_ADDR = (160, 40);
    /// DMA: DRAM bytes between row starts (word aligned).
    DMA_DRAM_STRIDE = (200, 40);

    /// GEMM: flags, see [`gemm_flags`].
    GEMM_FLAGS = (56, 8);
    /// GEMM: rows of A (tokens).
    GEMM_M = (64, 16);
    /// GEMM: reduction length.
    GEMM_K = (80, 16);
    /// GEMM: output channels.
    GEMM_N = (96, 16);
    /// GEMM: bank of A.
    GEMM_A_BANK = (112, 4);
    /// GEMM: word address of A's row 0 (channel 0 of the reduction).
    GEMM_A_ADDR = (116, 20);
    /// GEMM: words between A rows.
    GEMM_A_STRIDE = (136, 20);
    /// GEMM: bank of an on-chip stationary operand.
    GEMM_B_BANK = (156, 4);
    /// GEMM: word address of the on-chip operand's row 0.
    GEMM_B_ADDR = (160, 20);
    /// GEMM: words between the on-chip operand's rows.
    GEMM_B_STRIDE = (180, 20);
    /// GEMM: C-byte group of the first output channel within a B word (row-wise loads).
    GEMM_B_GROUP = (200, 4);
    /// GEMM: output bank (the low byte plane for 16-bit results).
    GEMM_O_BANK = (204, 4);
    /// GEMM: high byte plane of 16-bit results.
    GEMM_O_HI_BANK = (208, 4);
    /// GEMM: C-byte group of output channel 0 within its word.
    GEMM_O_GROUP = (212, 4);
    /// GEMM: word address of output row 0.
    GEMM_O_ADDR = (216, 20);
    /// GEMM: words between output rows.
    GEMM_O_STRIDE = (236, 20);
    /// GEMM: bank of the per-row scale vector.
    GEMM_RS_BANK = (256, 4);
    /// GEMM: word address of the per-row scale vector (M int8, R per word).
    GEMM_RS_ADDR = (260, 20);
    /// GEMM: DRAM byte address of the weight stream ([`weight_stream_words`]).
    GEMM_W_ADDR = (280, 40);

    /// Vector: rows.
    VEC_ROWS = (64, 16);
    /// Vector: channels per row.
    VEC_N = (80, 16);
    /// Vector: input bank (the low byte plane of 16-bit inputs).
    VEC_IN_LO_BANK = (96, 4);
    /// Vector: high byte plane of 16-bit inputs.
    VEC_IN_HI_BANK = (100, 4);
    /// Vector: word address of input row 0.
    VEC_IN_ADDR = (104, 20);
    /// Vector: words between input rows.
    VEC_IN_STRIDE = (124, 20);
    /// Vector: output bank.
    VEC_OUT_BANK = (144, 4);
    /// Vector: word address of output row 0.
    VEC_OUT_ADDR = (148, 20);
    /// Vector: words between output rows.
    VEC_OUT_STRIDE = (168, 20);
    /// Vector: bank of the parameter block (LayerNorm gamma/beta, softmax exp table).
    VEC_PAR_BANK = (188, 4);
    /// Vector: word address of the parameter block.
    VEC_PAR_ADDR = (192, 20);
    /// Vector: LayerNorm output multiplier m.
    VEC_OUT_M = (212, 16);
    /// Vector: LayerNorm output shift s.
    VEC_OUT_S = (228, 8);
    /// Vector: COLMEAN: byte index (from `VEC_PAR_ADDR`) of the mean of the means; SELECT: byte
    /// index of the package token's value in every gathered row.
    VEC_AUX = (236, 16);
    /// SELECT: heads (probability columns and head weights).
    VEC_SEL_HEADS = (252, 8);
    /// SELECT: prefix tokens (class/distillation), always kept.
    VEC_SEL_PREFIX = (260, 4);
    /// SELECT: words between the heads' probability columns.
    VEC_SEL_P_STRIDE = (264, 20);
    /// SELECT: word address of the head weights (in `VEC_PAR_BANK`).
    VEC_SEL_W_ADDR = (284, 20);
    /// SELECT: gathered byte rows (token masks, token indices) at `VEC_OUT_*`.
    VEC_SEL_G_ROWS = (304, 8);

    /// GEMM and vector: sizes taken from the LIVE_TOKENS register at dispatch, see [`live`].
    LIVE_SIZES = (320, 8);
    /// Reserved for future fields: must be zero (the hardware reports BAD_FIELD otherwise).
    RESERVED = (328, 184);
}

/// Bits of [`LIVE_SIZES`]: bit `i` replaces the 16-bit size at bits `64 + 16 i` (GEMM: M, K,
/// N; LAYERNORM/SOFTMAX: rows, n) with the LIVE_TOKENS register when the instruction is
/// dispatched, so one program serves every live token count (token pruning). LOAD and STORE take
/// none, the vector ops no [`live::N`] (BAD_FIELD).
pub mod live {
    use super::Unit;
    /// GEMM M, vector rows.
    pub const M: u8 = 1;
    /// GEMM K, vector n.
    pub const K: u8 = 2;
    /// GEMM N.
    pub const N: u8 = 4;
    /// Every defined bit.
    pub const DEFINED: u8 = 7;
    /// Bit position of the first size (each is 16 bits wide).
    pub const FIRST_SIZE_LSB: u32 = 64;

    /// Whether `bits` are valid for an instruction of `unit`.
    pub fn valid(unit: Unit, bits: u8) -> bool {
        let allowed = match unit {
            Unit::Dma => 0,
            Unit::Gemm => DEFINED,
            Unit::Vec => M | K,
        };
        bits & !allowed == 0
    }
}

/// Bits of [`GEMM_FLAGS`].
pub mod gemm_flags {
    /// A holds unsigned bytes (softmax probabilities).
    pub const A_UNSIGNED: u64 = 1;
    /// The stationary operand comes from the scratchpad, not the weight stream.
    pub const B_ONCHIP: u64 = 2;
    /// On-chip operand loaded by columns (`K^T`: one column = one row of the operand).
    pub const B_COLUMNS: u64 = 4;
    /// Multiply each accumulator row by the per-row int8 scale vector before requantization.
    pub const ROW_SCALE: u64 = 8;
    /// Output mode, 2 bits at this shift ([`super::OutMode`]).
    pub const MODE_SHIFT: u32 = 4;
    /// Every defined bit.
    pub const DEFINED: u64 = 0x3f;
}

/// Instruction opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[repr(u8)]
pub enum Opcode {
    /// DRAM -> scratchpad (DMA unit).
    Load = 1,
    /// Scratchpad -> DRAM (DMA unit).
    Store = 2,
    /// Tiled GEMM (GEMM unit).
    Gemm = 3,
    /// Row-wise integer LayerNorm, int16 planes -> int8 (vector unit).
    LayerNorm = 4,
    /// Row-wise integer softmax, int8 -> U0F8 (vector unit).
    Softmax = 5,
    /// Column means over the rows, broadcast back (vector unit; token selector).
    ColMean = 6,
    /// Keep decision, compaction and package token (vector unit; token selector).
    Select = 7,
}

impl Opcode {
    /// Decode an opcode byte.
    pub fn from_u8(v: u8) -> Option<Opcode> {
        [Opcode::Load, Opcode::Store, Opcode::Gemm, Opcode::LayerNorm, Opcode::Softmax, Opcode::ColMean, Opcode::Select]
            .into_iter()
            .find(|o| *o as u8 == v)
    }
    /// The unit that runs it.
    pub fn unit(self) -> Unit {
        match self {
            Opcode::Load | Opcode::Store => Unit::Dma,
            Opcode::Gemm => Unit::Gemm,
            Opcode::LayerNorm | Opcode::Softmax | Opcode::ColMean | Opcode::Select => Unit::Vec,
        }
    }
}

/// The execution units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Unit {
    /// LOAD and STORE.
    Dma,
    /// GEMM.
    Gemm,
    /// LAYERNORM, SOFTMAX, COLMEAN and SELECT.
    Vec,
}

impl Unit {
    /// All units.
    pub const ALL: [Unit; 3] = [Unit::Dma, Unit::Gemm, Unit::Vec];
    /// Index (0 DMA, 1 GEMM, 2 vector).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Dependency counts: completed instructions per unit required before dispatch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Deps {
    /// DMA unit.
    pub dma: u16,
    /// GEMM unit.
    pub gemm: u16,
    /// Vector unit.
    pub vec: u16,
}

impl Deps {
    /// The count for `u`.
    pub fn of(&self, u: Unit) -> u16 {
        [self.dma, self.gemm, self.vec][u.index()]
    }
    /// Set the count for `u`.
    pub fn set(&mut self, u: Unit, v: u16) {
        *[&mut self.dma, &mut self.gemm, &mut self.vec][u.index()] = v;
    }
}

/// A scratchpad location: bank and word address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BankAddr {
    /// Bank index.
    pub bank: u8,
    /// Word address within the bank.
    pub addr: u32,
}

/// A 2-D copy between DRAM and the scratchpad (`rows` rows of `words` words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Dma {
    /// Scratchpad side.
    pub sp: BankAddr,
    /// Scratchpad words between rows.
    pub sp_stride: u32,
    /// Rows.
    pub rows: u16,
    /// Words per row.
    pub words: u32,
    /// DRAM byte address (multiple of the word size).
    pub dram: u64,
    /// DRAM bytes between rows (multiple of the word size).
    pub dram_stride: u64,
}

/// Where the stationary operand of a GEMM comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum WeightSource {
    /// The weight stream in DRAM (`ceil(K/R)` tiles of R rows per n-tile after its header).
    Dram,
    /// The scratchpad, one tile row (C bytes: output channels `n0..n0+C` of reduction index k) per
    /// load: word `at + k*stride + (group*C + n0)/R`, group `((group*C + n0) % R) / C` (V in `P V`).
    Rows {
        /// Row 0.
        at: BankAddr,
        /// Words between reduction indices.
        stride: u32,
        /// C-byte group of output channel 0.
        group: u8,
    },
    /// The scratchpad, one tile column (R bytes: reduction indices `k0..k0+R` of output channel
    /// n) per load: word `at + n*stride + k0/R` (K^T in `Q K^T`).
    Columns {
        /// Row 0.
        at: BankAddr,
        /// Words between output channels.
        stride: u32,
    },
}

/// Output mode of a GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OutMode {
    /// `requant_i8` per channel.
    Int8,
    /// `lut[requant_i8]` with the 256-entry int8 table at the start of the weight stream (GELU).
    Int8Lut,
    /// 16-bit residual update `X = sat16(X + requant_i16)`, X in two byte planes: low bytes at the
    /// output bank, high bytes at `hi_bank`, same addresses.
    Resid16 {
        /// High byte plane.
        hi_bank: u8,
    },
    /// `requant_i8`, written to the output bank and the same bytes to `copy_bank` at the same
    /// addresses (attention scores: the softmax's row-max engine reads the copy).
    Int8Dup {
        /// Bank of the copy.
        copy_bank: u8,
    },
}

/// A GEMM output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GemmOut {
    /// Row 0 (word of the first output group).
    pub at: BankAddr,
    /// Words between output rows.
    pub stride: u32,
    /// C-byte group of output channel 0 within its word.
    pub group: u8,
    /// Mode.
    pub mode: OutMode,
}

/// `out[m][n] = f(sum_k A[m][k] B[k][n] + bias[n])` for `M x K x N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Gemm {
    /// Rows of A.
    pub m: u16,
    /// Reduction length.
    pub k: u16,
    /// Output channels.
    pub n: u16,
    /// A's row 0.
    pub a: BankAddr,
    /// Words between A rows.
    pub a_stride: u32,
    /// A holds unsigned bytes.
    pub a_unsigned: bool,
    /// Stationary operand.
    pub b: WeightSource,
    /// Output.
    pub out: GemmOut,
    /// Per-row int8 scale (M values, R per word), if any.
    pub row_scale: Option<BankAddr>,
    /// DRAM address of the weight stream.
    pub weights: u64,
}

/// A row-wise vector operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct VecOp {
    /// Rows.
    pub rows: u16,
    /// Channels per row.
    pub n: u16,
    /// Input row 0 (low byte plane for 16-bit inputs).
    pub input: BankAddr,
    /// High byte plane bank (LayerNorm).
    pub in_hi_bank: u8,
    /// Words between input rows.
    pub in_stride: u32,
    /// Output row 0.
    pub out: BankAddr,
    /// Words between output rows.
    pub out_stride: u32,
    /// Parameter block (LayerNorm: n int16 gamma then, word aligned, n int32 beta; softmax:
    /// 256 u16 exp entries).
    pub params: BankAddr,
    /// LayerNorm output multiplier (zero for softmax).
    pub out_mult: Dyadic,
}

/// COLMEAN: per-channel means of int8 rows over the rows, written to every output row, and the
/// mean of those means (the token selector's global half and its squeeze).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ColMean {
    /// Rows (tokens).
    pub rows: u16,
    /// Channels.
    pub n: u16,
    /// Input row 0.
    pub input: BankAddr,
    /// Words between input rows.
    pub in_stride: u32,
    /// Output row 0 (may be the input: the means are written after every row was read).
    pub out: BankAddr,
    /// Words between output rows.
    pub out_stride: u32,
    /// Word of the mean of the means (`VEC_PAR_*`).
    pub mean_at: BankAddr,
    /// Its byte index from `mean_at` (byte `i % R` of word `mean_at.addr + i / R`).
    pub mean_byte: u16,
}

/// SELECT: the token selector's keep decision, compaction of the kept tokens, the package token
/// and the gather of per-token byte rows (token masks, original indices); sets LIVE_TOKENS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Select {
    /// Live tokens before the selector.
    pub rows: u16,
    /// Channels of the residual stream.
    pub n: u16,
    /// Residual stream row 0, low byte plane (compacted in place; row `rows` is scratch).
    pub x: BankAddr,
    /// High byte plane bank.
    pub x_hi_bank: u8,
    /// Words between residual rows.
    pub x_stride: u32,
    /// Keep probability of token `t`, head `j`: byte 0 of word `probs.addr + j*probs_stride + t`.
    pub probs: BankAddr,
    /// Words between the heads' probability columns.
    pub probs_stride: u32,
    /// Head weights: head `j` at byte `j % R` of word `weights_addr + j / R` of `probs.bank`.
    pub weights_addr: u32,
    /// Heads.
    pub heads: u8,
    /// Prefix tokens, always kept.
    pub prefix: u8,
    /// Gathered byte rows: row `g` at word `gather.addr + g*gather_stride`; the new count
    /// follows them (bytes 0-1 of word `gather.addr + gather_rows*gather_stride`).
    pub gather: BankAddr,
    /// Words between gathered rows.
    pub gather_stride: u32,
    /// Gathered rows.
    pub gather_rows: u8,
    /// Byte index, in every gathered row, of the package token's value.
    pub package_byte: u16,
}

/// An operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Op {
    /// DRAM -> scratchpad.
    Load(Dma),
    /// Scratchpad -> DRAM.
    Store(Dma),
    /// Tiled GEMM.
    Gemm(Gemm),
    /// Integer LayerNorm.
    LayerNorm(VecOp),
    /// Integer softmax.
    Softmax(VecOp),
    /// Column means (token selector).
    ColMean(ColMean),
    /// Keep decision and compaction (token selector).
    Select(Select),
}

impl Op {
    /// Its opcode.
    pub fn opcode(&self) -> Opcode {
        match self {
            Op::Load(_) => Opcode::Load,
            Op::Store(_) => Opcode::Store,
            Op::Gemm(_) => Opcode::Gemm,
            Op::LayerNorm(_) => Opcode::LayerNorm,
            Op::Softmax(_) => Opcode::Softmax,
            Op::ColMean(_) => Opcode::ColMean,
            Op::Select(_) => Opcode::Select,
        }
    }
    /// The unit that runs it.
    pub fn unit(&self) -> Unit {
        self.opcode().unit()
    }
}

/// One instruction: an operation, its dependency counts and which sizes are live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Insn {
    /// Dispatch condition.
    pub deps: Deps,
    /// Operation.
    pub op: Op,
    /// Sizes taken from LIVE_TOKENS at dispatch ([`live`] bits).
    pub live: u8,
}

/// Decoding failures (the hardware reports the same conditions in its ERROR_CODE register).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IsaError {
    /// Unknown opcode byte.
    #[error("unknown opcode {0:#04x}")]
    BadOpcode(u8),
    /// A field holds an unsupported value.
    #[error("unsupported value {value} in field {field}")]
    BadField {
        /// Field name.
        field: &'static str,
        /// Value.
        value: u64,
    },
}

fn set_ba(w: &mut Word, bank: Field, addr: Field, ba: BankAddr) {
    bank.set(w, ba.bank as u64);
    addr.set(w, ba.addr as u64);
}

fn get_ba(w: &Word, bank: Field, addr: Field) -> BankAddr {
    BankAddr { bank: bank.get(w) as u8, addr: addr.get(w) as u32 }
}

/// BAD_FIELD for `field` with `value`.
fn fail(field: &'static str, value: u64) -> Result<(), IsaError> {
    Err(IsaError::BadField { field, value })
}

/// The field checks of [`Insn::check`], one operation at a time, against a configuration.
struct Limits<'a> {
    cfg: &'a AccelConfig,
}

impl Limits<'_> {
    fn bank_ok(&self, b: u8) -> bool {
        (b as usize) < self.cfg.banks
    }

    fn addr_ok(&self, a: u32) -> bool {
        (a as usize) < self.cfg.bank_words
    }

    /// C-byte output groups in a word.
    fn groups(&self) -> u8 {
        (self.cfg.array_rows / self.cfg.array_cols) as u8
    }

    /// DRAM addresses must be word aligned.
    fn word_bytes(&self) -> u64 {
        self.cfg.word_bytes() as u64
    }

    /// Every bank of a vector operation exists.
    fn vec_banks(&self, banks: &[u8]) -> Result<(), IsaError> {
        match banks.iter().find(|&&b| !self.bank_ok(b)) {
            Some(&b) => fail("VEC bank", b as u64),
            None => Ok(()),
        }
    }

    /// Every address and stride of a vector operation lies in a bank.
    fn vec_addrs(&self, addrs: &[u32]) -> Result<(), IsaError> {
        match addrs.iter().find(|&&a| !self.addr_ok(a)) {
            Some(&a) => fail("VEC address/stride", a as u64),
            None => Ok(()),
        }
    }

    /// Rows within the token limit and channels within the width limit.
    fn vec_rows_n(&self, rows: u16, n: u16) -> Result<(), IsaError> {
        if rows == 0 || rows as usize > self.cfg.max_tokens {
            return fail("VEC_ROWS", rows as u64);
        }
        if n == 0 || n as usize > self.cfg.max_width {
            return fail("VEC_N", n as u64);
        }
        Ok(())
    }

    fn dma(&self, d: &Dma) -> Result<(), IsaError> {
        if !self.bank_ok(d.sp.bank) {
            return fail("DMA_BANK", d.sp.bank as u64);
        }
        if !self.addr_ok(d.sp.addr) || !self.addr_ok(d.sp_stride) {
            return fail("DMA_ADDR/STRIDE", d.sp.addr.max(d.sp_stride) as u64);
        }
        if d.rows == 0 || d.words == 0 {
            return fail("DMA_ROWS/WORDS", 0);
        }
        if !d.dram.is_multiple_of(self.word_bytes()) || !d.dram_stride.is_multiple_of(self.word_bytes()) {
            return fail("DMA_DRAM_ADDR/STRIDE", d.dram);
        }
        Ok(())
    }

    fn gemm(&self, g: &Gemm) -> Result<(), IsaError> {
        if g.m == 0 || g.m as usize > self.cfg.max_tokens {
            return fail("GEMM_M", g.m as u64);
        }
        if g.k == 0 || g.k as usize > self.cfg.max_width {
            return fail("GEMM_K", g.k as u64);
        }
        if g.n == 0 || g.n as usize > self.cfg.max_width {
            return fail("GEMM_N", g.n as u64);
        }
        if !self.bank_ok(g.a.bank) || !self.bank_ok(g.out.at.bank) {
            return fail("GEMM_A_BANK/O_BANK", g.a.bank.max(g.out.at.bank) as u64);
        }
        for a in [g.a.addr, g.a_stride, g.out.at.addr, g.out.stride] {
            if !self.addr_ok(a) {
                return fail("GEMM address/stride", a as u64);
            }
        }
        if !g.weights.is_multiple_of(self.word_bytes()) {
            return fail("GEMM_W_ADDR", g.weights);
        }
        if g.out.group >= self.groups() {
            return fail("GEMM_O_GROUP", g.out.group as u64);
        }
        let mut reads = vec![g.a.bank];
        match g.b {
            WeightSource::Dram => {}
            WeightSource::Rows { at, stride, group } => {
                if !self.bank_ok(at.bank) || !self.addr_ok(at.addr) || !self.addr_ok(stride) || group >= self.groups() {
                    return fail("GEMM_B", at.bank as u64);
                }
                reads.push(at.bank);
            }
            WeightSource::Columns { at, stride } => {
                if !self.bank_ok(at.bank) || !self.addr_ok(at.addr) || !self.addr_ok(stride) {
                    return fail("GEMM_B", at.bank as u64);
                }
                reads.push(at.bank);
            }
        }
        if let Some(rs) = g.row_scale {
            if g.b != WeightSource::Dram {
                return fail("GEMM_FLAGS (row scale with on-chip B)", 0);
            }
            if !self.bank_ok(rs.bank) || !self.addr_ok(rs.addr) {
                return fail("GEMM_RS", rs.bank as u64);
            }
            reads.push(rs.bank);
        }
        if let OutMode::Resid16 { hi_bank } = g.out.mode {
            if !self.bank_ok(hi_bank) || hi_bank == g.out.at.bank {
                return fail("GEMM_O_HI_BANK", hi_bank as u64);
            }
            reads.push(g.out.at.bank);
            reads.push(hi_bank);
        }
        if let OutMode::Int8Dup { copy_bank } = g.out.mode {
            if !self.bank_ok(copy_bank) || copy_bank == g.out.at.bank {
                return fail("GEMM_O_HI_BANK", copy_bank as u64);
            }
        }
        if !distinct(&reads) {
            return fail("GEMM banks (two operands on one bank)", 0);
        }
        Ok(())
    }

    /// LAYERNORM (`ln`) or SOFTMAX.
    fn vec(&self, v: &VecOp, ln: bool) -> Result<(), IsaError> {
        self.vec_rows_n(v.rows, v.n)?;
        self.vec_banks(&[v.input.bank, v.out.bank, v.params.bank])?;
        self.vec_addrs(&[v.input.addr, v.in_stride, v.out.addr, v.out_stride, v.params.addr])?;
        if !self.bank_ok(v.in_hi_bank) {
            return fail("VEC_IN_HI_BANK", v.in_hi_bank as u64);
        }
        if ln && (v.out_mult.m as u32 >= 1 << MULT_FRAC_BITS || v.out_mult.s as u32 > MAX_SHIFT) {
            return fail("VEC_OUT_M/S", v.out_mult.m as u64);
        }
        if !distinct(&[v.input.bank, v.in_hi_bank, v.params.bank]) {
            return fail("VEC banks (two operands on one bank)", 0);
        }
        Ok(())
    }

    fn colmean(&self, v: &ColMean) -> Result<(), IsaError> {
        self.vec_rows_n(v.rows, v.n)?;
        self.vec_banks(&[v.input.bank, v.out.bank, v.mean_at.bank])?;
        self.vec_addrs(&[v.input.addr, v.in_stride, v.out.addr, v.out_stride, v.mean_at.addr])
    }

    fn select(&self, v: &Select) -> Result<(), IsaError> {
        self.vec_rows_n(v.rows, v.n)?;
        if v.heads == 0 || v.heads as usize > self.cfg.max_heads {
            return fail("VEC_SEL_HEADS", v.heads as u64);
        }
        self.vec_banks(&[v.x.bank, v.x_hi_bank, v.probs.bank, v.gather.bank])?;
        self.vec_addrs(&[
            v.x.addr,
            v.x_stride,
            v.probs.addr,
            v.probs_stride,
            v.weights_addr,
            v.gather.addr,
            v.gather_stride,
        ])?;
        if v.x.bank == v.x_hi_bank {
            return fail("VEC_IN_HI_BANK", v.x_hi_bank as u64);
        }
        Ok(())
    }
}

impl Insn {
    /// The field checks the hardware applies before running an instruction (BAD_FIELD when
    /// one fails): sizes, bank numbers, addresses and strides within the configuration, the
    /// read ports of one instruction on distinct banks (and the residual planes distinct from
    /// every operand), alignment, and the constants of the numerics contract.
    pub fn check(&self, cfg: &AccelConfig) -> Result<(), IsaError> {
        let limits = Limits { cfg };
        match &self.op {
            Op::Load(d) | Op::Store(d) => limits.dma(d),
            Op::Gemm(g) => limits.gemm(g),
            Op::LayerNorm(v) => limits.vec(v, true),
            Op::Softmax(v) => limits.vec(v, false),
            Op::ColMean(v) => limits.colmean(v),
            Op::Select(v) => limits.select(v),
        }
    }

    /// Scratchpad banks the instruction reads and writes (for the concurrency check).
    pub fn banks(&self) -> (Vec<u8>, Vec<u8>) {
        match &self.op {
            Op::Load(d) => (vec![], vec![d.sp.bank]),
            Op::Store(d) => (vec![d.sp.bank], vec![]),
            Op::Gemm(g) => {
                let mut r = vec![g.a.bank];
                let mut w = vec![g.out.at.bank];
                match g.b {
                    WeightSource::Dram => {}
                    WeightSource::Rows { at, .. } | WeightSource::Columns { at, .. } => r.push(at.bank),
                }
                if let Some(rs) = g.row_scale {
                    r.push(rs.bank);
                }
                match g.out.mode {
                    OutMode::Resid16 { hi_bank } => {
                        r.push(g.out.at.bank);
                        r.push(hi_bank);
                        w.push(hi_bank);
                    }
                    OutMode::Int8Dup { copy_bank } => w.push(copy_bank),
                    OutMode::Int8 | OutMode::Int8Lut => {}
                }
                (r, w)
            }
            Op::LayerNorm(v) | Op::Softmax(v) => (vec![v.input.bank, v.in_hi_bank, v.params.bank], vec![v.out.bank]),
            Op::ColMean(v) => (vec![v.input.bank], vec![v.out.bank, v.mean_at.bank]),
            Op::Select(v) => {
                (vec![v.x.bank, v.x_hi_bank, v.probs.bank, v.gather.bank], vec![v.x.bank, v.x_hi_bank, v.gather.bank])
            }
        }
    }

    /// An instruction without dependencies.
    pub fn new(op: Op) -> Insn {
        Insn { deps: Deps::default(), op, live: 0 }
    }

    /// The instruction as dispatched with LIVE_TOKENS = `tokens`: the sizes selected by
    /// [`Insn::live`] replaced (and no live bits left). Errors as the hardware does on bits the
    /// unit does not take ([`live::valid`], BAD_FIELD).
    pub fn resolve(&self, tokens: u16) -> Result<Insn, IsaError> {
        if !live::valid(self.op.unit(), self.live) {
            return Err(IsaError::BadField { field: "LIVE_SIZES", value: self.live as u64 });
        }
        let pick = |bit: u8, v: u16| if self.live & bit != 0 { tokens } else { v };
        let op = match self.op {
            Op::Gemm(g) => Op::Gemm(Gemm { m: pick(live::M, g.m), k: pick(live::K, g.k), n: pick(live::N, g.n), ..g }),
            Op::LayerNorm(v) => Op::LayerNorm(VecOp { rows: pick(live::M, v.rows), n: pick(live::K, v.n), ..v }),
            Op::Softmax(v) => Op::Softmax(VecOp { rows: pick(live::M, v.rows), n: pick(live::K, v.n), ..v }),
            Op::ColMean(v) => Op::ColMean(ColMean { rows: pick(live::M, v.rows), n: pick(live::K, v.n), ..v }),
            Op::Select(v) => Op::Select(Select { rows: pick(live::M, v.rows), n: pick(live::K, v.n), ..v }),
            op => op,
        };
        Ok(Insn { deps: self.deps, op, live: 0 })
    }

    /// Encode to the 512-bit little-endian word.
    pub fn encode(&self) -> Word {
        let mut w = [0u8; INSN_BYTES];
        OPCODE.set(&mut w, self.op.opcode() as u64);
        DEP_DMA.set(&mut w, self.deps.dma as u64);
        DEP_GEMM.set(&mut w, self.deps.gemm as u64);
        DEP_VEC.set(&mut w, self.deps.vec as u64);
        LIVE_SIZES.set(&mut w, self.live as u64);
        match &self.op {
            Op::Load(d) | Op::Store(d) => {
                set_ba(&mut w, DMA_BANK, DMA_ADDR, d.sp);
                DMA_ROWS.set(&mut w, d.rows as u64);
                DMA_WORDS.set(&mut w, d.words as u64);
                DMA_STRIDE.set(&mut w, d.sp_stride as u64);
                DMA_DRAM_ADDR.set(&mut w, d.dram);
                DMA_DRAM_STRIDE.set(&mut w, d.dram_stride);
            }
            Op::Gemm(g) => {
                let mut flags = g.a_unsigned as u64;
                match g.b {
                    WeightSource::Dram => {}
                    WeightSource::Rows { at, stride, group } => {
                        flags |= gemm_flags::B_ONCHIP;
                        set_ba(&mut w, GEMM_B_BANK, GEMM_B_ADDR, at);
                        GEMM_B_STRIDE.set(&mut w, stride as u64);
                        GEMM_B_GROUP.set(&mut w, group as u64);
                    }
                    WeightSource::Columns { at, stride } => {
                        flags |= gemm_flags::B_ONCHIP | gemm_flags::B_COLUMNS;
                        set_ba(&mut w, GEMM_B_BANK, GEMM_B_ADDR, at);
                        GEMM_B_STRIDE.set(&mut w, stride as u64);
                    }
                }
                let mode = match g.out.mode {
                    OutMode::Int8 => 0,
                    OutMode::Int8Lut => 1,
                    OutMode::Resid16 { hi_bank } => {
                        GEMM_O_HI_BANK.set(&mut w, hi_bank as u64);
                        2
                    }
                    OutMode::Int8Dup { copy_bank } => {
                        GEMM_O_HI_BANK.set(&mut w, copy_bank as u64);
                        3
                    }
                };
                flags |= mode << gemm_flags::MODE_SHIFT;
                if let Some(rs) = g.row_scale {
                    flags |= gemm_flags::ROW_SCALE;
                    set_ba(&mut w, GEMM_RS_BANK, GEMM_RS_ADDR, rs);
                }
                GEMM_FLAGS.set(&mut w, flags);
                GEMM_M.set(&mut w, g.m as u64);
                GEMM_K.set(&mut w, g.k as u64);
                GEMM_N.set(&mut w, g.n as u64);
                set_ba(&mut w, GEMM_A_BANK, GEMM_A_ADDR, g.a);
                GEMM_A_STRIDE.set(&mut w, g.a_stride as u64);
                set_ba(&mut w, GEMM_O_BANK, GEMM_O_ADDR, g.out.at);
                GEMM_O_STRIDE.set(&mut w, g.out.stride as u64);
                GEMM_O_GROUP.set(&mut w, g.out.group as u64);
                GEMM_W_ADDR.set(&mut w, g.weights);
            }
            Op::LayerNorm(v) | Op::Softmax(v) => {
                VEC_ROWS.set(&mut w, v.rows as u64);
                VEC_N.set(&mut w, v.n as u64);
                set_ba(&mut w, VEC_IN_LO_BANK, VEC_IN_ADDR, v.input);
                VEC_IN_HI_BANK.set(&mut w, v.in_hi_bank as u64);
                VEC_IN_STRIDE.set(&mut w, v.in_stride as u64);
                set_ba(&mut w, VEC_OUT_BANK, VEC_OUT_ADDR, v.out);
                VEC_OUT_STRIDE.set(&mut w, v.out_stride as u64);
                set_ba(&mut w, VEC_PAR_BANK, VEC_PAR_ADDR, v.params);
                VEC_OUT_M.set(&mut w, v.out_mult.m as u64);
                VEC_OUT_S.set(&mut w, v.out_mult.s as u64);
            }
            Op::ColMean(v) => {
                VEC_ROWS.set(&mut w, v.rows as u64);
                VEC_N.set(&mut w, v.n as u64);
                set_ba(&mut w, VEC_IN_LO_BANK, VEC_IN_ADDR, v.input);
                VEC_IN_STRIDE.set(&mut w, v.in_stride as u64);
                set_ba(&mut w, VEC_OUT_BANK, VEC_OUT_ADDR, v.out);
                VEC_OUT_STRIDE.set(&mut w, v.out_stride as u64);
                set_ba(&mut w, VEC_PAR_BANK, VEC_PAR_ADDR, v.mean_at);
                VEC_AUX.set(&mut w, v.mean_byte as u64);
            }
            Op::Select(v) => {
                VEC_ROWS.set(&mut w, v.rows as u64);
                VEC_N.set(&mut w, v.n as u64);
                set_ba(&mut w, VEC_IN_LO_BANK, VEC_IN_ADDR, v.x);
                VEC_IN_HI_BANK.set(&mut w, v.x_hi_bank as u64);
                VEC_IN_STRIDE.set(&mut w, v.x_stride as u64);
                set_ba(&mut w, VEC_PAR_BANK, VEC_PAR_ADDR, v.probs);
                VEC_SEL_P_STRIDE.set(&mut w, v.probs_stride as u64);
                VEC_SEL_W_ADDR.set(&mut w, v.weights_addr as u64);
                VEC_SEL_HEADS.set(&mut w, v.heads as u64);
                VEC_SEL_PREFIX.set(&mut w, v.prefix as u64);
                set_ba(&mut w, VEC_OUT_BANK, VEC_OUT_ADDR, v.gather);
                VEC_OUT_STRIDE.set(&mut w, v.gather_stride as u64);
                VEC_SEL_G_ROWS.set(&mut w, v.gather_rows as u64);
                VEC_AUX.set(&mut w, v.package_byte as u64);
            }
        }
        w
    }

    /// Decode a 512-bit word.
    pub fn decode(w: &Word) -> Result<Insn, IsaError> {
        let code = OPCODE.get(w) as u8;
        let opcode = Opcode::from_u8(code).ok_or(IsaError::BadOpcode(code))?;
        if !RESERVED.is_zero(w) {
            return Err(IsaError::BadField { field: "RESERVED", value: 1 });
        }
        let deps = Deps { dma: DEP_DMA.get(w) as u16, gemm: DEP_GEMM.get(w) as u16, vec: DEP_VEC.get(w) as u16 };
        let live_bits = LIVE_SIZES.get(w) as u8;
        if !live::valid(opcode.unit(), live_bits) {
            return Err(IsaError::BadField { field: "LIVE_SIZES", value: live_bits as u64 });
        }
        let op = match opcode {
            Opcode::Load | Opcode::Store => {
                let d = Dma {
                    sp: get_ba(w, DMA_BANK, DMA_ADDR),
                    sp_stride: DMA_STRIDE.get(w) as u32,
                    rows: DMA_ROWS.get(w) as u16,
                    words: DMA_WORDS.get(w) as u32,
                    dram: DMA_DRAM_ADDR.get(w),
                    dram_stride: DMA_DRAM_STRIDE.get(w),
                };
                if opcode == Opcode::Load {
                    Op::Load(d)
                } else {
                    Op::Store(d)
                }
            }
            Opcode::Gemm => {
                let flags = GEMM_FLAGS.get(w);
                if flags & !gemm_flags::DEFINED != 0 {
                    return Err(IsaError::BadField { field: "GEMM_FLAGS", value: flags });
                }
                let b_at = get_ba(w, GEMM_B_BANK, GEMM_B_ADDR);
                let b_stride = GEMM_B_STRIDE.get(w) as u32;
                let b = match (flags & gemm_flags::B_ONCHIP != 0, flags & gemm_flags::B_COLUMNS != 0) {
                    (false, false) => WeightSource::Dram,
                    (true, false) => {
                        WeightSource::Rows { at: b_at, stride: b_stride, group: GEMM_B_GROUP.get(w) as u8 }
                    }
                    (true, true) => WeightSource::Columns { at: b_at, stride: b_stride },
                    (false, true) => return Err(IsaError::BadField { field: "GEMM_FLAGS", value: flags }),
                };
                let mode = match (flags >> gemm_flags::MODE_SHIFT) & 3 {
                    0 => OutMode::Int8,
                    1 => OutMode::Int8Lut,
                    2 => OutMode::Resid16 { hi_bank: GEMM_O_HI_BANK.get(w) as u8 },
                    _ => OutMode::Int8Dup { copy_bank: GEMM_O_HI_BANK.get(w) as u8 },
                };
                Op::Gemm(Gemm {
                    m: GEMM_M.get(w) as u16,
                    k: GEMM_K.get(w) as u16,
                    n: GEMM_N.get(w) as u16,
                    a: get_ba(w, GEMM_A_BANK, GEMM_A_ADDR),
                    a_stride: GEMM_A_STRIDE.get(w) as u32,
                    a_unsigned: flags & gemm_flags::A_UNSIGNED != 0,
                    b,
                    out: GemmOut {
                        at: get_ba(w, GEMM_O_BANK, GEMM_O_ADDR),
                        stride: GEMM_O_STRIDE.get(w) as u32,
                        group: GEMM_O_GROUP.get(w) as u8,
                        mode,
                    },
                    row_scale: (flags & gemm_flags::ROW_SCALE != 0).then(|| get_ba(w, GEMM_RS_BANK, GEMM_RS_ADDR)),
                    weights: GEMM_W_ADDR.get(w),
                })
            }
            Opcode::LayerNorm | Opcode::Softmax => {
                let v = VecOp {
                    rows: VEC_ROWS.get(w) as u16,
                    n: VEC_N.get(w) as u16,
                    input: get_ba(w, VEC_IN_LO_BANK, VEC_IN_ADDR),
                    in_hi_bank: VEC_IN_HI_BANK.get(w) as u8,
                    in_stride: VEC_IN_STRIDE.get(w) as u32,
                    out: get_ba(w, VEC_OUT_BANK, VEC_OUT_ADDR),
                    out_stride: VEC_OUT_STRIDE.get(w) as u32,
                    params: get_ba(w, VEC_PAR_BANK, VEC_PAR_ADDR),
                    out_mult: Dyadic { m: VEC_OUT_M.get(w) as u16, s: VEC_OUT_S.get(w) as u8 },
                };
                if opcode == Opcode::LayerNorm {
                    Op::LayerNorm(v)
                } else {
                    Op::Softmax(v)
                }
            }
            Opcode::ColMean => Op::ColMean(ColMean {
                rows: VEC_ROWS.get(w) as u16,
                n: VEC_N.get(w) as u16,
                input: get_ba(w, VEC_IN_LO_BANK, VEC_IN_ADDR),
                in_stride: VEC_IN_STRIDE.get(w) as u32,
                out: get_ba(w, VEC_OUT_BANK, VEC_OUT_ADDR),
                out_stride: VEC_OUT_STRIDE.get(w) as u32,
                mean_at: get_ba(w, VEC_PAR_BANK, VEC_PAR_ADDR),
                mean_byte: VEC_AUX.get(w) as u16,
            }),
            Opcode::Select => Op::Select(Select {
                rows: VEC_ROWS.get(w) as u16,
                n: VEC_N.get(w) as u16,
                x: get_ba(w, VEC_IN_LO_BANK, VEC_IN_ADDR),
                x_hi_bank: VEC_IN_HI_BANK.get(w) as u8,
                x_stride: VEC_IN_STRIDE.get(w) as u32,
                probs: get_ba(w, VEC_PAR_BANK, VEC_PAR_ADDR),
                probs_stride: VEC_SEL_P_STRIDE.get(w) as u32,
                weights_addr: VEC_SEL_W_ADDR.get(w) as u32,
                heads: VEC_SEL_HEADS.get(w) as u8,
                prefix: VEC_SEL_PREFIX.get(w) as u8,
                gather: get_ba(w, VEC_OUT_BANK, VEC_OUT_ADDR),
                gather_stride: VEC_OUT_STRIDE.get(w) as u32,
                gather_rows: VEC_SEL_G_ROWS.get(w) as u8,
                package_byte: VEC_AUX.get(w) as u16,
            }),
        };
        Ok(Insn { deps, op, live: live_bits })
    }
}

/// Whether all values differ.
fn distinct(v: &[u8]) -> bool {
    v.iter().enumerate().all(|(i, a)| !v[..i].contains(a))
}

/// Bytes of the per-n-tile header of a weight stream: `C` int32 biases then `C` u32 requant words.
pub fn weight_header_bytes(cols: usize) -> usize {
    8 * cols
}

/// Bytes of the table at the start of an [`OutMode::Int8Lut`] weight stream.
pub const LUT_BYTES: usize = 256;

/// Requantization word of the weight-stream header: `m | s << 16`.
pub fn requant_word(d: Dyadic) -> u32 {
    d.m as u32 | (d.s as u32) << 16
}

/// Words (of `R` bytes) of a GEMM weight stream for `K x N` on an `R x C` array: the LUT if
/// any, then per n-tile the header and, for DRAM weights, `ceil(K/R)` tiles of `R` rows (one
/// word per row, C bytes used).
pub fn weight_stream_words(k: usize, n: usize, rows: usize, cols: usize, dram_weights: bool, lut: bool) -> usize {
    let lut_words = if lut { LUT_BYTES / rows } else { 0 };
    let tiles = if dram_weights { k.div_ceil(rows) * rows } else { 0 };
    lut_words + n.div_ceil(cols) * (weight_header_bytes(cols) / rows + tiles)
}

/// The instruction encoding as Markdown (generated into `docs/ISA.md`).
pub fn to_markdown() -> String {
    let mut s = String::from("# vitaccel instruction encoding\n\n");
    s += "Generated from `spec::isa` by `vitaccel verilog`; do not edit. Instructions are 512-bit \
          little-endian words (64 bytes); bit 0 is bit 0 of byte 0. The controller dispatches them \
          in order to three units running concurrently; each instruction waits until every unit \
          has completed at least `DEP_*` instructions (mod 2^16).\n\n";
    s += "| opcode | value | unit | meaning |\n|---|---|---|---|\n";
    s += "| LOAD | 1 | DMA | DRAM -> scratchpad bank, `rows` rows of `words` words |\n";
    s += "| STORE | 2 | DMA | scratchpad bank -> DRAM |\n";
    s += "| GEMM | 3 | GEMM | `out = f(A B + bias)`, B from the weight stream or the scratchpad |\n";
    s += "| LAYERNORM | 4 | vector | int16 byte planes -> int8, per `docs/NUMERICS.md` |\n";
    s += "| SOFTMAX | 5 | vector | int8 -> U0F8 rows, per `docs/NUMERICS.md` |\n";
    s += "| COLMEAN | 6 | vector | int8 column means over the rows, written to every row, and their mean |\n";
    s += "| SELECT | 7 | vector | token selector: keep decision, compaction, package token, sets LIVE_TOKENS |\n\n";
    s += "| field | bits | width |\n|---|---|---|\n";
    for f in FIELDS {
        s += &format!("| `{}` | {}..{} | {} |\n", f.name, f.lsb, f.lsb + f.width - 1, f.width);
    }
    s += "\nGEMM flags: bit 0 A unsigned, bit 1 B on chip, bit 2 B by columns, bit 3 row scale, bits 4-5 \
          output mode (0 int8, 1 int8 + LUT, 2 int16 residual update in byte planes).\n\n\
          Weight stream of a GEMM (`K x N` on an `R x C` array): the 256-byte LUT (mode 1), then per \
          n-tile of C channels a header of C little-endian int32 biases and C requantization words \
          (`m | s << 16`, m < 2^15, s <= 62), then (DRAM weights only) `ceil(K/R)` tiles of R rows, one \
          R-byte word per row with the C weights of that reduction index in bytes 0..C. Padding is \
          zero.\n";
    s
}

#[cfg(test)]
mod tests;
