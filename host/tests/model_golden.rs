//! Whole models compiled to one program and run on the golden instruction-set simulator: the
//! logits equal the integer golden model's exactly (the compiler and the ISA semantics agree with
//! `golden::IntModel::forward`), and debug dumps reproduce every named golden stage.

use golden::{ForwardOptions, Trace};
use host::device::{self, golden::GoldenDevice};
use host::model_compile::{compile_model, first_mismatch, CompiledModel, ModelOptions};
use host::testkit::{fixture_int_model, proptest_cases, random_int_model};
use proptest::prelude::*;
use spec::AccelConfig;
use std::time::Duration;

const NO_PRUNE: ForwardOptions = ForwardOptions { prune: false };

fn device_for(cm: &CompiledModel, cfg: &AccelConfig) -> GoldenDevice {
    let mut dev = GoldenDevice::new(cfg, cm.program.dram_bytes as usize);
    device::load(&mut dev, &cm.program).unwrap();
    dev
}

/// Run `images` and compare logits (and, in debug builds of the program, every stage).
fn check(model: &golden::IntModel, images: &[golden::Image], cfg: &AccelConfig, debug: bool) -> Result<(), String> {
    let cm = compile_model(model, cfg, ModelOptions { debug, ..ModelOptions::default() }).map_err(|e| e.to_string())?;
    let mut dev = device_for(&cm, cfg);
    for (i, img) in images.iter().enumerate() {
        let mut tr = Trace::new();
        let want = model.forward(img, &NO_PRUNE, Some(&mut tr));
        let got =
            cm.run_image(&mut dev, &model.input_patches(img), Duration::from_secs(60)).map_err(|e| e.to_string())?;
        if debug {
            if let Some(m) = first_mismatch(&got.trace, &tr) {
                return Err(format!("image {i}: first differing stage {m}"));
            }
            if got.trace.stages().len() < 4 {
                return Err("debug program dumped nothing".into());
            }
        }
        if got.logits != want.logits {
            return Err(format!("image {i}: logits {:?}, golden {:?}", got.logits, want.logits));
        }
    }
    Ok(())
}

#[test]
fn fixture_logits_equal_golden_on_every_test_image() {
    let (im, test) = fixture_int_model();
    let cfg = AccelConfig::small();
    check(&im, &test.images, &cfg, false).unwrap();
    check(&im, &test.images[..2], &cfg, true).unwrap();
}

#[test]
fn models_beyond_the_hardware_are_rejected_naming_the_limit() {
    let (im, _) = fixture_int_model();
    let mut cfg = AccelConfig::small();
    cfg.max_tokens = 16;
    let e = compile_model(&im, &cfg, ModelOptions::default()).unwrap_err().to_string();
    assert!(e.contains("max_tokens"), "{e}");
    let mut cfg = AccelConfig::small();
    cfg.bank_words = 64;
    let e = compile_model(&im, &cfg, ModelOptions::default()).unwrap_err().to_string();
    assert!(e.contains("bank_words"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(200), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_models_equal_golden(seed in any::<u64>()) {
        let (im, images) = random_int_model(seed, 3, 1);
        let debug = seed % 4 == 0;
        prop_assert_eq!(check(&im, &images, &AccelConfig::small(), debug), Ok(()), "{:?}", im.shape);
    }
}
