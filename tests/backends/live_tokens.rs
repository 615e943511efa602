//! Live token counts (`ModelOptions::live_tokens`), on every backend: every block takes its
//! token count from LIVE_TOKENS at run time. At the model's own count the program computes
//! exactly the golden model; at any smaller count (where no golden model reference exists) every
//! backend equals the golden ISA simulator bit for bit (logits and ACTIVE, the rows through the
//! array), and the cycles shrink with the count: no cycles are spent on tokens that are not live.

use crate::common::{Backend, GOLDEN};
use golden::{ForwardOptions, IntModel};
use host::device;
use host::model_compile::{compile_model, CompiledModel, ModelOptions};
use host::testkit::{fixture_int_model, random_int_model};
use proptest::prelude::*;
use spec::AccelConfig;
use std::time::Duration;

const LIVE: ModelOptions = ModelOptions { debug: false, live_tokens: true, prune: false };
const TIMEOUT: Duration = Duration::from_secs(600);

/// What a run at a live count gives: logits, cycles, active cycles.
struct LiveRun {
    logits: Vec<i32>,
    cycles: u64,
    active: u64,
}

/// Run `img` at `live` tokens on `backend`.
fn run_at(backend: &Backend, cm: &CompiledModel, im: &IntModel, img: &golden::Image, live: usize) -> LiveRun {
    let mut cm = cm.clone();
    cm.program.live_tokens = live as u16;
    let mut dev = backend.open(&AccelConfig::small(), cm.program.dram_bytes as usize);
    device::load(dev.as_mut(), &cm.program).unwrap();
    let r = cm.run_image(dev.as_mut(), &im.input_patches(img), TIMEOUT).unwrap();
    LiveRun { logits: r.logits, cycles: r.stats.cycles, active: r.stats.active_cycles }
}

/// Run `img` at `live` tokens on `backend` and, unless it is the reference, on the golden ISA
/// simulator: logits and active cycles asserted equal. Returns the backend's run.
fn against_reference(backend: &Backend, im: &IntModel, img: &golden::Image, live: usize) -> LiveRun {
    let cm = compile_model(im, &AccelConfig::small(), LIVE).unwrap();
    let got = run_at(backend, &cm, im, img, live);
    if !backend.is_reference() {
        let want = run_at(&GOLDEN, &cm, im, img, live);
        assert_eq!(got.logits, want.logits, "{}: {live} live tokens: logits vs the golden ISA simulator", backend.name);
        assert_eq!(got.active, want.active, "{}: {live} live tokens: rows through the array", backend.name);
    }
    got
}

/// The fixture's first test image at every live count from the full count down to one.
fn check_fixture_at_every_live_count(backend: &Backend) {
    let (im, test) = fixture_int_model();
    let t = im.shape.tokens();
    let img = &test.images[0];
    let full = against_reference(backend, &im, img, t);
    let want = im.forward(img, &ForwardOptions { prune: false }, None).logits;
    assert_eq!(full.logits, want, "{}: all tokens live = the model", backend.name);
    let mut prev = full.cycles;
    for live in (1..t).rev() {
        let cycles = against_reference(backend, &im, img, live).cycles;
        assert!(
            cycles < prev,
            "{}: {live} live tokens: {cycles} cycles, not fewer than {prev} at {}",
            backend.name,
            live + 1
        );
        prev = cycles;
    }
}

on_every_backend!(BACKEND => {
    #[test]
    fn fixture_at_every_live_count() {
        check_fixture_at_every_live_count(BACKEND);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: BACKEND.cases(40), failure_persistence: None, ..ProptestConfig::default() })]

        /// Random shapes at a random live count; at the full count, equal to the model.
        #[test]
        fn random_models_at_random_live_counts(seed in any::<u64>(), frac in 0.0f64..=1.0) {
            let (im, images) = random_int_model(seed, 3, 1);
            let t = im.shape.tokens();
            let live = 1 + ((t - 1) as f64 * frac) as usize;
            let got = against_reference(BACKEND, &im, &images[0], live);
            if live == t {
                prop_assert_eq!(got.logits, im.forward(&images[0], &ForwardOptions { prune: false }, None).logits,
                                "{}", BACKEND.name);
            }
        }
    }
});
