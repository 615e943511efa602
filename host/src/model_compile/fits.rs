//! Whether a model fits a configuration, checked before anything is emitted.

use super::{bank, fail, ModelOptions};
use crate::compile::CompileError;
use golden::int::IntModel;
use spec::AccelConfig;

/// Check that `model` fits `cfg`; the error names the limit.
pub fn check_fits(model: &IntModel, cfg: &AccelConfig, opts: &ModelOptions) -> Result<(), CompileError> {
    let sh = &model.shape;
    let (r, c) = (cfg.array_rows, cfg.array_cols);
    if cfg.banks < bank::COUNT {
        return Err(fail(format!(
            "the model plan needs {} scratchpad banks, the configuration has {} (banks)",
            bank::COUNT,
            cfg.banks
        )));
    }
    let t = sh.tokens();
    let lim = |what: &str, v: usize, max: usize, name: &str| -> Result<(), CompileError> {
        if v > max {
            Err(fail(format!("{what} = {v} exceeds the hardware limit {max} ({name})")))
        } else {
            Ok(())
        }
    };
    lim("tokens", t, cfg.max_tokens, "max_tokens")?;
    lim("tokens (softmax row width)", t, cfg.max_width, "max_width")?;
    lim("embedding width", sh.embed, cfg.max_width, "max_width")?;
    lim("patch dimension", sh.patch_dim(), cfg.max_width, "max_width")?;
    lim("classes", sh.num_classes, cfg.max_width, "max_width")?;
    let pad = |v: usize, to: usize| v.div_ceil(to) * to;
    let e_w = sh.embed.div_ceil(r);
    let t_w = t.div_ceil(r);
    let mut param_words = 0;
    for (b, bs) in sh.blocks.iter().enumerate() {
        lim(&format!("block {b} heads"), bs.heads, cfg.max_heads, "max_heads")?;
        lim(
            &format!("block {b} padded Q/K width (heads x ceil(qk/R)*R)"),
            bs.heads * pad(bs.qk, r),
            cfg.max_width,
            "max_width",
        )?;
        lim(
            &format!("block {b} padded V width (heads x ceil(v/C)*C)"),
            bs.heads * pad(bs.v, c),
            cfg.max_width,
            "max_width",
        )?;
        lim(&format!("block {b} MLP width"), bs.mlp, cfg.max_width, "max_width")?;
        lim(
            &format!("block {b} MLP scratchpad words (tokens x ceil(mlp/R))"),
            t * bs.mlp.div_ceil(r),
            cfg.bank_words,
            "bank_words",
        )?;
        lim(
            &format!("block {b} Q/K scratchpad words"),
            t * (bs.heads * pad(bs.qk, r)).div_ceil(r),
            cfg.bank_words,
            "bank_words",
        )?;
        param_words += 2 * ((2 * sh.embed).div_ceil(r) + (4 * sh.embed).div_ceil(r)) + 512 / r;
    }
    param_words += (2 * sh.embed).div_ceil(r) + (4 * sh.embed).div_ceil(r);
    let v_w_max = sh.blocks.iter().map(|bs| (bs.heads * pad(bs.v, c)).div_ceil(r)).max().unwrap_or(0);
    lim(
        "residual stream (+ package row) + logits scratchpad words",
        (t + 1) * e_w + sh.num_classes.div_ceil(r),
        cfg.bank_words,
        "bank_words",
    )?;
    lim("scores scratchpad words (tokens x ceil(tokens/R))", t * t_w, cfg.bank_words, "bank_words")?;
    lim(
        "attention output + token masks + token indices scratchpad words",
        t * v_w_max + (sh.blocks.len() + 3) * (t + 1).div_ceil(r),
        cfg.bank_words,
        "bank_words",
    )?;
    lim("GEMM input scratchpad words", t * e_w.max(sh.patch_dim().div_ceil(r)), cfg.bank_words, "bank_words")?;
    // On-chip selectors (only when they run).
    for (si, ss) in sh.selectors.iter().enumerate().filter(|_| opts.prune) {
        let d = sh.embed / ss.heads;
        if !d.is_multiple_of(r) {
            return Err(fail(format!(
                "selector {si}: head width d = {d} (embed / heads) must be a multiple of the array rows R = {r} \
                 (its LayerNorm reads whole words)"
            )));
        }
        lim(&format!("selector {si} heads"), ss.heads, cfg.max_heads, "max_heads")?;
        lim(
            &format!("selector {si} probability words (heads x tokens + 2)"),
            ss.heads * t + 2,
            cfg.bank_words,
            "bank_words",
        )?;
        // The stacked heads (`heads x tokens` rows) of the scorer's activations, one bank each.
        let zn = pad(d / 2, r) + (d - d / 2);
        for (what, width) in [("in_proj output", zn), ("hidden1", ss.hidden1), ("hidden2", ss.hidden2)] {
            lim(
                &format!("selector {si} {what} scratchpad words (heads x tokens x ceil({what}/R))"),
                ss.heads * t * width.div_ceil(r),
                cfg.bank_words,
                "bank_words",
            )?;
        }
        param_words += (2 * d).div_ceil(r) + (4 * d).div_ceil(r);
    }
    lim("parameter scratchpad words (LayerNorm, exp tables)", param_words, cfg.bank_words, "bank_words")?;
    Ok(())
}
