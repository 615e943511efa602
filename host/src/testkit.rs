//! Random workloads for tests and benchmarks (seeded, reproducible).

use golden::kernels::QLinear;
use golden::synth::Rng;
use ndarray::Array2;
use spec::numerics::Dyadic;

/// A random quantized linear layer `k -> n` whose requantization keeps typical outputs in range
/// (scale ~ 1 / (sqrt(k) * 64) with a random spread per channel).
pub fn random_linear(rng: &mut Rng, k: usize, n: usize) -> QLinear {
    let w = Array2::from_shape_simple_fn((n, k), || (rng.range(0, 254) as i32 - 127) as i8);
    let bias = (0..n).map(|_| rng.range(0, 1 << 16) as i32 - (1 << 15)).collect();
    let base = 1.0 / ((k as f64).sqrt() * 64.0);
    let requant =
        (0..n).map(|_| Dyadic::from_real(base * (0.25 + 1.5 * rng.uniform())).expect("finite scale")).collect();
    QLinear { w, bias, requant }
}

/// A random int8 matrix.
pub fn random_i8(rng: &mut Rng, rows: usize, cols: usize) -> Array2<i8> {
    Array2::from_shape_simple_fn((rows, cols), || rng.next_u64() as i8)
}
