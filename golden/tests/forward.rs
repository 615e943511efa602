//! Structural properties of both forward passes on random NViT-shaped models.

use golden::synth::{random_images, random_model, random_shape, Rng};
use golden::{quantize, Calibration, ForwardOptions, IntModel, Trace};
use proptest::prelude::*;

fn small_int(seed: u64, keep_bias: f32) -> (golden::FloatModel, IntModel, Vec<golden::Image>) {
    let mut rng = Rng::new(seed);
    let shape = random_shape(&mut rng, 3, 8);
    let fm = random_model(&shape, seed, keep_bias);
    let imgs = random_images(&shape, 6, seed);
    let cal = Calibration::collect(&fm, &imgs, |_| {});
    let (im, _) = quantize(&fm, &cal).expect("quantizes");
    (fm, im, imgs)
}

/// Token bookkeeping every selector stage must respect.
fn check_kept(kept: &[Vec<usize>], n0: usize, prefix: usize) -> Result<(), TestCaseError> {
    let mut prev: Vec<usize> = (0..n0).collect();
    for stage in kept {
        prop_assert!(stage.len() <= prev.len(), "token count grew: {:?} -> {:?}", prev, stage);
        prop_assert_eq!(&stage[..prefix], &(0..prefix).collect::<Vec<_>>()[..], "class/dist not first");
        // Original (non-package) tokens are a subsequence of the previous stage's, in order.
        let originals = |v: &[usize]| v.iter().copied().filter(|&i| i != n0).collect::<Vec<_>>();
        let (now, before) = (originals(stage), originals(&prev));
        let mut it = before.iter();
        prop_assert!(now.iter().all(|i| it.any(|j| j == i)), "order broken: {:?} -> {:?}", prev, stage);
        // Either nothing was dropped (the stage is unchanged) or a package token was appended.
        prop_assert!(stage == &prev || stage.last() == Some(&n0), "dropped without package: {:?} -> {:?}", prev, stage);
        prev = stage.clone();
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn integer_forward_is_deterministic_and_keeps_prefix(seed in any::<u64>(), bias in -3.0f32..3.0) {
        let (_, im, imgs) = small_int(seed, bias);
        let sh = &im.shape;
        for img in &imgs[..2] {
            let a = im.forward(img, &ForwardOptions::default(), None);
            let b = im.forward(img, &ForwardOptions::default(), None);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.kept.len(), sh.selectors.len());
            prop_assert_eq!(a.logits.len(), sh.num_classes);
            check_kept(&a.kept, sh.tokens(), sh.prefix_tokens())?;
        }
    }

    #[test]
    fn float_and_int_traces_name_the_same_stages(seed in any::<u64>()) {
        let (fm, im, imgs) = small_int(seed, 10.0);
        let (mut tf, mut ti) = (Trace::new(), Trace::new());
        fm.forward(&imgs[0], &ForwardOptions::default(), Some(&mut tf));
        im.forward(&imgs[0], &ForwardOptions::default(), Some(&mut ti));
        for (name, v) in tf.stages() {
            let w = ti.get(name);
            prop_assert!(w.is_some(), "integer trace lacks {}", name);
            prop_assert_eq!(v.shape(), w.unwrap().shape(), "{}", name);
        }
    }
}

#[test]
fn all_kept_means_no_package_token_and_full_length() {
    let (_, im, imgs) = small_int(7, 1000.0);
    let sh = &im.shape;
    for img in &imgs {
        let out = im.forward(img, &ForwardOptions::default(), None);
        for stage in &out.kept {
            assert_eq!(stage, &(0..sh.tokens()).collect::<Vec<_>>());
        }
    }
}

#[test]
fn all_dropped_leaves_prefix_and_one_package_token() {
    for seed in 0..20 {
        let (_, im, imgs) = small_int(seed, -1000.0);
        let sh = &im.shape;
        let out = im.forward(&imgs[0], &ForwardOptions::default(), None);
        let mut want: Vec<usize> = (0..sh.prefix_tokens()).collect();
        want.push(sh.tokens());
        for stage in &out.kept {
            assert_eq!(stage, &want, "seed {seed}");
        }
        let dense = im.forward(&imgs[0], &ForwardOptions { prune: false }, None);
        assert!(dense.live.iter().all(|&n| n == sh.tokens()));
    }
}

#[test]
fn first_difference_localizes_a_perturbed_stage() {
    let (_, im, imgs) = small_int(3, 0.0);
    let mut ta = Trace::new();
    im.forward(&imgs[0], &ForwardOptions::default(), Some(&mut ta));
    assert_eq!(ta.first_difference(&ta.clone()), None);
    // Perturb block 0's LayerNorm output: everything before it still matches.
    let mut tb = Trace::new();
    for (name, v) in ta.stages() {
        let mut v = v.clone();
        if name == "block0.ln2" {
            v[[0, 1]] += 1;
        }
        tb.push(name.clone(), v);
    }
    assert_eq!(ta.first_difference(&tb), Some(("block0.ln2".to_string(), Some(1))));
}
