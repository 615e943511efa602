//! Bank assignment (see the scratchpad plan in the module documentation of [`super`]).

/// Residual stream, low bytes.
pub const XL: u8 = 0;
/// Residual stream, high bytes.
pub const XH: u8 = 1;
/// GEMM input rows.
pub const A: u8 = 2;
/// Queries, then the MLP hidden layer.
pub const Q: u8 = 3;
/// Keys.
pub const K: u8 = 4;
/// Values.
pub const V: u8 = 5;
/// Scores of even heads, their copy, scores of odd heads, their copy.
pub const S: [u8; 4] = [6, 7, 8, 9];
/// Attention output, then token masks.
pub const O: u8 = 10;
/// Vector-unit parameters.
pub const PARAM: u8 = 11;
/// Banks the plan needs.
pub const COUNT: usize = 12;
