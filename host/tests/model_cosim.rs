//! Whole models on the RTL (Verilator): every logit equals the integer golden model's exactly.
//! On a mismatch the program is rerun with debug dumps and the first differing golden stage is
//! reported.

use golden::{ForwardOptions, Trace};
use host::cycle_model::CycleModel;
use host::device::{self, verilator::VerilatorDevice};
use host::model_compile::{compile_model, first_mismatch, ModelOptions};
use host::testkit::{fixture_int_model, proptest_cases, random_int_model};
use proptest::prelude::*;
use spec::AccelConfig;
use std::time::Duration;

const NO_PRUNE: ForwardOptions = ForwardOptions { prune: false };
const TIMEOUT: Duration = Duration::from_secs(600);

/// Run `images` on the RTL; `Err` names the image and the first differing stage. Returns the
/// cycles and the largest relative error of the cycle model's program estimate.
fn cosim(model: &golden::IntModel, images: &[golden::Image], cfg: &AccelConfig) -> Result<(u64, f64), String> {
    let cm = compile_model(model, cfg, ModelOptions::default()).map_err(|e| e.to_string())?;
    let mut dev = VerilatorDevice::new(cfg, cm.program.dram_bytes as usize).map_err(|e| e.to_string())?;
    device::load(&mut dev, &cm.program).map_err(|e| e.to_string())?;
    let predicted = CycleModel::new(cfg).program(&cm.program.insns).0 as f64;
    let (mut cycles, mut model_err) = (0, 0f64);
    for (i, img) in images.iter().enumerate() {
        let want = model.forward(img, &NO_PRUNE, None);
        let got = cm.run_image(&mut dev, &model.input_patches(img), TIMEOUT).map_err(|e| format!("image {i}: {e}"))?;
        cycles += got.stats.cycles;
        model_err = model_err.max((got.stats.cycles as f64 - predicted).abs() / predicted);
        if got.logits != want.logits {
            return Err(format!(
                "image {i}: logits {:?}, golden {:?}; {}",
                got.logits,
                want.logits,
                localize(model, img, cfg)
            ));
        }
    }
    if let Some(v) = dev.sim().protocol_violations() {
        return Err(format!("AXI protocol: {v:?}"));
    }
    Ok((cycles, model_err))
}

/// Rerun one image with debug dumps and name the first stage that differs from golden.
fn localize(model: &golden::IntModel, img: &golden::Image, cfg: &AccelConfig) -> String {
    let cm = compile_model(model, cfg, ModelOptions { debug: true, ..ModelOptions::default() })
        .expect("compiled once already");
    let mut dev = VerilatorDevice::new(cfg, cm.program.dram_bytes as usize).expect("built");
    device::load(&mut dev, &cm.program).expect("loads");
    let mut tr = Trace::new();
    model.forward(img, &NO_PRUNE, Some(&mut tr));
    match cm.run_image(&mut dev, &model.input_patches(img), TIMEOUT) {
        Ok(r) => first_mismatch(&r.trace, &tr)
            .map_or("every dumped stage equal".into(), |m| format!("first differing stage {m}")),
        Err(e) => format!("debug run failed: {e}"),
    }
}

#[test]
fn fixture_images_are_exact_on_the_rtl() {
    let (im, test) = fixture_int_model();
    let n: usize = std::env::var("VITACCEL_COSIM_IMAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let (cycles, model_err) = cosim(&im, &test.images[..n.min(test.images.len())], &AccelConfig::small()).unwrap();
    eprintln!("{n} fixture images: {cycles} cycles, cycle model within {:.2} %", model_err * 100.0);
    assert!(model_err <= 0.02, "program cycles: model off by {:.2} %", model_err * 100.0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(200), failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_models_are_exact_on_the_rtl(seed in any::<u64>()) {
        let (im, images) = random_int_model(seed, 3, 1);
        let r = cosim(&im, &images, &AccelConfig::small());
        prop_assert!(r.is_ok(), "{:?}: {:?}", im.shape, r);
        let (_, model_err) = r.unwrap();
        prop_assert!(model_err <= 0.05, "{:?}: program cycles, model off by {:.2} %", im.shape, model_err * 100.0);
    }
}
