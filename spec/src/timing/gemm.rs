//! The GEMM unit and engine (`hdl::gemm`, `hdl::gemm_unit`).

/// Extra cycles (beyond `C - 2`) between the start of tile `i - 1` and the first weight write of
/// tile `i`; the minimum tile period is `C - 1 + LOAD_MARGIN`.
pub const LOAD_MARGIN: usize = 2;

/// Cycles from the start of tile `i - 1` to the first row load of tile `i` (row loads).
pub fn load_gate(cols: usize) -> usize {
    cols - 2 + LOAD_MARGIN
}

/// Cycles from the start of tile `i - 1` to the first column load of tile `i` (column loads
/// write a whole PE column, whose last PE row the previous user of the buffer leaves last).
pub fn column_load_gate(rows: usize) -> usize {
    rows
}

/// Cycles from acceptance by the unit to the engine's first cycle (slot, check, prepare).
pub const UNIT_START: u64 = 3;
/// Cycles from the engine's last retirement to the unit's `done`.
pub const UNIT_DONE: u64 = 2;
/// Weight stream: cycles from sizing a read command to its acceptance.
pub const STREAM_ACCEPT: u64 = 2;
/// Weight stream: cycles from a command's acceptance to its first word counted in the FIFO,
/// beyond [`super::read::AR_DELAY`] and the read latency.
pub const STREAM_ARRIVE: u64 = 1;
/// Cycles from a row entering the array to its partial sum leaving the accumulator stage
/// (non-final k-tiles), beyond the array latency `R + C`.
pub const ACC_RETIRE: u64 = 2;
/// Pipeline stages of the output requantizer (`hdl::requant`): row scale times multiplier,
/// two for the DSP product, product sum, rounding add, arithmetic shift, clamp.
pub const REQUANT_LATENCY: u64 = 7;
/// Cycles from a row entering the array to its output leaving the output stage (final k-tile),
/// beyond the array latency `R + C`: the accumulator stage, then the requantizer.
pub const OUT_RETIRE: u64 = ACC_RETIRE + REQUANT_LATENCY;
