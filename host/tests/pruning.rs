//! Token pruning on chip (`ModelOptions::prune`): the selectors run in hardware, compact the
//! kept tokens, append the package token and set LIVE_TOKENS; every later block runs at that
//! count. For every image the kept-token set after each selector (read back from the device)
//! and the logits equal the integer golden model with pruning, on the golden ISA simulator and
//! on the RTL, including the forced edge cases (every token kept, every patch token dropped).

use golden::{ForwardOptions, IntModel};
use host::device::golden::GoldenDevice;
use host::device::{self, verilator::VerilatorDevice, Device};
use host::model_compile::{compile_model, ModelOptions};
use host::testkit::{fixture_int_model, proptest_cases, random_int_model, random_int_model_with};
use proptest::prelude::*;
use spec::AccelConfig;
use std::time::Duration;

const PRUNE: ForwardOptions = ForwardOptions { prune: true };
const OPTS: ModelOptions = ModelOptions { debug: false, live_tokens: false, prune: true };
const TIMEOUT: Duration = Duration::from_secs(600);

/// Run `images` on `dev`: `Err` names the first image whose kept sets or logits differ from
/// golden. Returns the cycles of every image and the live counts after each selector.
fn check(
    dev: &mut dyn Device,
    model: &IntModel,
    images: &[golden::Image],
    cfg: &AccelConfig,
) -> Result<Vec<(u64, Vec<usize>)>, String> {
    let cm = compile_model(model, cfg, OPTS).map_err(|e| e.to_string())?;
    device::load(dev, &cm.program).map_err(|e| e.to_string())?;
    let mut out = vec![];
    for (i, img) in images.iter().enumerate() {
        let want = model.forward(img, &PRUNE, None);
        let got = cm.run_image(dev, &model.input_patches(img), TIMEOUT).map_err(|e| format!("image {i}: {e}"))?;
        if got.kept != want.kept {
            return Err(format!("image {i}: kept tokens {:?}, golden {:?}", got.kept, want.kept));
        }
        if got.logits != want.logits {
            return Err(format!("image {i}: logits {:?}, golden {:?}", got.logits, want.logits));
        }
        out.push((got.stats.cycles, got.kept.iter().map(Vec::len).collect()));
    }
    Ok(out)
}

fn golden_dev(cfg: &AccelConfig, model: &IntModel) -> GoldenDevice {
    let bytes = compile_model(model, cfg, OPTS).unwrap().program.dram_bytes as usize;
    GoldenDevice::new(cfg, bytes)
}

fn rtl_dev(cfg: &AccelConfig, model: &IntModel) -> VerilatorDevice {
    let bytes = compile_model(model, cfg, OPTS).unwrap().program.dram_bytes as usize;
    VerilatorDevice::new(cfg, bytes).unwrap()
}

#[test]
fn fixture_every_test_image_on_the_golden_isa() {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    let runs = check(&mut golden_dev(&cfg, &im), &im, &test.images, &cfg).unwrap();
    // The fixture prunes: some image drops tokens at every selector.
    let t = im.shape.tokens();
    for s in 0..im.shape.selectors.len() {
        assert!(runs.iter().any(|(_, live)| live[s] < t), "selector {s} never dropped a token");
    }
}

#[test]
fn fixture_images_on_the_rtl() {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    let n: usize = std::env::var("VITACCEL_COSIM_IMAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let images = &test.images[..n.min(test.images.len())];
    let runs = check(&mut rtl_dev(&cfg, &im), &im, images, &cfg).unwrap();
    // The golden backend's cycle estimate (exact per instruction, SELECT from its decisions)
    // stays within 2 % of the RTL's CYCLES.
    let est = check(&mut golden_dev(&cfg, &im), &im, images, &cfg).unwrap();
    for (i, ((c, _), (e, _))) in runs.iter().zip(&est).enumerate() {
        let err = (*c as f64 - *e as f64).abs() / *c as f64;
        assert!(err <= 0.02, "image {i}: RTL {c} cycles, model {e} ({:.2} %)", err * 100.0);
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

#[test]
fn forced_patterns_on_the_rtl() {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    let t = im.shape.tokens();
    let pre = im.shape.prefix_tokens();
    for keep in [true, false] {
        let mut m = im.clone();
        force(&mut m, keep);
        let runs = check(&mut rtl_dev(&cfg, &m), &m, &test.images[..2], &cfg).unwrap();
        for (_, live) in runs {
            let want = if keep { t } else { pre + 1 };
            assert!(live.iter().all(|&l| l == want), "keep {keep}: live {live:?}, expected {want} everywhere");
        }
    }
}

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

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(30), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_models_on_the_rtl(seed in any::<u64>(), forced in 0u8..4) {
        let cfg = AccelConfig::small();
        let (mut im, images) = random_int_model_with(seed, 3, 2, cfg.array_rows);
        match forced {
            0 => force(&mut im, true),
            1 => force(&mut im, false),
            _ => {}
        }
        let r = check(&mut rtl_dev(&cfg, &im), &im, &images, &cfg);
        prop_assert!(r.is_ok(), "{:?}: {:?}", im.shape, r);
    }
}
