//! GEMM: every B source (weight stream, scratchpad rows, scratchpad columns) and output mode.

use super::{ExecFault, Machine};
use spec::isa::{self, Gemm, OutMode, WeightSource};
use spec::numerics::{lut_index, requant_i16, requant_i8, residual_add, Dyadic, LUT_SIZE, MAX_SHIFT, MULT_FRAC_BITS};
use spec::regmap::error_code;

impl Machine {
    pub(super) fn gemm(&mut self, g: &Gemm) -> Result<(), ExecFault> {
        let (r, c) = (self.cfg.array_rows, self.cfg.array_cols);
        let (m, k, n) = (g.m as usize, g.k as usize, g.n as usize);
        let kp = k.div_ceil(r) * r;
        let dram_b = g.b == WeightSource::Dram;
        let lut = g.out.mode == OutMode::Int8Lut;
        let words = isa::weight_stream_words(k, n, r, c, dram_b, lut);
        let stream = self.dram(g.weights, words * r)?;
        let lut_bytes = if lut { isa::LUT_BYTES } else { 0 };
        let hdr = isa::weight_header_bytes(c);
        let tile = hdr + if dram_b { kp * r } else { 0 };
        let le32 = |o: usize| u32::from_le_bytes(stream[o..o + 4].try_into().expect("4 bytes"));
        // Per output channel: bias, requantization and the column of B (k < kt*R).
        let mut bias = Vec::with_capacity(n);
        let mut rq = Vec::with_capacity(n);
        let mut b = vec![0i32; n * kp];
        for ch in 0..n {
            let base = lut_bytes + (ch / c) * tile;
            bias.push(le32(base + 4 * (ch % c)) as i32);
            let w = le32(base + 4 * c + 4 * (ch % c));
            let d = Dyadic { m: w as u16, s: (w >> 16) as u8 };
            if d.m as u32 >= 1 << MULT_FRAC_BITS || w >> 16 > MAX_SHIFT {
                return Err(ExecFault(error_code::BAD_FIELD)); // outside the numerics contract
            }
            rq.push(d);
            let col = &mut b[ch * kp..(ch + 1) * kp];
            match g.b {
                WeightSource::Dram => {
                    // Row k % R of tile k / R is word k of the tiles.
                    for (kk, v) in col.iter_mut().enumerate() {
                        *v = stream[base + hdr + kk * r + ch % c] as i8 as i32;
                    }
                }
                WeightSource::Rows { at, stride, group } => {
                    let gc = group as usize * c + ch;
                    for (kk, v) in col.iter_mut().enumerate().take(k) {
                        let word = at.addr as u64 + kk as u64 * stride as u64 + (gc / r) as u64;
                        *v = self.sp(at.bank, word, gc % r) as i8 as i32;
                    }
                }
                WeightSource::Columns { at, stride } => {
                    for (kk, v) in col.iter_mut().enumerate().take(k) {
                        let word = at.addr as u64 + ch as u64 * stride as u64 + (kk / r) as u64;
                        *v = self.sp(at.bank, word, kk % r) as i8 as i32;
                    }
                }
            }
        }
        let lut_table: Vec<u8> = if lut { stream[..LUT_SIZE].to_vec() } else { Vec::new() };
        // Outputs: (bank, byte offset, value), written after every input has been read.
        let mut writes = Vec::with_capacity(n * m * 2);
        let mut a = vec![0i32; kp];
        for row in 0..m {
            let a_word = g.a.addr as u64 + row as u64 * g.a_stride as u64;
            for (kk, v) in a.iter_mut().enumerate() {
                let byte = self.sp(g.a.bank, a_word + (kk / r) as u64, kk % r);
                *v = if g.a_unsigned { byte as i32 } else { byte as i8 as i32 };
            }
            let scale = g.row_scale.map(|rs| self.sp(rs.bank, rs.addr as u64 + (row / r) as u64, row % r) as i8);
            let out_word = g.out.at.addr as u64 + row as u64 * g.out.stride as u64;
            for ch in 0..n {
                let col = &b[ch * kp..(ch + 1) * kp];
                let acc = a.iter().zip(col).fold(bias[ch], |acc, (&x, &w)| acc.wrapping_add(x * w));
                let v = match scale {
                    Some(s) => acc as i64 * s as i64,
                    None => acc as i64,
                };
                let gc = g.out.group as usize * c + ch;
                let o = self.at(out_word + (gc / r) as u64, gc % r);
                let (bank, d) = (g.out.at.bank, rq[ch]);
                match g.out.mode {
                    OutMode::Int8 => writes.push((bank, o, requant_i8(v, d) as u8)),
                    OutMode::Int8Lut => writes.push((bank, o, lut_table[lut_index(requant_i8(v, d))])),
                    OutMode::Int8Dup { copy_bank } => {
                        let y = requant_i8(v, d) as u8;
                        writes.push((bank, o, y));
                        writes.push((copy_bank, o, y));
                    }
                    OutMode::Resid16 { hi_bank } => {
                        let x = i16::from_le_bytes([self.banks[bank as usize][o], self.banks[hi_bank as usize][o]]);
                        let [lo, hi] = residual_add(x, requant_i16(v, d)).to_le_bytes();
                        writes.push((bank, o, lo));
                        writes.push((hi_bank, o, hi));
                    }
                }
            }
        }
        for (bank, o, v) in writes {
            self.banks[bank as usize][o] = v;
        }
        Ok(())
    }
}
