//! LAYERNORM and SOFTMAX: the row functions of `spec::numerics` over scratchpad rows.

use super::Machine;
use spec::isa::VecOp;
use spec::numerics::{layernorm_row, softmax_row_with_max, LayerNormParams, LUT_SIZE};

impl Machine {
    /// LAYERNORM: int16 rows (two byte planes) to int8 rows, gamma then beta from `params`.
    pub(super) fn layernorm(&mut self, v: &VecOp) {
        let (rows, n) = (v.rows as usize, v.n as usize);
        let r = self.cfg.word_bytes();
        let par = |i: usize| self.sp_seq(v.params.bank, v.params.addr as u64, i);
        let beta_at = v.params.addr as u64 + (2 * n).div_ceil(r) as u64;
        let p = LayerNormParams {
            gamma: (0..n).map(|i| i16::from_le_bytes([par(2 * i), par(2 * i + 1)])).collect(),
            beta: (0..n)
                .map(|i| i32::from_le_bytes(std::array::from_fn(|b| self.sp_seq(v.params.bank, beta_at, 4 * i + b))))
                .collect(),
            out: v.out_mult,
        };
        let mut out = vec![0u8; rows * n];
        let mut y = vec![0i8; n];
        for row in 0..rows {
            let x: Vec<i16> = (0..n)
                .map(|i| {
                    let o = self.channel(v.input.addr, v.in_stride, row, i);
                    i16::from_le_bytes([self.banks[v.input.bank as usize][o], self.banks[v.in_hi_bank as usize][o]])
                })
                .collect();
            layernorm_row(&x, &p, &mut y);
            for (o, &y) in out[row * n..(row + 1) * n].iter_mut().zip(&y) {
                *o = y as u8;
            }
        }
        self.write_rows(v, &out);
    }

    /// SOFTMAX: int8 rows to uint8 probabilities with the exp table at `params`; the row maximum
    /// comes from the copy of the rows in `in_hi_bank`.
    pub(super) fn softmax(&mut self, v: &VecOp) {
        let (rows, n) = (v.rows as usize, v.n as usize);
        let par = |i: usize| self.sp_seq(v.params.bank, v.params.addr as u64, i);
        let exp: [u16; LUT_SIZE] = std::array::from_fn(|e| u16::from_le_bytes([par(2 * e), par(2 * e + 1)]));
        let mut out = vec![0u8; rows * n];
        for row in 0..rows {
            let at =
                |bank: u8, i: usize| self.banks[bank as usize][self.channel(v.input.addr, v.in_stride, row, i)] as i8;
            let x: Vec<i8> = (0..n).map(|i| at(v.input.bank, i)).collect();
            let max = (0..n).map(|i| at(v.in_hi_bank, i)).max().expect("n >= 1");
            softmax_row_with_max(&x, max, &exp, &mut out[row * n..(row + 1) * n]);
        }
        self.write_rows(v, &out);
    }

    /// Write `rows x n` output bytes (row-major) to the op's output rows, after every input
    /// was read (in place is allowed).
    fn write_rows(&mut self, v: &VecOp, out: &[u8]) {
        let n = v.n as usize;
        for row in 0..v.rows as usize {
            for i in 0..n {
                let o = self.channel(v.out.addr, v.out_stride, row, i);
                self.banks[v.out.bank as usize][o] = out[row * n + i];
            }
        }
    }
}
