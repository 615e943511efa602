//! Emit steps that load what every later step reads from the scratchpad: the vector-unit
//! parameters and the token masks.

use super::bank;
use super::emit::{ba, Emitter};
use super::weights::ln_bytes;
use golden::int::IntModel;

/// Words of every vector-unit parameter block in the parameter bank.
pub(super) struct ParamPlan {
    /// Per block: LN1 gamma/beta.
    pub ln1: Vec<usize>,
    /// Per block: LN2 gamma/beta.
    pub ln2: Vec<usize>,
    /// Per block: the softmax exp table.
    pub exp: Vec<usize>,
    /// The final LayerNorm.
    pub norm: usize,
    /// Per selector: its LayerNorm.
    pub selector_ln: Vec<usize>,
}

/// Parameters: every LayerNorm and exp table, one LOAD into bank PARAM.
pub(super) fn parameters(cx: &mut Emitter, model: &IntModel) -> ParamPlan {
    let r = cx.lay.r;
    let mut params = Vec::<u8>::new();
    let mut place = |bytes: Vec<u8>| {
        let at = params.len() / r;
        params.extend(bytes);
        at
    };
    let (mut ln1, mut ln2, mut exp) = (vec![], vec![], vec![]);
    for blk in &model.blocks {
        ln1.push(place(ln_bytes(&blk.ln1, r)));
        ln2.push(place(ln_bytes(&blk.ln2, r)));
        exp.push(place(blk.exp_lut.iter().flat_map(|v| v.to_le_bytes()).collect()));
    }
    let norm = place(ln_bytes(&model.norm, r));
    let selector_ln = model.selectors.iter().map(|s| place(ln_bytes(&s.ln, r))).collect();
    let words = params.len() / r;
    cx.load("params", params, ba(bank::PARAM, 0), 1, words);
    ParamPlan { ln1, ln2, exp, norm, selector_ln }
}

/// Token masks (row scales of the Q/K/V GEMMs), after the attention output in bank O, then the
/// tokens' original indices (low, high byte plane) and the live count: the byte rows SELECT
/// compacts along with the tokens. Byte T of each holds the package token's entry.
pub(super) fn token_masks(cx: &mut Emitter, model: &IntModel) {
    let (t, nb, mw, wb) = (cx.lay.tokens, cx.lay.blocks, cx.lay.mask_w, cx.lay.word_bytes);
    let row = |i: usize| i * mw * wb;
    let mut masks = vec![0u8; row(nb + 3)];
    for (b, blk) in model.blocks.iter().enumerate() {
        for tok in 0..=t {
            masks[row(b) + tok] = blk.token_mask[tok] as u8;
        }
    }
    for tok in 0..=t {
        masks[row(nb) + tok] = tok as u8;
        masks[row(nb + 1) + tok] = (tok >> 8) as u8;
    }
    masks[row(nb + 2)..][..2].copy_from_slice(&(t as u16).to_le_bytes());
    cx.load("token_masks", masks, ba(bank::O, cx.lay.masks_at), 1, (nb + 3) * mw);
}
