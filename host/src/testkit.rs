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

/// A random small NViT-shaped model (random per-block heads/QK/V/MLP, token count, prefix
/// tokens), calibrated and quantized on its own random images, with `images` test images.
pub fn random_int_model(seed: u64, max_blocks: usize, images: usize) -> (golden::IntModel, Vec<golden::Image>) {
    random_int_model_with(seed, max_blocks, images, 4)
}

/// [`random_int_model`] with widths in multiples of `granule` (even): `granule = R` gives
/// selector heads of whole scratchpad words, as on-chip pruning needs.
pub fn random_int_model_with(
    seed: u64,
    max_blocks: usize,
    images: usize,
    granule: usize,
) -> (golden::IntModel, Vec<golden::Image>) {
    let mut rng = Rng::new(seed);
    let shape = golden::synth::random_shape(&mut rng, max_blocks, granule);
    let fm = golden::synth::random_model(&shape, seed, 0.0);
    let calib = golden::synth::random_images(&shape, 4, seed ^ 0x5eed);
    let cal = golden::Calibration::collect(&fm, &calib, |_| {});
    let (im, _) = golden::quantize(&fm, &cal).expect("random models quantize");
    (im, golden::synth::random_images(&shape, images, seed ^ 0x1a6e))
}

/// The trained fixture (`fixtures/digits`) quantized on its calibration split, and its
/// held-out test split.
pub fn fixture_int_model() -> (golden::IntModel, crate::Dataset) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/digits");
    let fm = crate::model_file::load(&dir.join("model.safetensors"), Some(&spec::AccelConfig::default()))
        .expect("the fixture model loads");
    let calib = crate::Dataset::load(&dir.join("calib.safetensors")).expect("the calibration split loads");
    let test = crate::Dataset::load(&dir.join("test.safetensors")).expect("the test split loads");
    let cal = golden::Calibration::collect(&fm, &calib.images, |_| {});
    let (im, _) = golden::quantize(&fm, &cal).expect("the fixture quantizes");
    (im, test)
}

/// Property-test case count: `PROPTEST_CASES` when set (the heavy tier raises it), else
/// `default` (an explicit `ProptestConfig::with_cases` would ignore the variable).
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
