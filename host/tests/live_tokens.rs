//! Live token counts (`ModelOptions::live_tokens`): every block takes its token count from
//! LIVE_TOKENS at run time. At the model's own count the program computes exactly the golden
//! model; at any smaller count the RTL equals the golden ISA simulator bit for bit (logits,
//! CYCLES and ACTIVE from the cycle model aside), and the RTL's cycles shrink with the count: no
//! cycles are spent on tokens that are not live.

use golden::ForwardOptions;
use host::device::golden::GoldenDevice;
use host::device::{self, verilator::VerilatorDevice, Device};
use host::model_compile::{compile_model, CompiledModel, ModelOptions};
use host::testkit::{fixture_int_model, proptest_cases, random_int_model};
use proptest::prelude::*;
use spec::AccelConfig;
use std::time::Duration;

const LIVE: ModelOptions = ModelOptions { debug: false, live_tokens: true, prune: false };
const TIMEOUT: Duration = Duration::from_secs(600);

/// Run `patches` at `live` tokens on `dev`: (logits, cycles, active cycles).
fn run_at(
    dev: &mut dyn Device,
    cm: &CompiledModel,
    patches: &ndarray::Array2<i8>,
    live: usize,
) -> (Vec<i32>, u64, u64) {
    let mut cm = cm.clone();
    cm.program.live_tokens = live as u16;
    let r = cm.run_image(dev, patches, TIMEOUT).unwrap();
    (r.logits, r.stats.cycles, r.stats.active_cycles)
}

/// Logits on both backends at `live` tokens (asserted equal), and the RTL's cycles.
fn both(im: &golden::IntModel, img: &golden::Image, cfg: &AccelConfig, live: usize) -> (Vec<i32>, u64) {
    let cm = compile_model(im, cfg, LIVE).unwrap();
    let patches = im.input_patches(img);
    let mut g = GoldenDevice::new(cfg, cm.program.dram_bytes as usize);
    device::load(&mut g, &cm.program).unwrap();
    let mut v = VerilatorDevice::new(cfg, cm.program.dram_bytes as usize).unwrap();
    device::load(&mut v, &cm.program).unwrap();
    let (gl, _, g_active) = run_at(&mut g, &cm, &patches, live);
    let (vl, v_cycles, v_active) = run_at(&mut v, &cm, &patches, live);
    assert_eq!(vl, gl, "{live} live tokens: RTL vs golden ISA logits");
    assert_eq!(v_active, g_active, "{live} live tokens: rows through the array");
    (vl, v_cycles)
}

#[test]
fn the_fixture_at_every_live_count() {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    let t = im.shape.tokens();
    let img = &test.images[0];
    let (full, mut prev) = both(&im, img, &cfg, t);
    assert_eq!(full, im.forward(img, &ForwardOptions { prune: false }, None).logits, "all tokens live = the model");
    for live in (1..t).rev() {
        let (_, cycles) = both(&im, img, &cfg, live);
        assert!(cycles < prev, "{live} live tokens: {cycles} cycles, not fewer than {prev} at {}", live + 1);
        prev = cycles;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(40), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_models_at_random_live_counts(seed in any::<u64>(), frac in 0.0f64..=1.0) {
        let (im, images) = random_int_model(seed, 3, 1);
        let t = im.shape.tokens();
        let live = 1 + ((t - 1) as f64 * frac) as usize;
        let (logits, _) = both(&im, &images[0], &AccelConfig::small(), live);
        if live == t {
            prop_assert_eq!(logits, im.forward(&images[0], &ForwardOptions { prune: false }, None).logits);
        }
    }
}
