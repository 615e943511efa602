//! The whole-model compiler: an [`IntModel`] (any NViT shape that fits the configuration) to one
//! instruction stream and packed DRAM image that runs a complete inference on the accelerator
//! (patch embedding to logits, everything on chip), with per-stage debug dumps on request.
//!
//! # Emit steps
//! [`compile_model`] runs named steps in program order, each in its own module:
//!
//! | step | module | emits |
//! |---|---|---|
//! | parameters | [`params`] | one LOAD of every LayerNorm's gamma/beta and every exp table |
//! | token masks | [`params`] | one LOAD of the NViT token masks, token indices and live count |
//! | embedding | [`embed`] | the initial residual stream, the patch LOAD, the patch-embedding GEMM |
//! | selector | [`selector`] | an on-chip token selector (its LayerNorm, GEMMs, COLMEAN, SELECT) |
//! | attention | [`attention`] | LN1, Q/K/V, the pipelined heads, the output projection |
//! | MLP | [`mlp`] | LN2, FC1 (GELU), FC2 into the residual stream |
//! | head | [`head`] | the final LayerNorm, the classifier GEMMs, the logits STOREs |
//!
//! Steps describe instructions as typed operations ([`emit::GemmOp`], [`emit::LayerNormOp`], ...)
//! with named fields and enums; [`emit::Emitter`] turns them into ISA instructions, sets their
//! live-size bits and dependency counts ([`Builder`]), and allocates their DRAM segments in
//! emission order. [`layout::Layout`] holds the sizes and scratchpad places every step shares.
//!
//! # Scratchpad plan
//! Every tensor lives in its own bank so that concurrent units never share one (a bank has one
//! read port; sharing is a `BANK_CONFLICT`):
//!
//! | bank | contents |
//! |---|---|
//! | 0, 1 | residual stream X (int16: low / high byte planes), `T` rows; the logits row after it |
//! | 2 | GEMM input A: patches, LayerNorm outputs |
//! | 3 | Q (heads at `R`-aligned offsets), later the MLP hidden activations H |
//! | 4 | K (same layout as Q) |
//! | 5 | V (heads at `C`-aligned offsets) |
//! | 6, 7 / 8, 9 | attention scores of even / odd heads and their copies (softmax in place); 6 also the second LayerNorm chunk before Q/K/V and FC1 |
//! | 10 | attention output O (V's layout), then the NViT token masks (GEMM row scales) |
//! | 11 | vector-unit parameters: LayerNorm gamma/beta, exp tables |
//!
//! Q/K heads are padded to `R` channels and V heads to `C` with zero weights (the padding
//! computes zeros; the output projection gets zero rows for it), so every head starts where the
//! GEMM can address it. Heads are pipelined: `QK(j+1)` runs on the GEMM unit while the vector
//! unit computes `softmax(j)`; `P V(j)` follows.
//!
//! # Dependencies
//! [`Builder`] derives every instruction's dependency counts from the banks it touches: an
//! instruction waits for the last instruction of every other unit that touched any of its banks.
//! Instructions of one unit run in order.

mod attention;
pub mod bank;
mod builder;
mod compiled;
mod embed;
mod emit;
mod fits;
mod head;
mod layout;
mod mlp;
mod params;
mod selector;
mod weights;

pub use builder::Builder;
pub use compiled::{first_mismatch, CompiledModel, Dump, DumpKind, ImageRun, LayerKind};
pub use fits::check_fits;

use crate::compile::CompileError;
use emit::{Emitter, TokenCount};
use golden::int::IntModel;
use layout::Layout;
use spec::AccelConfig;

/// Compile options.
#[derive(Clone, Copy, Debug, Default)]
pub struct ModelOptions {
    /// Store every intermediate named like the golden trace stages (slower; for debugging).
    pub debug: bool,
    /// Every block takes its token count from LIVE_TOKENS at run time
    /// ([`crate::program::Program::live_tokens`]): GEMM rows, the tokens of Q.K^T (N) and P.V
    /// (K), LayerNorm and softmax rows, softmax width. One program then runs any live count up to
    /// the model's (the mechanism token pruning uses; embedding, final LayerNorm and heads stay
    /// fixed).
    pub live_tokens: bool,
    /// Run the model's token selectors on chip (SPViT soft pruning): before each selector's
    /// block the hardware scores the live tokens, compacts the kept ones, appends the package
    /// token and sets LIVE_TOKENS; every block takes its sizes from it (implies `live_tokens`).
    /// Without it the selectors are skipped (every token stays live).
    pub prune: bool,
}

fn fail(msg: String) -> CompileError {
    CompileError(msg)
}

/// Compile `model` for `cfg`: one program per model, one patch matrix per image.
pub fn compile_model(model: &IntModel, cfg: &AccelConfig, opts: ModelOptions) -> Result<CompiledModel, CompileError> {
    cfg.check_model(&model.shape).map_err(|e| fail(e.to_string()))?;
    check_fits(model, cfg, &opts)?;
    if opts.prune && model.selectors.len() != model.shape.selectors.len() {
        return Err(fail("the model's selector weights do not match its shape".into()));
    }
    let lay = Layout::new(&model.shape, cfg);
    let mut cx = Emitter::new(cfg, lay, opts.debug);

    let params = params::parameters(&mut cx, model);
    params::token_masks(&mut cx, model);
    embed::initial_residual(&mut cx, model);
    let patches = embed::patch_embedding(&mut cx, model);

    let mut kept_at = vec![];
    cx.tokens = if opts.live_tokens || opts.prune { TokenCount::Live } else { TokenCount::Fixed };
    for (bi, blk) in model.blocks.iter().enumerate() {
        cx.block(Some(bi as u16));
        if let (true, Some((si, shape))) = (opts.prune, model.shape.selector_before(bi)) {
            let at = selector::selector(&mut cx, &model.selectors[si], shape, si, bi, params.selector_ln[si]);
            kept_at.push(at);
        }
        let name = |s: &str| format!("block{bi}.{s}");
        let shape = &model.shape.blocks[bi];
        attention::attention(&mut cx, blk, shape, bi, &params, &name);
        mlp::mlp(&mut cx, blk, shape, params.ln2[bi], &name);
    }
    cx.tokens = TokenCount::Fixed;
    cx.block(None);
    let logits = head::head(&mut cx, model, params.norm);

    Ok(cx.finish(patches, logits, kept_at))
}
