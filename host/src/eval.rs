//! Accuracy and token-survival evaluation of the integer model (and, optionally, the float
//! reference beside it) on a labelled image set.

use golden::{argmax, FloatModel, ForwardOptions, Image, IntModel, Output};
use serde::Serialize;

/// Top-1 accuracy as counts (one test image of the fixture is 0.28 points: counts matter).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Accuracy {
    /// Correct predictions.
    pub correct: usize,
    /// Images evaluated.
    pub total: usize,
    /// `correct / total` in percent.
    pub top1_percent: f64,
}

impl Accuracy {
    fn new(correct: usize, total: usize) -> Self {
        Accuracy { correct, total, top1_percent: if total == 0 { 0.0 } else { 100.0 * correct as f64 / total as f64 } }
    }
}

/// Token survival at one selector stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageStats {
    /// Block the selector runs before.
    pub block: usize,
    /// Mean live tokens after the stage (class/distillation/package tokens included).
    pub mean_live: f64,
    /// Mean surviving original patch tokens (package tokens and prefix excluded).
    pub mean_patch_tokens: f64,
    /// `mean_patch_tokens / P`: the cumulative keep ratio of patch tokens.
    pub patch_keep_ratio: f64,
    /// Fewest and most live tokens over the images.
    pub min_live: usize,
    /// Most live tokens.
    pub max_live: usize,
}

/// Agreement of the integer and float keep decisions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KeepAgreement {
    /// Token decisions compared (stages whose input token lists were identical in both models).
    pub decisions: usize,
    /// Identical decisions.
    pub agree: usize,
    /// `agree / decisions` in percent.
    pub rate_percent: f64,
    /// Images whose kept-token lists are identical at every stage.
    pub identical_images: usize,
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EvalReport {
    /// Images evaluated.
    pub images: usize,
    /// Whether the selectors ran.
    pub pruning: bool,
    /// Integer-model accuracy (if labels were given).
    pub int: Option<Accuracy>,
    /// Float-reference accuracy (if a float model and labels were given).
    pub float: Option<Accuracy>,
    /// Images where float and integer predict the same class (percent).
    pub top1_agreement_percent: Option<f64>,
    /// Per selector stage, from the integer model.
    pub stages: Vec<StageStats>,
    /// Per selector stage, from the float model.
    pub float_stages: Vec<StageStats>,
    /// Keep-decision agreement (float vs integer).
    pub keep_agreement: Option<KeepAgreement>,
    /// MACs of one inference with every token live.
    pub macs_dense: usize,
    /// Mean MACs per inference with the integer model's live token counts.
    pub macs_mean: f64,
    /// `1 - macs_mean / macs_dense` in percent.
    pub mac_reduction_percent: f64,
}

fn stage_stats(int: &IntModel, outs: &[Vec<usize>], block: usize) -> StageStats {
    let sh = &int.shape;
    let n = outs.len().max(1) as f64;
    let live: Vec<usize> = outs.iter().map(|k| k.len()).collect();
    let patch = |k: &Vec<usize>| k.iter().filter(|&&i| i >= sh.prefix_tokens() && i < sh.tokens()).count();
    let mean_patch = outs.iter().map(patch).sum::<usize>() as f64 / n;
    StageStats {
        block,
        mean_live: live.iter().sum::<usize>() as f64 / n,
        mean_patch_tokens: mean_patch,
        patch_keep_ratio: mean_patch / sh.patches() as f64,
        min_live: live.iter().copied().min().unwrap_or(0),
        max_live: live.iter().copied().max().unwrap_or(0),
    }
}

/// Keep flags of a stage's input tokens given its input and output lists (see `docs/MODEL.md`:
/// kept tokens in order, then one package token iff something was dropped).
pub fn keep_flags(input: &[usize], output: &[usize]) -> Vec<bool> {
    if input == output {
        return vec![true; input.len()];
    }
    let kept = &output[..output.len().saturating_sub(1)];
    let mut it = kept.iter().peekable();
    input
        .iter()
        .map(|i| {
            if it.peek() == Some(&i) {
                it.next();
                true
            } else {
                false
            }
        })
        .collect()
}

