//! Token pruning on chip (`ModelOptions::prune`), on every backend: the selectors run in
//! hardware, compact the kept tokens, append the package token and set LIVE_TOKENS; every later
//! block runs at that count. For every image the kept-token set after each selector (read back
//! from the device) and the logits equal the integer golden model with pruning, including the
//! forced edge cases (every token kept, every patch token dropped). Where a backend measures its
//! cycles (the RTL), the golden ISA simulator's estimate (exact per instruction, SELECT from its
//! decisions) stays within 2 % of them.

use crate::common::{Backend, GOLDEN};
use golden::{ForwardOptions, IntModel};
use host::device;
use host::model_compile::{compile_model, ModelOptions};
use host::testkit::{fixture_int_model, random_int_model, random_int_model_with};
use proptest::prelude::*;
use spec::AccelConfig;
use std::time::Duration;

const PRUNE: ForwardOptions = ForwardOptions { prune: true };
const OPTS: ModelOptions = ModelOptions { debug: false, live_tokens: false, prune: true };
const TIMEOUT: Duration = Duration::from_secs(600);

/// One image's run: its cycles and the live token count after each selector.
type Run = (u64, Vec<usize>);

/// Run `images` on `backend`: `Err` names the first image whose kept sets or logits differ from
/// golden.
fn check(backend: &Backend, model: &IntModel, images: &[golden::Image], cfg: &AccelConfig) -> Result<Vec<Run>, String> {
    let cm = compile_model(model, cfg, OPTS).map_err(|e| e.to_string())?;
    let mut dev = backend.open(cfg, cm.program.dram_bytes as usize);
    device::load(dev.as_mut(), &cm.program).map_err(|e| e.to_string())?;
    let mut out = vec![];
    for (i, img) in images.iter().enumerate() {
        let want = model.forward(img, &PRUNE, None);
        let got =
            cm.run_image(dev.as_mut(), &model.input_patches(img), TIMEOUT).map_err(|e| format!("image {i}: {e}"))?;
        if got.kept != want.kept {
            return Err(format!("image {i}: kept tokens {:?}, golden {:?}", got.kept, want.kept));
        }
        if got.logits != want.logits {
            return Err(format!("image {i}: logits {:?}, golden {:?}", got.logits, want.logits));
        }
        out.push((got.stats.cycles, got.kept.iter().map(Vec::len).collect()));
    }
    if let Some(v) = dev.protocol_violations() {
        return Err(format!("AXI protocol: {v}"));
    }
    Ok(out)
}

/// The fixture's test images (every one on the golden ISA simulator; `VITACCEL_COSIM_IMAGES`
/// or 8 on the RTL). Over all of them the fixture prunes: some image drops tokens at every
/// selector. On the RTL the golden ISA simulator's cycle estimate is within 2 % of its cycles.
fn check_fixture(backend: &Backend) {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    let n = backend.fixture_images(test.images.len());
    let images = &test.images[..n];
    let runs = check(backend, &im, images, &cfg).unwrap_or_else(|e| panic!("{}: {e}", backend.name));
    if n == test.images.len() {
        let t = im.shape.tokens();
        for s in 0..im.shape.selectors.len() {
            assert!(runs.iter().any(|(_, live)| live[s] < t), "{}: selector {s} never dropped a token", backend.name);
        }
    }
    if backend.measures_cycles {
        let estimate = check(&GOLDEN, &im, images, &cfg).unwrap_or_else(|e| panic!("golden ISA simulator: {e}"));
        for (i, ((c, _), (e, _))) in runs.iter().zip(&estimate).enumerate() {
            let err = (*c as f64 - *e as f64).abs() / *c as f64;
            assert!(err <= 0.02, "{}: image {i}: {c} cycles, golden estimate {e} ({:.2} %)", backend.name, err * 100.0);
        }
    }
}

/// Force every selector's decision: `keep` makes every keep logit saturate positive (every
/// token kept), otherwise negative with positive head weights (every patch token dropped).
fn force(model: &mut IntModel, keep: bool) {
    for s in &mut model.selectors {
        s.diff.bias = vec![if keep { i32::MAX / 4 } else { -(i32::MAX / 4) }; s.diff.bias.len()];
        s.head_fc2.bias = vec![i32::MAX / 4; s.head_fc2.bias.len()];
    }
}

/// The fixture with every selector forced to keep everything, then to drop every patch token:
/// the live counts are the full count, then the prefix tokens plus the package token.
fn check_forced_patterns(backend: &Backend) {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    let t = im.shape.tokens();
    let pre = im.shape.prefix_tokens();
    for keep in [true, false] {
        let mut m = im.clone();
        force(&mut m, keep);
        let runs = check(backend, &m, &test.images[..2], &cfg).unwrap_or_else(|e| panic!("{}: {e}", backend.name));
        for (_, live) in runs {
            let want = if keep { t } else { pre + 1 };
            assert!(live.iter().all(|&l| l == want), "{}: keep {keep}: live {live:?}, expected {want}", backend.name);
        }
    }
}

on_every_backend!(BACKEND => {
    #[test]
    fn fixture_images() {
        check_fixture(BACKEND);
    }

    #[test]
    fn forced_patterns() {
        check_forced_patterns(BACKEND);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: BACKEND.cases(30), failure_persistence: None, ..ProptestConfig::default() })]

        /// Random pruned NViT shapes, two images each, half of them with forced decisions.
        #[test]
        fn random_models(seed in any::<u64>(), forced in 0u8..4) {
            let cfg = AccelConfig::small();
            let (mut im, images) = random_int_model_with(seed, 3, 2, cfg.array_rows);
            match forced {
                0 => force(&mut im, true),
                1 => force(&mut im, false),
                _ => {}
            }
            let r = check(BACKEND, &im, &images, &cfg);
            prop_assert!(r.is_ok(), "{}: {:?}: {:?}", BACKEND.name, im.shape, r);
        }
    }
});

/// Selectors beyond the hardware are rejected by the compiler, naming the limit (no backend
/// runs).
#[test]
fn selectors_beyond_the_hardware_are_rejected_naming_the_limit() {
    let cfg = AccelConfig::small();
    let (im, _) = (0..)
        .map(|seed| random_int_model(seed, 3, 0))
        .find(|(m, _)| m.shape.selectors.iter().any(|s| (m.shape.embed / s.heads) % cfg.array_rows != 0))
        .expect("a random model with a selector head narrower than a word");
    let e = compile_model(&im, &cfg, OPTS).unwrap_err().to_string();
    assert!(e.contains("multiple of the array rows"), "{e}");
    // Without pruning the selectors do not run, and the model fits.
    compile_model(&im, &cfg, ModelOptions { prune: false, ..OPTS }).unwrap();
}
