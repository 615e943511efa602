#!/usr/bin/env python3
"""Train and export the `fixtures/digits/` test fixture (dev tool, never run by CI).

What it does
------------
Builds the float network of docs/MODEL.md (NViT-shaped distilled ViT + SPViT token selectors) in JAX
and trains it on scikit-learn's bundled 8x8 digits (1797 images, pixels 0..16, no download):

1. data: stratified 80/20 split (`train_test_split(test_size=0.2, stratify=y, random_state=0)`,
   360 test images); calibration set = first 128 training images.
2. WIDE model: E=64, 4 blocks x 4 heads, qk = v = 16, MLP 128, class + distillation token (N0 = 18),
   both heads trained on the labels (AdamW + warmup/cosine, random 1-pixel shifts).
3. NViT-style STRUCTURED PRUNING with Taylor importance (sum over a structure of |w * dL/dw|,
   accumulated over training batches): whole heads, Q/K channels in groups of 8 (channel indices
   shared by all heads of a block), V channels in groups of 8, MLP neurons in groups of 16; E stays 64.
   Importance is accumulated over 3 epochs of training batches of the trained wide model; greedy
   global one-shot pruning (repeatedly remove the candidate structure with the smallest importance
   per removed parameter, at least 1 head / 8 qk / 8 v / 16 MLP per block) down to 70 % of the block
   parameters, then a fine-tune with DeiT hard distillation (class head <- labels, distillation head
   <- the wide model's argmax). (An iterative -10/-20/-30 % variant was tried; it also works but ended
   with qk == v in every block, so the one-shot variant is used.)
4. SPViT token selectors before 0-based blocks 1 and 2 (h_s = 4 heads, d = 16, d1 = 8, d2 = 4,
   hh = 2), trained with the whole model: straight-through Gumbel keep decisions on p[t], a keep-ratio
   penalty (targets: cumulative patch-token keep ratio 0.7 after stage 1, 0.5 after stage 2) and a
   fixed-size formulation that is mathematically identical to variable-length inference (dropped
   tokens are masked out of every later softmax and of the selector's global mean; each stage writes
   one package token into its own slot, live iff something was dropped, original index N0 = 18).
   Training detail: keep decision = [sigmoid(logit p[t] + a * L) >= 1/2] with L logistic noise (the
   binary Gumbel-softmax), gradient straight through the soft value; the noise scale a anneals 1 -> 0
   over the first 75 % of the 80 epochs, the last 25 % train with the deterministic inference rule.
   Dropped tokens stay in the softmax denominators multiplied by their 0/1 keep value, so the forward
   pass is exact while the keep decision still gets a gradient. Loss: 0.5 CE(class head, labels,
   smoothing 0.1) + 0.5 CE(distillation head, wide-model argmax) + 4 * sum_s (ratio_s - target_s)^2
   (ratio = batch-mean live patch tokens / 16). Selectors lr 1e-3, backbone 0.3x.
5. export to fixtures/digits/: model.safetensors, test.safetensors, calib.safetensors,
   reference.json (from an independent pure-numpy, float64, one-image-at-a-time, truly
   variable-length implementation of docs/MODEL.md run on the re-loaded exported file, cross-checked
   against the JAX model) and TRAINING.md (measured numbers of the run).

How to run
----------
    python3 -m venv /work/venv-train
    /work/venv-train/bin/pip install -r tools/requirements-train.txt
    /work/venv-train/bin/python tools/train_fixture.py            # writes fixtures/digits/

Options: `--out DIR` (default: <repo>/fixtures/digits), `--quick` (few epochs, smoke test only; use
with a scratch `--out`).

Run time: about 5-8 minutes on 2 shared CPU cores (see fixtures/digits/TRAINING.md for the
measured time of the committed run). CI never runs this script; the committed fixture files are the
artifact.

Reproducibility: all randomness comes from fixed seeds (numpy PCG64 for init/shuffles/augmentation,
jax.random for Gumbel noise); XLA on CPU is deterministic for a given machine/thread count, and the
safetensors files are written by a deterministic writer (tools/convert_pytorch.py save_safetensors;
the `safetensors` package orders `__metadata__` randomly), so a rerun regenerates byte-identical
.safetensors files and reference.json (TRAINING.md differs only in the measured run times). A
different CPU / XLA build may change the float rounding and hence the trained weights.
The script asserts 100 % numpy-vs-JAX agreement (predictions and kept-token lists) before writing
reference.json.
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ----------------------------------------------------------------------------- model constants
IMG, PATCH, C, NCLS = 8, 2, 1, 10
GRID = IMG // PATCH
P = GRID * GRID            # 16 patch tokens
DISTILLED = True
N0 = 1 + int(DISTILLED) + P  # 18 tokens enter block 0
E = 64
PIXEL_MAX = 16
PIXEL_SCALE = 1.0 / 16.0
MEAN, STD = [0.5], [0.5]
ATTN_SCALE = 0.125
LN_EPS = 1e-6
PKG_EPS = 2.0 ** -16       # package-token weight offset (docs/MODEL.md)
SEL_BLOCKS = [1, 2]        # selectors run before these 0-based blocks
SEL_HEADS = 4
SEL_TARGETS = [0.7, 0.5]   # cumulative patch-token keep ratio after each stage
WIDE_DIMS = [(4, 16, 16, 128)] * 4   # (heads, qk, v, mlp) per block
PRUNE_TARGET = 0.7                   # block-parameter budget after one-shot pruning
QK_GROUP, V_GROUP, MLP_GROUP = 8, 8, 16

SEED = 0


# ----------------------------------------------------------------------------- data
def load_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X = d.images.astype(np.uint8).reshape(-1, 1, IMG, IMG)
    assert X.max() <= PIXEL_MAX
    y = d.target.astype(np.uint8)
    xtr, xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    return xtr, ytr, xte, yte


def augment(rng, imgs):
    """Random shift by -1/0/+1 pixels in each direction, zero fill (integer images stay integer)."""
    B = imgs.shape[0]
    pad = np.zeros((B, C, IMG + 2, IMG + 2), imgs.dtype)
    pad[:, :, 1:-1, 1:-1] = imgs
    oy = rng.integers(0, 3, B)
    ox = rng.integers(0, 3, B)
    rows = oy[:, None] + np.arange(IMG)[None, :]        # [B, IMG]
    cols = ox[:, None] + np.arange(IMG)[None, :]
    out = pad[np.arange(B)[:, None, None, None], np.arange(C)[None, :, None, None],
              rows[:, None, :, None], cols[:, None, None, :]]
    return out


# ----------------------------------------------------------------------------- params
def block_param_count(h, qk, v, m):
    return (h * (2 * qk + v) * (E + 1) + E * h * v + E   # qkv + proj
            + 4 * E                                       # two LayerNorms
            + m * (E + 1) + E * m + E)                    # MLP


def blocks_param_count(dims):
    return sum(block_param_count(*d) for d in dims)


def total_param_count(params):
    return int(sum(np.prod(v.shape) for v in params.values()))


def trunc_normal(rng, shape, std=0.02):
    return (np.clip(rng.standard_normal(shape), -2.0, 2.0) * std).astype(np.float32)


def init_backbone(rng, dims):
    p = {}
    p["patch_embed.proj.weight"] = trunc_normal(rng, (E, C, PATCH, PATCH))
    p["patch_embed.proj.bias"] = np.zeros(E, np.float32)
    p["cls_token"] = trunc_normal(rng, (1, 1, E))
    p["dist_token"] = trunc_normal(rng, (1, 1, E))
    p["pos_embed"] = trunc_normal(rng, (1, N0, E))
    for b, (h, qk, v, m) in enumerate(dims):
        k = f"blocks.{b}."
        p[k + "norm1.weight"] = np.ones(E, np.float32)
        p[k + "norm1.bias"] = np.zeros(E, np.float32)
        p[k + "attn.qkv.weight"] = trunc_normal(rng, (h * (2 * qk + v), E))
        p[k + "attn.qkv.bias"] = np.zeros(h * (2 * qk + v), np.float32)
        p[k + "attn.token_mask"] = np.ones(N0 + 1, np.float32)
        p[k + "attn.proj.weight"] = trunc_normal(rng, (E, h * v))
        p[k + "attn.proj.bias"] = np.zeros(E, np.float32)
        p[k + "norm2.weight"] = np.ones(E, np.float32)
        p[k + "norm2.bias"] = np.zeros(E, np.float32)
        p[k + "mlp.fc1.weight"] = trunc_normal(rng, (m, E))
        p[k + "mlp.fc1.bias"] = np.zeros(m, np.float32)
        p[k + "mlp.fc2.weight"] = trunc_normal(rng, (E, m))
        p[k + "mlp.fc2.bias"] = np.zeros(E, np.float32)
    p["norm.weight"] = np.ones(E, np.float32)
    p["norm.bias"] = np.zeros(E, np.float32)
    p["head.weight"] = trunc_normal(rng, (NCLS, E))
    p["head.bias"] = np.zeros(NCLS, np.float32)
    p["head_dist.weight"] = trunc_normal(rng, (NCLS, E))
    p["head_dist.bias"] = np.zeros(NCLS, np.float32)
    return p


def sel_dims(hs=SEL_HEADS):
    d = E // hs
    return d, d // 2, d // 4, max(hs // 2, 1)


def init_selectors(rng, n_sel, hs=SEL_HEADS):
    d, d1, d2, hh = sel_dims(hs)

    def lin(o, i):  # PyTorch-like uniform(-1/sqrt(i), 1/sqrt(i))
        bound = 1.0 / math.sqrt(i)
        return rng.uniform(-bound, bound, (o, i)).astype(np.float32)

    p = {}
    for s in range(n_sel):
        k = f"selectors.{s}."
        p[k + "norm.weight"] = np.ones(d, np.float32)
        p[k + "norm.bias"] = np.zeros(d, np.float32)
        p[k + "in_proj.weight"] = lin(d, d)
        p[k + "in_proj.bias"] = np.zeros(d, np.float32)
        p[k + "out1.weight"] = lin(d1, d)
        p[k + "out1.bias"] = np.zeros(d1, np.float32)
        p[k + "out2.weight"] = lin(d2, d1)
        p[k + "out2.bias"] = np.zeros(d2, np.float32)
        p[k + "out3.weight"] = lin(2, d2)
        # start by keeping (almost) everything: keep-logit minus drop-logit = +3
        p[k + "out3.bias"] = np.array([1.5, -1.5], np.float32)
        p[k + "head_fc1.weight"] = lin(hh, hs)
        p[k + "head_fc1.bias"] = np.zeros(hh, np.float32)
        p[k + "head_fc2.weight"] = lin(hs, hh)
        p[k + "head_fc2.bias"] = np.zeros(hs, np.float32)
    return p


# ----------------------------------------------------------------------------- JAX model
def jax_setup():
    import jax
    jax.config.update("jax_enable_x64", False)
    return jax


def make_model(dims, use_sel):
    """Return forward(params, imgs_u8, rng, train, noise) -> (logits_cls, logits_dist, lives, ps).

    Fixed-size formulation: sequence = [N0 original tokens] + one package slot per selector stage.
    `live` is 0/1 in the forward pass (straight-through gradients during training).
    """
    import jax
    import jax.numpy as jnp

    n_sel = len(SEL_BLOCKS) if use_sel else 0
    N = N0 + n_sel
    idx = np.array(list(range(N0)) + [N0] * n_sel, np.int32)
    forced = np.zeros(N, np.float32)
    forced[: 1 + int(DISTILLED)] = 1.0

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + LN_EPS) * g + b

    def gelu(x):
        return jax.nn.gelu(x, approximate=False)

    def lin(x, p, k):
        return x @ p[k + ".weight"].T + p[k + ".bias"]

    def embed(p, imgs):
        B = imgs.shape[0]
        x = imgs.astype(jnp.float32) * PIXEL_SCALE
        x = (x - jnp.array(MEAN, jnp.float32)[None, :, None, None]) / jnp.array(STD, jnp.float32)[None, :, None, None]
        x = x.reshape(B, C, GRID, PATCH, GRID, PATCH).transpose(0, 2, 4, 1, 3, 5).reshape(B, P, C * PATCH * PATCH)
        t = x @ p["patch_embed.proj.weight"].reshape(E, -1).T + p["patch_embed.proj.bias"]
        toks = [jnp.broadcast_to(p["cls_token"], (B, 1, E))]
        if DISTILLED:
            toks.append(jnp.broadcast_to(p["dist_token"], (B, 1, E)))
        X = jnp.concatenate(toks + [t], axis=1) + p["pos_embed"]
        return X

    def block(p, b, X, live, live_hard):
        h, qk, v, m = dims[b]
        k = f"blocks.{b}."
        B, n, _ = X.shape
        A = ln(X, p[k + "norm1.weight"], p[k + "norm1.bias"])
        qkv = lin(A, p, k + "attn.qkv")
        q = qkv[..., : h * qk].reshape(B, n, h, qk)
        kk = qkv[..., h * qk: 2 * h * qk].reshape(B, n, h, qk)
        vv = qkv[..., 2 * h * qk:].reshape(B, n, h, v)
        tm = p[k + "attn.token_mask"][idx[:n]][None, :, None, None]
        q, kk, vv = q * tm, kk * tm, vv * tm
        s = jnp.einsum("bnhd,bmhd->bhnm", q, kk) * ATTN_SCALE
        if live is None:
            a = jax.nn.softmax(s, axis=-1)
        else:
            lh = live_hard[:, None, None, :] > 0
            mx = jax.lax.stop_gradient(jnp.max(jnp.where(lh, s, -jnp.inf), axis=-1, keepdims=True))
            # dead keys get exactly 0 weight in the forward pass (live == 0); the clip only keeps
            # their (multiplied-by-zero) exponent finite.
            e = jnp.exp(jnp.minimum(s - mx, 30.0)) * live[:, None, None, :]
            a = e / e.sum(-1, keepdims=True)
        o = jnp.einsum("bhnm,bmhd->bnhd", a, vv).reshape(B, n, h * v)
        X = X + lin(o, p, k + "attn.proj")
        Hd = gelu(lin(ln(X, p[k + "norm2.weight"], p[k + "norm2.bias"]), p, k + "mlp.fc1"))
        X = X + lin(Hd, p, k + "mlp.fc2")
        return X

    def selector(p, s, X, live, live_hard, rng, train, noise):
        hs = SEL_HEADS
        d = E // hs
        k = f"selectors.{s}."
        B, n, _ = X.shape
        x = X.reshape(B, n, hs, d)
        z = gelu(lin(ln(x, p[k + "norm.weight"], p[k + "norm.bias"]), p, k + "in_proj"))
        zl, zg = z[..., : d // 2], z[..., d // 2:]
        cnt = live.sum(1)                                               # [B]
        g = (zg * live[:, :, None, None]).sum(1) / cnt[:, None, None]  # [B, hs, d/2]
        u = jnp.concatenate([zl, jnp.broadcast_to(g[:, None], zl.shape)], axis=-1)
        y1 = gelu(lin(u, p, k + "out1"))
        y2 = gelu(lin(y1, p, k + "out2"))
        l = lin(y2, p, k + "out3")                                      # [B, n, hs, 2]
        pj = jax.nn.sigmoid(l[..., 0] - l[..., 1])                      # [B, n, hs]
        sj = g.mean(-1)                                                 # [B, hs]
        w = jax.nn.sigmoid(lin(gelu(lin(sj, p, k + "head_fc1")), p, k + "head_fc2"))
        wsum = w.sum(-1)
        pt = jnp.where(wsum[:, None] > 0, (pj * w[:, None, :]).sum(-1) / jnp.where(wsum > 0, wsum, 1.0)[:, None], 1.0)
        if train and rng is not None:
            pc = jnp.clip(pt, 1e-6, 1 - 1e-6)
            u01 = jax.random.uniform(rng, pt.shape, minval=1e-6, maxval=1 - 1e-6)
            logistic = jnp.log(u01) - jnp.log1p(-u01)     # difference of two Gumbels
            soft = jax.nn.sigmoid(jnp.log(pc) - jnp.log1p(-pc) + noise * logistic)
            hard = (soft >= 0.5).astype(jnp.float32)
            dec = hard + soft - jax.lax.stop_gradient(soft)
        else:
            hard = (pt >= 0.5).astype(jnp.float32)
            dec = hard + pt - jax.lax.stop_gradient(pt)
        fz = jnp.asarray(forced[:n])[None, :]
        dec = fz + (1.0 - fz) * dec
        hard = fz + (1.0 - fz) * hard
        keep = live * dec
        keep_hard = live_hard * hard
        dropped = live * (1.0 - dec)
        dropped_hard = live_hard * (1.0 - hard)
        wts = dropped * (pt + PKG_EPS)
        den = wts.sum(1)
        pkg = (wts[:, :, None] * X).sum(1) / jnp.where(den > 0, den, 1.0)[:, None]
        any_drop = (dropped_hard.sum(1) > 0).astype(jnp.float32)
        slot = N0 + s
        X = X.at[:, slot].set(pkg)
        keep = keep.at[:, slot].set(any_drop)
        keep_hard = keep_hard.at[:, slot].set(any_drop)
        return X, keep, keep_hard, pt

    def forward(p, imgs, rng=None, train=False, noise=0.0):
        X = embed(p, imgs)
        B = X.shape[0]
        lives, ps = [], []
        if n_sel:
            X = jnp.concatenate([X, jnp.zeros((B, n_sel, E), X.dtype)], axis=1)
            live = jnp.broadcast_to(jnp.asarray((np.arange(N) < N0).astype(np.float32)), (B, N))
            live_hard = live
        else:
            live = live_hard = None
        for b in range(len(dims)):
            if n_sel and b in SEL_BLOCKS:
                s = SEL_BLOCKS.index(b)
                r = jax.random.fold_in(rng, s) if rng is not None else None
                X, live, live_hard, pt = selector(p, s, X, live, live_hard, r, train, noise)
                lives.append((live, live_hard))
                ps.append(pt)
            X = block(p, b, X, live, live_hard)
        Y = ln(X, p["norm.weight"], p["norm.bias"])
        lc = lin(Y[:, 0], p, "head")
        ld = lin(Y[:, 1], p, "head_dist")
        return lc, ld, lives, ps

    return forward


def ce(logits, labels, smoothing=0.0):
    import jax
    import jax.numpy as jnp
    logp = jax.nn.log_softmax(logits, -1)
    oh = jax.nn.one_hot(labels, NCLS)
    if smoothing:
        oh = oh * (1 - smoothing) + smoothing / NCLS
    return -(oh * logp).sum(-1).mean()


class Trainer:
    """Jitted train step / eval / Taylor-importance functions for one model configuration."""

    def __init__(self, dims, use_sel, teacher_dims=None, sel_weight=0.0):
        import jax
        import jax.numpy as jnp
        import optax
        self.jax, self.jnp, self.optax = jax, jnp, optax
        self.dims, self.use_sel = dims, use_sel
        self.fwd = make_model(dims, use_sel)
        self.teacher_fwd = make_model(teacher_dims, False) if teacher_dims else None
        self.sel_weight = sel_weight

        def loss_fn(p, imgs, labels, teacher_p, rng, noise):
            lc, ld, lives, _ = self.fwd(p, imgs, rng=rng, train=True, noise=noise)
            if self.teacher_fwd is not None:
                tc, td, _, _ = self.teacher_fwd(teacher_p, imgs)
                tlab = jnp.argmax(tc + td, -1)
                loss = 0.5 * ce(lc, labels, 0.1) + 0.5 * ce(ld, tlab)
            else:
                loss = 0.5 * ce(lc, labels, 0.1) + 0.5 * ce(ld, labels, 0.1)
            ratios = []
            for (live, _) in lives:
                r = live[:, 1 + int(DISTILLED): N0].mean()
                ratios.append(r)
            if lives:
                pen = sum((r - t) ** 2 for r, t in zip(ratios, SEL_TARGETS))
                loss = loss + self.sel_weight * pen
            return loss, jnp.stack(ratios) if ratios else jnp.zeros(0)

        self.loss_fn = loss_fn
        self._grad = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))

        def evalf(p, imgs):
            lc, ld, lives, ps = self.fwd(p, imgs)
            return (lc + ld) / 2, [lh for (_, lh) in lives], ps
        self.eval = jax.jit(evalf)

    def make_opt(self, params, lr, wd, total_steps, warmup_steps, lr_mult=None):
        optax = self.optax
        sched = optax.warmup_cosine_decay_schedule(0.0, lr, warmup_steps, total_steps, end_value=lr * 0.01)
        decay = {k: (k.endswith("weight") and v.ndim >= 2) for k, v in params.items()}
        tx = optax.chain(optax.clip_by_global_norm(1.0),
                         optax.adamw(sched, b1=0.9, b2=0.999, weight_decay=wd, mask=decay))
        if lr_mult:
            scale = {k: lr_mult(k) for k in params}
            tx = optax.chain(tx, _scale_by_tree(scale))
        self.tx = tx

        @self.jax.jit
        def step(p, st, imgs, labels, teacher_p, rng, noise):
            (loss, ratios), g = self.jax.value_and_grad(self.loss_fn, has_aux=True)(p, imgs, labels, teacher_p, rng, noise)
            upd, st = tx.update(g, st, p)
            p = self.optax.apply_updates(p, upd)
            return p, st, loss, ratios
        self.step = step
        return tx.init(params)


def _scale_by_tree(scale):
    """Per-parameter learning-rate multiplier (applied to the final AdamW update)."""
    import optax

    def init_fn(params):
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        return {k: u * scale[k] for k, u in updates.items()}, state
    return optax.GradientTransformation(init_fn, update_fn)


def to_jnp(params):
    import jax.numpy as jnp
    return {k: jnp.asarray(v) for k, v in params.items()}


def to_np(params):
    return {k: np.asarray(v, np.float32) for k, v in params.items()}


def accuracy(trainer, params, imgs, labels):
    logits, lives, _ = trainer.eval(params, imgs)
    pred = np.asarray(logits).argmax(-1)
    return float((pred == labels).mean()), int((pred == labels).sum()), [np.asarray(l) for l in lives]


def train_phase(name, trainer, params, xtr, ytr, xte, yte, epochs, lr, wd, rng, jrng, bs=64,
                teacher_p=None, noise_sched=None, importance_epochs=0, log=print, lr_mult=None):
    """Train `epochs` epochs; if importance_epochs > 0, afterwards accumulate Taylor importance
    |w * dL/dw| over that many epochs of (augmented) training batches without updating."""
    import jax
    n = len(xtr)
    steps_per_epoch = n // bs
    total = steps_per_epoch * epochs
    st = trainer.make_opt(params, lr, wd, total, max(1, steps_per_epoch * min(5, epochs // 10 + 1)), lr_mult)
    t0 = time.time()
    tp = teacher_p if teacher_p is not None else {}
    step_i = 0
    for ep in range(epochs):
        perm = rng.permutation(n)
        noise = noise_sched(ep, epochs) if noise_sched else 0.0
        rs = []
        for i in range(steps_per_epoch):
            bi = perm[i * bs:(i + 1) * bs]
            imgs = augment(rng, xtr[bi])
            key = jax.random.fold_in(jrng, step_i)
            params, st, loss, ratios = trainer.step(params, st, imgs, ytr[bi].astype(np.int32), tp, key, noise)
            rs.append(np.asarray(ratios))
            step_i += 1
        if (ep + 1) % 10 == 0 or ep == epochs - 1:
            acc, cnt, lives = accuracy(trainer, params, xte, yte)
            extra = ""
            if lives:
                extra = " keep " + " ".join(f"{l[:, 2:N0].mean():.3f}" for l in lives) + \
                        " (train " + " ".join(f"{r:.3f}" for r in np.mean(rs, 0)) + ")"
            log(f"  [{name}] epoch {ep + 1:3d}/{epochs} loss {float(loss):.4f} test {acc * 100:.2f}% "
                f"({cnt}/{len(yte)}){extra}  {time.time() - t0:.0f}s")
    imp = None
    if importance_epochs:
        imp = {k: np.zeros(v.shape, np.float64) for k, v in params.items()}
        for ep in range(importance_epochs):
            perm = rng.permutation(n)
            for i in range(steps_per_epoch):
                bi = perm[i * bs:(i + 1) * bs]
                imgs = augment(rng, xtr[bi])
                (_, _), g = trainer._grad(params, imgs, ytr[bi].astype(np.int32), tp, None, 0.0)
                for k in imp:
                    imp[k] += np.abs(np.asarray(params[k], np.float64) * np.asarray(g[k], np.float64))
    return params, imp


# ----------------------------------------------------------------------------- pruning
def block_channel_importance(imp, b, dims):
    h, qk, v, m = dims[b]
    k = f"blocks.{b}."
    row = imp[k + "attn.qkv.weight"].sum(1) + imp[k + "attn.qkv.bias"]
    q = row[: h * qk].reshape(h, qk)
    kk = row[h * qk: 2 * h * qk].reshape(h, qk)
    vv = row[2 * h * qk:].reshape(h, v)
    pr = imp[k + "attn.proj.weight"].sum(0).reshape(h, v)
    mlp = imp[k + "mlp.fc1.weight"].sum(1) + imp[k + "mlp.fc1.bias"] + imp[k + "mlp.fc2.weight"].sum(0)
    return q + kk, vv + pr, mlp     # [h, qk], [h, v], [m]


def prune_plan(imp, dims, target_params, log=print):
    """Greedy global structured pruning: repeatedly remove the candidate structure with the smallest
    Taylor importance per removed parameter until the block parameters fit `target_params`.
    Returns, per block, the kept (heads, qk channels, v channels, mlp neurons) index lists."""
    state = []
    for b in range(len(dims)):
        qk_imp, v_imp, mlp_imp = block_channel_importance(imp, b, dims)
        h, qk, v, m = dims[b]
        state.append(dict(qk_imp=qk_imp, v_imp=v_imp, mlp_imp=mlp_imp,
                          heads=list(range(h)), qk=list(range(qk)), v=list(range(v)), mlp=list(range(m))))

    def cur_dims():
        return [(len(s["heads"]), len(s["qk"]), len(s["v"]), len(s["mlp"])) for s in state]

    removed = []
    while blocks_param_count(cur_dims()) > target_params:
        cands = []
        for b, s in enumerate(state):
            H, QK, V = s["heads"], s["qk"], s["v"]
            h, qk, v, m = len(H), len(QK), len(V), len(s["mlp"])
            before = block_param_count(h, qk, v, m)
            if h > 1:
                hi = [(s["qk_imp"][j, QK].sum() + s["v_imp"][j, V].sum(), j) for j in H]
                val, j = min(hi)
                cost = before - block_param_count(h - 1, qk, v, m)
                cands.append((val / cost, b, "head", [j], val, cost))
            if qk > QK_GROUP:
                ci = sorted((s["qk_imp"][H, c].sum(), c) for c in QK)[:QK_GROUP]
                val = sum(x for x, _ in ci)
                cost = before - block_param_count(h, qk - QK_GROUP, v, m)
                cands.append((val / cost, b, "qk", [c for _, c in ci], val, cost))
            if v > V_GROUP:
                ci = sorted((s["v_imp"][H, c].sum(), c) for c in V)[:V_GROUP]
                val = sum(x for x, _ in ci)
                cost = before - block_param_count(h, qk, v - V_GROUP, m)
                cands.append((val / cost, b, "v", [c for _, c in ci], val, cost))
            if m > MLP_GROUP:
                ci = sorted((s["mlp_imp"][c], c) for c in s["mlp"])[:MLP_GROUP]
                val = sum(x for x, _ in ci)
                cost = before - block_param_count(h, qk, v, m - MLP_GROUP)
                cands.append((val / cost, b, "mlp", [c for _, c in ci], val, cost))
        cands.sort(key=lambda c: (c[0], c[1], c[2]))
        score, b, kind, which, val, cost = cands[0]
        key = {"head": "heads", "qk": "qk", "v": "v", "mlp": "mlp"}[kind]
        state[b][key] = [x for x in state[b][key] if x not in which]
        removed.append(f"b{b}:{kind}{'' if kind != 'head' else which}(-{cost})")
    log("    removed: " + " ".join(removed))
    return [(sorted(s["heads"]), sorted(s["qk"]), sorted(s["v"]), sorted(s["mlp"])) for s in state], cur_dims()


def apply_plan(params, dims, plan):
    p = dict(params)
    for b, ((heads, qkc, vc, mlpc), (h, qk, v, m)) in enumerate(zip(plan, dims)):
        k = f"blocks.{b}."
        rows = ([j * qk + c for j in heads for c in qkc]
                + [h * qk + j * qk + c for j in heads for c in qkc]
                + [2 * h * qk + j * v + c for j in heads for c in vc])
        cols = [j * v + c for j in heads for c in vc]
        p[k + "attn.qkv.weight"] = params[k + "attn.qkv.weight"][rows]
        p[k + "attn.qkv.bias"] = params[k + "attn.qkv.bias"][rows]
        p[k + "attn.proj.weight"] = params[k + "attn.proj.weight"][:, cols]
        p[k + "mlp.fc1.weight"] = params[k + "mlp.fc1.weight"][mlpc]
        p[k + "mlp.fc1.bias"] = params[k + "mlp.fc1.bias"][mlpc]
        p[k + "mlp.fc2.weight"] = params[k + "mlp.fc2.weight"][:, mlpc]
    return {k: np.ascontiguousarray(v, np.float32) for k, v in p.items()}


# ----------------------------------------------------------------------------- export
def metadata(dims):
    dim = {"EMB": E, "head": [d[0] for d in dims], "QK": [d[1] for d in dims],
           "V": [d[2] for d in dims], "MLP": [d[3] for d in dims]}
    vit = {"format_version": 1, "img_size": IMG, "patch_size": PATCH, "in_chans": C, "num_classes": NCLS,
           "distilled": DISTILLED, "attn_scale": ATTN_SCALE, "ln_eps": LN_EPS,
           "input": {"pixel_max": PIXEL_MAX, "pixel_scale": PIXEL_SCALE, "mean": MEAN, "std": STD},
           "selectors": [{"block": b, "heads": SEL_HEADS} for b in SEL_BLOCKS]}
    return {"dim": json.dumps(dim), "vitaccel": json.dumps(vit)}


def expected_shapes(dims, meta_vit):
    sh = {"patch_embed.proj.weight": (E, C, PATCH, PATCH), "patch_embed.proj.bias": (E,),
          "cls_token": (1, 1, E), "pos_embed": (1, N0, E), "norm.weight": (E,), "norm.bias": (E,),
          "head.weight": (NCLS, E), "head.bias": (NCLS,)}
    if DISTILLED:
        sh.update({"dist_token": (1, 1, E), "head_dist.weight": (NCLS, E), "head_dist.bias": (NCLS,)})
    for b, (h, qk, v, m) in enumerate(dims):
        k = f"blocks.{b}."
        sh.update({k + "norm1.weight": (E,), k + "norm1.bias": (E,),
                   k + "attn.qkv.weight": (h * (2 * qk + v), E), k + "attn.qkv.bias": (h * (2 * qk + v),),
                   k + "attn.token_mask": (N0 + 1,), k + "attn.proj.weight": (E, h * v),
                   k + "attn.proj.bias": (E,), k + "norm2.weight": (E,), k + "norm2.bias": (E,),
                   k + "mlp.fc1.weight": (m, E), k + "mlp.fc1.bias": (m,),
                   k + "mlp.fc2.weight": (E, m), k + "mlp.fc2.bias": (E,)})
    for s, sel in enumerate(meta_vit["selectors"]):
        hs = sel["heads"]
        d, d1, d2, hh = E // hs, E // hs // 2, E // hs // 4, max(hs // 2, 1)
        k = f"selectors.{s}."
        sh.update({k + "norm.weight": (d,), k + "norm.bias": (d,), k + "in_proj.weight": (d, d),
                   k + "in_proj.bias": (d,), k + "out1.weight": (d1, d), k + "out1.bias": (d1,),
                   k + "out2.weight": (d2, d1), k + "out2.bias": (d2,), k + "out3.weight": (2, d2),
                   k + "out3.bias": (2,), k + "head_fc1.weight": (hh, hs), k + "head_fc1.bias": (hh,),
                   k + "head_fc2.weight": (hs, hh), k + "head_fc2.bias": (hs,)})
    return sh


# ----------------------------------------------------------------------------- numpy reference
# Independent of the JAX code above: float64, one image at a time, variable-length token lists,
# everything (dims, selector placement, input scaling) read back from the exported file.
_erf = np.frompyfunc(math.erf, 1, 1)


def np_gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def np_ln(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class NumpyRef:
    """docs/MODEL.md forward pass. `NumpyRef(path)` reads a safetensors file; `NumpyRef(None, tensors,
    metadata)` takes the tensors directly (used by tools/test_convert.py)."""

    def __init__(self, path, tensors=None, meta=None):
        if path is not None:
            from safetensors import safe_open
            with safe_open(path, framework="numpy") as f:
                meta = f.metadata()
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        self.meta = meta
        self.w = {k: np.asarray(v, np.float64) for k, v in tensors.items()}
        self.dim = json.loads(self.meta["dim"])
        self.cfg = json.loads(self.meta["vitaccel"])
        c = self.cfg
        self.E = self.dim["EMB"]
        self.p = c["patch_size"]
        self.g = c["img_size"] // self.p
        self.distilled = c["distilled"]
        self.N0 = 1 + int(self.distilled) + self.g * self.g
        self.nb = len(self.dim["head"])
        self.sel = {s["block"]: (i, s["heads"]) for i, s in enumerate(c["selectors"])}

    def forward(self, img, use_selectors=True):
        W, c, E = self.w, self.cfg, self.E
        inp = c["input"]
        x = img.astype(np.float64) * inp["pixel_scale"]
        x = (x - np.array(inp["mean"])[:, None, None]) / np.array(inp["std"])[:, None, None]
        p, g = self.p, self.g
        Wpe = W["patch_embed.proj.weight"].reshape(E, -1)
        toks = [W["cls_token"][0, 0]]
        if self.distilled:
            toks.append(W["dist_token"][0, 0])
        for gy in range(g):
            for gx in range(g):
                patch = x[:, gy * p:(gy + 1) * p, gx * p:(gx + 1) * p].reshape(-1)   # (c, py, px)
                toks.append(Wpe @ patch + W["patch_embed.proj.bias"])
        X = np.stack(toks) + W["pos_embed"][0]
        idx = list(range(self.N0))
        kept, scores = [], []
        for b in range(self.nb):
            if use_selectors and b in self.sel:
                s, hs = self.sel[b]
                X, idx, pt = self.select(s, hs, X, idx)
                kept.append(list(idx))
                scores.append(pt)
            X = self.block(b, X, idx)
        Y = np_ln(X, W["norm.weight"], W["norm.bias"], c["ln_eps"])
        logits = W["head.weight"] @ Y[0] + W["head.bias"]
        if self.distilled:
            logits = (logits + W["head_dist.weight"] @ Y[1] + W["head_dist.bias"]) / 2
        return logits, kept, scores

    def block(self, b, X, idx):
        W, c = self.w, self.cfg
        h, qk, v = self.dim["head"][b], self.dim["QK"][b], self.dim["V"][b]
        k = f"blocks.{b}."
        n = X.shape[0]
        A = np_ln(X, W[k + "norm1.weight"], W[k + "norm1.bias"], c["ln_eps"])
        qkv = A @ W[k + "attn.qkv.weight"].T + W[k + "attn.qkv.bias"]
        tm = W.get(k + "attn.token_mask", np.ones(self.N0 + 1))[idx][:, None]
        qkv = qkv * tm
        outs = []
        for j in range(h):
            Q = qkv[:, j * qk:(j + 1) * qk]
            K = qkv[:, h * qk + j * qk: h * qk + (j + 1) * qk]
            V = qkv[:, 2 * h * qk + j * v: 2 * h * qk + (j + 1) * v]
            S = c["attn_scale"] * (Q @ K.T)
            S = np.exp(S - S.max(1, keepdims=True))
            outs.append((S / S.sum(1, keepdims=True)) @ V)
        O = np.concatenate(outs, 1)
        X = X + O @ W[k + "attn.proj.weight"].T + W[k + "attn.proj.bias"]
        H = np_ln(X, W[k + "norm2.weight"], W[k + "norm2.bias"], c["ln_eps"])
        H = np_gelu(H @ W[k + "mlp.fc1.weight"].T + W[k + "mlp.fc1.bias"])
        X = X + H @ W[k + "mlp.fc2.weight"].T + W[k + "mlp.fc2.bias"]
        assert X.shape == (n, self.E)
        return X

    def select(self, s, hs, X, idx):
        W, c = self.w, self.cfg
        k = f"selectors.{s}."
        n = X.shape[0]
        d = self.E // hs
        pj = np.zeros((n, hs))
        sj = np.zeros(hs)
        for j in range(hs):
            x = X[:, j * d:(j + 1) * d]
            z = np_gelu(np_ln(x, W[k + "norm.weight"], W[k + "norm.bias"], c["ln_eps"]) @ W[k + "in_proj.weight"].T
                        + W[k + "in_proj.bias"])
            gl = z[:, d // 2:].mean(0)
            u = np.concatenate([z[:, : d // 2], np.tile(gl, (n, 1))], 1)
            y1 = np_gelu(u @ W[k + "out1.weight"].T + W[k + "out1.bias"])
            y2 = np_gelu(y1 @ W[k + "out2.weight"].T + W[k + "out2.bias"])
            l = y2 @ W[k + "out3.weight"].T + W[k + "out3.bias"]
            pj[:, j] = np_sigmoid(l[:, 0] - l[:, 1])
            sj[j] = gl.mean()
        w = np_sigmoid(W[k + "head_fc2.weight"] @ np_gelu(W[k + "head_fc1.weight"] @ sj + W[k + "head_fc1.bias"])
                       + W[k + "head_fc2.bias"])
        pt = pj @ w / w.sum() if w.sum() != 0 else np.ones(n)
        nforced = 1 + int(self.distilled)
        keep = [t for t in range(n) if idx[t] < nforced or pt[t] >= 0.5]
        drop = [t for t in range(n) if t not in keep]
        Xn = X[keep]
        idn = [idx[t] for t in keep]
        if drop:
            wt = pt[drop] + PKG_EPS
            pkg = (wt[:, None] * X[drop]).sum(0) / wt.sum()
            Xn = np.concatenate([Xn, pkg[None]], 0)
            idn.append(self.N0)
        return Xn, idn, pt


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "fixtures", "digits"))
    ap.add_argument("--quick", action="store_true", help="few epochs, smoke test only")
    args = ap.parse_args()
    t_start = time.time()
    os.makedirs(args.out, exist_ok=True)
    logs = []

    def log(msg):
        print(msg, flush=True)
        logs.append(msg)

    jax = jax_setup()
    q = args.quick
    EP_WIDE, EP_FT, EP_SEL, IMP_EP = (6, 4, 6, 1) if q else (150, 60, 80, 3)

    xtr, ytr, xte, yte = load_data()
    xcal, ycal = xtr[:128], ytr[:128]
    log(f"data: train {len(xtr)}, test {len(xte)}, calib {len(xcal)}; jax {jax.__version__}, "
        f"devices {jax.devices()}")
    rng = np.random.Generator(np.random.PCG64(SEED))
    jrng = jax.random.PRNGKey(SEED)

    # ---------------- 1. wide model
    t0 = time.time()
    wide_np = init_backbone(rng, WIDE_DIMS)
    wide_tr = Trainer(WIDE_DIMS, False)
    wide, imp = train_phase("wide", wide_tr, to_jnp(wide_np), xtr, ytr, xte, yte, EP_WIDE, 5e-4, 0.05,
                            rng, jax.random.fold_in(jrng, 1), importance_epochs=IMP_EP, log=log)
    wide_acc, wide_cnt, _ = accuracy(wide_tr, wide, xte, yte)
    wide_np = to_np(wide)
    t_wide = time.time() - t0
    log(f"wide: {WIDE_DIMS} blocks {blocks_param_count(WIDE_DIMS)} params, total {total_param_count(wide_np)}; "
        f"test {wide_acc * 100:.2f}% ({wide_cnt}/{len(yte)}); {t_wide:.0f}s")

    # ---------------- 2. structured pruning (one-shot, global), then distillation fine-tune
    t0 = time.time()
    base_blocks = blocks_param_count(WIDE_DIMS)
    plan, pruned_dims = prune_plan(imp, WIDE_DIMS, int(PRUNE_TARGET * base_blocks), log=log)
    cur = apply_plan(wide_np, WIDE_DIMS, plan)
    for b, (heads, qkc, vc, mlpc) in enumerate(plan):
        log(f"    block {b}: kept heads {heads}, qk channels {qkc}, v channels {vc}, {len(mlpc)} MLP neurons")
    tr = Trainer(pruned_dims, False, teacher_dims=WIDE_DIMS)
    acc0, cnt0, _ = accuracy(tr, to_jnp(cur), xte, yte)
    log(f"pruned: dims {pruned_dims} blocks {blocks_param_count(pruned_dims)} "
        f"({blocks_param_count(pruned_dims) / base_blocks * 100:.1f}%), test before fine-tune "
        f"{acc0 * 100:.2f}% ({cnt0}/{len(yte)})")
    pj, _ = train_phase("finetune", tr, to_jnp(cur), xtr, ytr, xte, yte, EP_FT, 5e-4, 0.05, rng,
                        jax.random.fold_in(jrng, 10), teacher_p=wide, log=log)
    pruned_np = to_np(pj)
    pruned_tr = Trainer(pruned_dims, False)
    pruned_acc, pruned_cnt, _ = accuracy(pruned_tr, to_jnp(pruned_np), xte, yte)
    t_prune = time.time() - t0
    log(f"pruned: dims {pruned_dims} blocks {blocks_param_count(pruned_dims)} params, total "
        f"{total_param_count(pruned_np)}; test {pruned_acc * 100:.2f}% ({pruned_cnt}/{len(yte)}); {t_prune:.0f}s")

    # ---------------- 3. token selectors
    t0 = time.time()
    sel_np = dict(pruned_np)
    sel_np.update(init_selectors(rng, len(SEL_BLOCKS)))
    sel_tr = Trainer(pruned_dims, True, teacher_dims=WIDE_DIMS, sel_weight=4.0)

    def noise_sched(ep, total):  # Gumbel noise scale: 1 -> 0 over the first 75 %, then deterministic
        return max(0.0, 1.0 - ep / (0.75 * total))

    def lr_mult(k):
        return 1.0 if k.startswith("selectors.") else 0.3

    sp, _ = train_phase("select", sel_tr, to_jnp(sel_np), xtr, ytr, xte, yte, EP_SEL, 1e-3, 0.05, rng,
                        jax.random.fold_in(jrng, 20), teacher_p=wide, noise_sched=noise_sched, log=log,
                        lr_mult=lr_mult)
    final_np = to_np(sp)
    t_sel = time.time() - t0
    log(f"selectors trained in {t_sel:.0f}s")

    # ---------------- 4. export
    meta = metadata(pruned_dims)
    shapes = expected_shapes(pruned_dims, json.loads(meta["vitaccel"]))
    assert set(shapes) == set(final_np), set(shapes) ^ set(final_np)
    for k, sh in shapes.items():
        assert final_np[k].shape == sh, (k, final_np[k].shape, sh)
    # deterministic writer (sorted keys and metadata) so reruns are byte-identical
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from convert_pytorch import save_safetensors
    mpath = os.path.join(args.out, "model.safetensors")
    save_safetensors(mpath, final_np, meta)
    save_safetensors(os.path.join(args.out, "test.safetensors"), {"images": xte, "labels": yte})
    save_safetensors(os.path.join(args.out, "calib.safetensors"), {"images": xcal, "labels": ycal})
    msize = os.path.getsize(mpath)
    assert msize < 1.5e6, msize

    # ---------------- 5. reference: numpy (variable length) on the re-loaded file vs JAX
    t0 = time.time()
    from safetensors.numpy import load_file
    ref = NumpyRef(mpath)
    reloaded = load_file(mpath)
    jtr = Trainer(ref_dims(ref), True)
    jtr_nosel = Trainer(ref_dims(ref), False)
    jlog, jlives, jps = jtr.eval(to_jnp(reloaded), xte)
    jlog = np.asarray(jlog, np.float64)
    jlives = [np.asarray(l) for l in jlives]
    jps = [np.asarray(x) for x in jps]
    jlog_nosel = np.asarray(jtr_nosel.eval(to_jnp({k: v for k, v in reloaded.items()}), xte)[0], np.float64)

    n_sel = len(SEL_BLOCKS)
    np_logits, np_kept, np_logits_nosel = [], [], []
    min_margin = float("inf")
    for i in range(len(xte)):
        lg, kept, scores = ref.forward(xte[i])
        np_logits.append(lg)
        np_kept.append(kept)
        for sc in scores:
            min_margin = min(min_margin, float(np.abs(sc - 0.5).min()))
        np_logits_nosel.append(ref.forward(xte[i], use_selectors=False)[0])
    np_logits = np.array(np_logits)
    np_logits_nosel = np.array(np_logits_nosel)
    np_pred = np_logits.argmax(1)
    np_pred_nosel = np_logits_nosel.argmax(1)
    jax_pred = jlog.argmax(1)
    agree = float((np_pred == jax_pred).mean())
    agree_nosel = float((np_pred_nosel == jlog_nosel.argmax(1)).mean())
    max_diff = float(np.abs(np_logits - jlog).max())
    max_diff_nosel = float(np.abs(np_logits_nosel - jlog_nosel).max())
    # kept-token agreement: JAX fixed-size live mask -> ordered original-index list
    slot_idx = list(range(N0)) + [N0] * n_sel
    kept_agree = 0
    for i in range(len(xte)):
        jk = [[slot_idx[t] for t in range(N0 + n_sel) if jlives[s][i, t] > 0] for s in range(n_sel)]
        kept_agree += int(jk == np_kept[i])
    live_patch = [float(np.mean([sum(1 for t in k[s] if 1 + int(DISTILLED) <= t < N0) for k in np_kept]))
                  for s in range(n_sel)]
    pkg_frac = [float(np.mean([N0 in k[s] for k in np_kept])) for s in range(n_sel)]
    live_total = [float(np.mean([len(k[s]) for k in np_kept])) for s in range(n_sel)]
    # package tokens surviving a later stage (two index-N0 entries in the list)
    pkg_kept_later = [float(np.mean([k[s].count(N0) >= 2 for k in np_kept])) for s in range(1, n_sel)]
    top1 = float((np_pred == yte).mean())
    top1_nosel = float((np_pred_nosel == yte).mean())
    t_ref = time.time() - t0
    log(f"reference: numpy top-1 {top1 * 100:.2f}% ({int((np_pred == yte).sum())}/{len(yte)}), selectors "
        f"disabled {top1_nosel * 100:.2f}% ({int((np_pred_nosel == yte).sum())}/{len(yte)}); live patch tokens "
        f"{live_patch} of {P} (ratios {[round(x / P, 4) for x in live_patch]}), package token present "
        f"{pkg_frac}, earlier package kept {pkg_kept_later}; numpy-vs-jax pred agreement {agree * 100:.2f}% (no selectors {agree_nosel * 100:.2f}%), "
        f"kept-list agreement {kept_agree}/{len(xte)}, max |logit diff| {max_diff:.2e} "
        f"(no selectors {max_diff_nosel:.2e}), min |p-0.5| {min_margin:.2e}; {t_ref:.0f}s")
    assert agree == 1.0 and agree_nosel == 1.0 and kept_agree == len(xte), "numpy/jax disagreement"
    assert max_diff < 1e-3 and max_diff_nosel < 1e-3

    reference = {
        "description": "float reference of docs/MODEL.md on model.safetensors: pure-numpy float64, one image "
                       "at a time, variable-length token lists (tools/train_fixture.py NumpyRef)",
        "model_sha256": sha256(mpath),
        "test_sha256": sha256(os.path.join(args.out, "test.safetensors")),
        "images": [{"index": i, "label": int(yte[i]), "pred": int(np_pred[i]),
                    "logits": [float(v) for v in np_logits[i]],
                    "kept": np_kept[i]} for i in range(32)],
        "summary": {
            "n_test": int(len(yte)),
            "top1_selectors": top1,
            "correct_selectors": int((np_pred == yte).sum()),
            "top1_selectors_disabled": top1_nosel,
            "correct_selectors_disabled": int((np_pred_nosel == yte).sum()),
            "mean_live_patch_tokens_per_stage": live_patch,
            "patch_keep_ratio_per_stage": [x / P for x in live_patch],
            "mean_live_tokens_per_stage_incl_cls_dist_package": live_total,
            "package_token_fraction_per_stage": pkg_frac,
            "earlier_package_token_kept_fraction_per_later_stage": pkg_kept_later,
            "numpy_vs_jax_pred_agreement": agree,
            "numpy_vs_jax_pred_agreement_selectors_disabled": agree_nosel,
            "numpy_vs_jax_kept_agreement": kept_agree / len(xte),
            "numpy_vs_jax_max_abs_logit_diff": max_diff,
            "numpy_vs_jax_max_abs_logit_diff_selectors_disabled": max_diff_nosel,
            "min_abs_keep_score_minus_half": min_margin,
        },
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")

    total_time = time.time() - t_start
    write_training_md(args.out, dict(
        wide_acc=wide_acc, wide_cnt=wide_cnt, wide_params=total_param_count(wide_np),
        wide_blocks=blocks_param_count(WIDE_DIMS), pruned_dims=pruned_dims,
        pruned_params=total_param_count(pruned_np), pruned_blocks=blocks_param_count(pruned_dims),
        pruned_acc=pruned_acc, pruned_cnt=pruned_cnt, pruned_acc0=acc0, pruned_cnt0=cnt0, final_params=total_param_count(final_np),
        ref=reference["summary"], t_wide=t_wide, t_prune=t_prune, t_sel=t_sel, t_ref=t_ref,
        total=total_time, msize=msize, epochs=(EP_WIDE, EP_FT, EP_SEL, IMP_EP), logs=logs,
        quick=q))
    log(f"done in {total_time:.0f}s -> {args.out}")


def ref_dims(ref):
    d = ref.dim
    return [(d["head"][b], d["QK"][b], d["V"][b], d["MLP"][b]) for b in range(len(d["head"]))]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_training_md(out, r):
    s = r["ref"]
    n = s["n_test"]
    dims = r["pruned_dims"]
    ep = r["epochs"]
    lines = [
        "# digits fixture: training record",
        "",
        "Generated by `tools/train_fixture.py` (dev tool, never run by CI). All numbers below are measured",
        "by that run; the test split is 360 images, so one image is 0.28 points.",
        "" if not r["quick"] else "**QUICK SMOKE-TEST RUN: numbers are not representative.**",
        "",
        "## Models",
        "",
        "| stage | dims (heads / QK / V / MLP per block) | block params | total params | test top-1 |",
        "|---|---|---|---|---|",
        f"| wide (labels on both heads, {ep[0]} epochs) | 4 / 16 / 16 / 128 (all blocks) | {r['wide_blocks']} | "
        f"{r['wide_params']} | {r['wide_acc'] * 100:.2f} % ({r['wide_cnt']}/{n}) |",
        f"| pruned (Taylor, one-shot), before fine-tune | same as next row | {r['pruned_blocks']} | "
        f"{r['pruned_params']} | {r['pruned_acc0'] * 100:.2f} % ({r['pruned_cnt0']}/{n}) |",
        f"| pruned + hard-distillation fine-tune ({ep[1]} epochs) | {[d[0] for d in dims]} / {[d[1] for d in dims]} / "
        f"{[d[2] for d in dims]} / {[d[3] for d in dims]} | {r['pruned_blocks']} "
        f"({(r['pruned_blocks'] / r['wide_blocks'] - 1) * 100:+.1f} %) | {r['pruned_params']} "
        f"({(r['pruned_params'] / r['wide_params'] - 1) * 100:+.1f} %) | {r['pruned_acc'] * 100:.2f} % "
        f"({r['pruned_cnt']}/{n}) |",
        f"| + 2 SPViT selectors (before blocks {SEL_BLOCKS}, {ep[2]} epochs), exported | same | {r['pruned_blocks']} | "
        f"{r['final_params']} | {s['top1_selectors'] * 100:.2f} % ({s['correct_selectors']}/{n}) |",
        f"| exported, selectors disabled | same | | | {s['top1_selectors_disabled'] * 100:.2f} % "
        f"({s['correct_selectors_disabled']}/{n}) |",
        "",
        "The last two rows come from the independent numpy reference (float64, variable length) run on",
        f"the exported `model.safetensors` ({r['msize']} bytes).",
        "",
        "## Token selectors",
        "",
        "| stage | before block | mean live patch tokens (of 16) | cumulative patch keep ratio | target | images with a package token | mean live tokens incl. class/dist/package |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, b in enumerate(SEL_BLOCKS):
        lines.append(f"| {i + 1} | {b} | {s['mean_live_patch_tokens_per_stage'][i]:.3f} | "
                     f"{s['patch_keep_ratio_per_stage'][i]:.3f} | {SEL_TARGETS[i]} | "
                     f"{s['package_token_fraction_per_stage'][i] * 100:.1f} % | "
                     f"{s['mean_live_tokens_per_stage_incl_cls_dist_package'][i]:.3f} |")
    lines += [
        "",
        "Patch tokens are the 16 original patch tokens (package tokens not counted). The stage-1 package "
        f"token is kept by stage 2 (appears twice as index {N0}) in "
        f"{s['earlier_package_token_kept_fraction_per_later_stage'][0] * 100:.1f} % of the test images.",
        "",
        "## numpy reference vs JAX (test split, exported weights)",
        "",
        f"* prediction agreement: {s['numpy_vs_jax_pred_agreement'] * 100:.2f} % with selectors, "
        f"{s['numpy_vs_jax_pred_agreement_selectors_disabled'] * 100:.2f} % without",
        f"* kept-token lists identical: {s['numpy_vs_jax_kept_agreement'] * 100:.2f} %",
        f"* max |logit difference| (numpy float64 vs JAX float32): {s['numpy_vs_jax_max_abs_logit_diff']:.2e} "
        f"with selectors, {s['numpy_vs_jax_max_abs_logit_diff_selectors_disabled']:.2e} without",
        f"* smallest |p[t] - 0.5| over all selector decisions: {s['min_abs_keep_score_minus_half']:.2e}",
        "",
        "## Run time",
        "",
        f"Wide training {r['t_wide']:.0f} s, pruning + fine-tunes {r['t_prune']:.0f} s, selector training "
        f"{r['t_sel']:.0f} s, reference {r['t_ref']:.0f} s; total {r['total']:.0f} s "
        f"({r['total'] / 60:.1f} min) on this machine (2 shared CPU cores, JAX CPU).",
        f"Epochs: wide {ep[0]}, pruned fine-tune {ep[1]}, selectors {ep[2]}; Taylor importance accumulated "
        f"over {ep[3]} epochs of training batches (batch 64, 1-pixel shift augmentation) of the wide model.",
        "",
        "## Log",
        "",
        "```",
    ] + r["logs"] + ["```", ""]
    with open(os.path.join(out, "TRAINING.md"), "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