/// Evaluate `int` (and `float` if given) on `images`; `labels` enable accuracy figures.
/// `progress` is called after each image.
pub fn evaluate(
    int: &IntModel,
    float: Option<&FloatModel>,
    images: &[Image],
    labels: Option<&[u8]>,
    opts: &ForwardOptions,
    mut progress: impl FnMut(usize),
) -> EvalReport {
    let sh = &int.shape;
    let mut int_outs: Vec<Output<i32>> = Vec::with_capacity(images.len());
    let mut float_outs: Vec<Output<f32>> = Vec::new();
    for (i, img) in images.iter().enumerate() {
        int_outs.push(int.forward(img, opts, None));
        if let Some(f) = float {
            float_outs.push(f.forward(img, opts, None));
        }
        progress(i + 1);
    }
    let acc = |preds: &mut dyn Iterator<Item = usize>| {
        labels.map(|l| Accuracy::new(preds.zip(l).filter(|(p, &l)| *p == l as usize).count(), images.len()))
    };
    let int_preds: Vec<usize> = int_outs.iter().map(|o| argmax(&o.logits)).collect();
    let float_preds: Vec<usize> = float_outs.iter().map(|o| argmax(&o.logits)).collect();
    let mut report = EvalReport {
        images: images.len(),
        pruning: opts.prune,
        int: acc(&mut int_preds.iter().copied()),
        float: if float.is_some() { acc(&mut float_preds.iter().copied()) } else { None },
        ..Default::default()
    };
    if float.is_some() && !images.is_empty() {
        let same = int_preds.iter().zip(&float_preds).filter(|(a, b)| a == b).count();
        report.top1_agreement_percent = Some(100.0 * same as f64 / images.len() as f64);
    }
    for (s, sel) in sh.selectors.iter().enumerate() {
        let per: Vec<Vec<usize>> = int_outs.iter().filter_map(|o| o.kept.get(s).cloned()).collect();
        report.stages.push(stage_stats(int, &per, sel.block));
        if float.is_some() {
            let per: Vec<Vec<usize>> = float_outs.iter().filter_map(|o| o.kept.get(s).cloned()).collect();
            report.float_stages.push(stage_stats(int, &per, sel.block));
        }
    }
    if float.is_some() && opts.prune && !sh.selectors.is_empty() {
        let mut ka = KeepAgreement::default();
        let all: Vec<usize> = (0..sh.tokens()).collect();
        for (io, fo) in int_outs.iter().zip(&float_outs) {
            if io.kept == fo.kept {
                ka.identical_images += 1;
            }
            for s in 0..io.kept.len() {
                let (ii, fi) = if s == 0 { (&all, &all) } else { (&io.kept[s - 1], &fo.kept[s - 1]) };
                if ii != fi {
                    break;
                }
                let (a, b) = (keep_flags(ii, &io.kept[s]), keep_flags(fi, &fo.kept[s]));
                ka.decisions += a.len();
                ka.agree += a.iter().zip(&b).filter(|(x, y)| x == y).count();
            }
        }
        ka.rate_percent = if ka.decisions == 0 { 100.0 } else { 100.0 * ka.agree as f64 / ka.decisions as f64 };
        report.keep_agreement = Some(ka);
    }
    report.macs_dense = sh.macs_dense();
    if !images.is_empty() {
        report.macs_mean = int_outs.iter().map(|o| sh.macs(&o.live) as f64).sum::<f64>() / images.len() as f64;
        report.mac_reduction_percent = 100.0 * (1.0 - report.macs_mean / report.macs_dense as f64);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::keep_flags;

    #[test]
    fn keep_flags_follow_the_package_rule() {
        assert_eq!(keep_flags(&[0, 1, 2, 3], &[0, 1, 2, 3]), vec![true; 4]);
        assert_eq!(keep_flags(&[0, 1, 2, 3], &[0, 2, 9]), vec![true, false, true, false]);
        // An old package token (9) kept, another dropped token merged into a new one.
        assert_eq!(keep_flags(&[0, 2, 9], &[0, 9, 9]), vec![true, false, true]);
        assert_eq!(keep_flags(&[0, 2, 9], &[0, 9]), vec![true, false, false]);
    }
}
