#!/usr/bin/env python3
"""Tests for tools/convert_pytorch.py (numpy only, no torch):  python3 tools/test_convert.py

Builds fake DeiT- and NViT-style state dicts with numpy, converts them, and checks key names, shapes,
metadata, value placement, and that a PyTorch-semantics forward pass of the original state dict
matches the docs/MODEL.md forward pass (tools/train_fixture.py NumpyRef, selectors off) on the
converted tensors.
"""

import json
import math
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_pytorch as cv  # noqa: E402
from train_fixture import NumpyRef  # noqa: E402  (numpy-only at import time)


def rnd(rng, *shape, s=0.2):
    return (rng.standard_normal(shape) * s).astype(np.float32)


def fake_deit(rng, E=32, heads=4, depth=2, mlp=64, img=8, p=2, C=3, ncls=5, distilled=True,
              fused=True, qkv_names=("q", "k", "v"), pos_rows=None):
    P = (img // p) ** 2
    ntok = 1 + int(distilled)
    sd = {"cls_token": rnd(rng, 1, 1, E), "patch_embed.proj.weight": rnd(rng, E, C, p, p),
          "patch_embed.proj.bias": rnd(rng, E),
          "pos_embed": rnd(rng, 1, pos_rows if pos_rows is not None else ntok + P, E),
          "norm.weight": 1 + rnd(rng, E), "norm.bias": rnd(rng, E), "head.weight": rnd(rng, ncls, E),
          "head.bias": rnd(rng, ncls)}
    if distilled:
        sd.update({"dist_token": rnd(rng, 1, 1, E), "head_dist.weight": rnd(rng, ncls, E),
                   "head_dist.bias": rnd(rng, ncls)})
    for b in range(depth):
        k = f"blocks.{b}."
        sd.update({k + "norm1.weight": 1 + rnd(rng, E), k + "norm1.bias": rnd(rng, E),
                   k + "attn.proj.weight": rnd(rng, E, E), k + "attn.proj.bias": rnd(rng, E),
                   k + "norm2.weight": 1 + rnd(rng, E), k + "norm2.bias": rnd(rng, E),
                   k + "mlp.fc1.weight": rnd(rng, mlp, E), k + "mlp.fc1.bias": rnd(rng, mlp),
                   k + "mlp.fc2.weight": rnd(rng, E, mlp), k + "mlp.fc2.bias": rnd(rng, E)})
        w, bias = rnd(rng, 3 * E, E), rnd(rng, 3 * E)
        if fused:
            sd[k + "attn.qkv.weight"], sd[k + "attn.qkv.bias"] = w, bias
        else:
            for i, n in enumerate(qkv_names):
                sd[k + f"attn.{n}.weight"] = w[i * E:(i + 1) * E]
                sd[k + f"attn.{n}.bias"] = bias[i * E:(i + 1) * E]
    return sd


def fake_nvit(rng, E=32, heads=(3, 2, 1), QK=(8, 16, 8), V=(16, 8, 8), MLP=(48, 32, 16), img=8, p=2, C=3,
              ncls=5):
    P = (img // p) ** 2
    N0 = 2 + P
    sd = {"cls_token": rnd(rng, 1, 1, E), "dist_token": rnd(rng, 1, 1, E),
          "patch_embed.proj.weight": rnd(rng, E, p * p * C, 1, 1), "patch_embed.proj.bias": rnd(rng, E),
          "pos_embed": rnd(rng, 1, N0, E), "norm.weight": 1 + rnd(rng, E), "norm.bias": rnd(rng, E),
          "head.weight": rnd(rng, ncls, E), "head.bias": rnd(rng, ncls), "head_dist.weight": rnd(rng, ncls, E),
          "head_dist.bias": rnd(rng, ncls)}
    for b, (h, qk, v, m) in enumerate(zip(heads, QK, V, MLP)):
        k = f"blocks.{b}."
        sd.update({k + "norm1.weight": 1 + rnd(rng, E), k + "norm1.bias": rnd(rng, E),
                   k + "attn.qkv.Q.weight": rnd(rng, h * qk, E), k + "attn.qkv.Q.bias": rnd(rng, h * qk),
                   k + "attn.qkv.K.weight": rnd(rng, h * qk, E), k + "attn.qkv.K.bias": rnd(rng, h * qk),
                   k + "attn.qkv.V.weight": rnd(rng, h * v, E), k + "attn.qkv.V.bias": rnd(rng, h * v),
                   k + "attn.qkv.token_mask": 1 + rnd(rng, N0, 1),
                   k + "attn.proj.proj.weight": rnd(rng, E, h * v), k + "attn.proj.proj.bias": rnd(rng, E),
                   k + "norm2.weight": 1 + rnd(rng, E), k + "norm2.bias": rnd(rng, E),
                   k + "mlp.fc1.weight": rnd(rng, m, E), k + "mlp.fc1.bias": rnd(rng, m),
                   k + "mlp.fc2.weight": rnd(rng, E, m), k + "mlp.fc2.bias": rnd(rng, E)})
    dim = {"EMB": E, "head": list(heads), "QK": list(QK), "V": list(V), "MLP": list(MLP)}
    return sd, dim


# ---- PyTorch-semantics reference forward of the ORIGINAL state dicts (timm DeiT / NViT small) ----
def _ln(x, g, b, eps=1e-6):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * g + b


def _gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def torch_like_forward(sd, img, heads, QK, V, p, nvit, scale, pixel_scale, mean, std):
    """img: [C, H, W] integer pixels. DeiT: fused qkv reshaped (N, 3, h, hd) like timm; NViT: separate
    Q/K/V linears, token mask, PROJ wrapper and 1x1 conv over rearranged (p1 p2 c) patches."""
    sd = {k: np.asarray(v, np.float64) for k, v in sd.items()}
    C, H, W = img.shape
    x = (img * pixel_scale - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    g = H // p
    if nvit:  # rearrange 'c (h p1) (w p2) -> (p1 p2 c) h w', then 1x1 conv
        r = x.reshape(C, g, p, g, p).transpose(2, 4, 0, 1, 3).reshape(p * p * C, g, g)
        t = np.einsum("ek,khw->hwe", sd["patch_embed.proj.weight"][:, :, 0, 0], r).reshape(g * g, -1)
    else:     # conv with kernel = stride = p
        w = sd["patch_embed.proj.weight"]
        t = np.stack([np.einsum("ecij,cij->e", w, x[:, gy * p:(gy + 1) * p, gx * p:(gx + 1) * p])
                      for gy in range(g) for gx in range(g)])
    t = t + sd["patch_embed.proj.bias"]
    toks = [sd["cls_token"][0]] + ([sd["dist_token"][0]] if "dist_token" in sd else [])
    X = np.concatenate(toks + [t]) + sd["pos_embed"][0]
    N = X.shape[0]
    for b in range(len(heads)):
        k = f"blocks.{b}."
        h = heads[b]
        A = _ln(X, sd[k + "norm1.weight"], sd[k + "norm1.bias"])
        if nvit:
            tm = sd[k + "attn.qkv.token_mask"]
            q = (A @ sd[k + "attn.qkv.Q.weight"].T + sd[k + "attn.qkv.Q.bias"]) * tm
            kk = (A @ sd[k + "attn.qkv.K.weight"].T + sd[k + "attn.qkv.K.bias"]) * tm
            v = (A @ sd[k + "attn.qkv.V.weight"].T + sd[k + "attn.qkv.V.bias"]) * tm
            q, kk = q.reshape(N, h, -1).transpose(1, 0, 2), kk.reshape(N, h, -1).transpose(1, 0, 2)
            v = v.reshape(N, h, -1).transpose(1, 0, 2)
            pw, pb = sd[k + "attn.proj.proj.weight"], sd[k + "attn.proj.proj.bias"]
        else:
            qkv = (A @ sd[k + "attn.qkv.weight"].T + sd[k + "attn.qkv.bias"]).reshape(N, 3, h, -1)
            q, kk, v = (qkv[:, i].transpose(1, 0, 2) for i in range(3))
            pw, pb = sd[k + "attn.proj.weight"], sd[k + "attn.proj.bias"]
        a = np.einsum("hnd,hmd->hnm", q, kk) * scale
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        o = np.einsum("hnm,hmd->nhd", a, v).reshape(N, -1)
        X = X + o @ pw.T + pb
        X = X + _gelu(_ln(X, sd[k + "norm2.weight"], sd[k + "norm2.bias"]) @ sd[k + "mlp.fc1.weight"].T
                      + sd[k + "mlp.fc1.bias"]) @ sd[k + "mlp.fc2.weight"].T + sd[k + "mlp.fc2.bias"]
    Y = _ln(X, sd["norm.weight"], sd["norm.bias"])
    out = Y[0] @ sd["head.weight"].T + sd["head.bias"]
    if "dist_token" in sd:
        out = (out + Y[1] @ sd["head_dist.weight"].T + sd["head_dist.bias"]) / 2
    return out


class TestConvert(unittest.TestCase):
    def setUp(self):
        self.rng = np.random.default_rng(1)

    def test_deit_fused_keys_shapes_metadata(self):
        sd = fake_deit(self.rng)
        t, meta = cv.convert_state_dict(sd, num_heads=4)
        dim, vit = json.loads(meta["dim"]), json.loads(meta["vitaccel"])
        self.assertEqual(dim, {"EMB": 32, "head": [4, 4], "QK": [8, 8], "V": [8, 8], "MLP": [64, 64]})
        self.assertEqual(vit["img_size"], 8)
        self.assertEqual(vit["patch_size"], 2)
        self.assertEqual(vit["in_chans"], 3)
        self.assertEqual(vit["num_classes"], 5)
        self.assertTrue(vit["distilled"])
        self.assertAlmostEqual(vit["attn_scale"], 8 ** -0.5)
        self.assertEqual(vit["ln_eps"], 1e-6)
        self.assertEqual(vit["selectors"], [])
        self.assertEqual(vit["input"]["pixel_max"], 255)
        self.assertEqual(vit["format_version"], 1)
        expected = {"patch_embed.proj.weight": (32, 3, 2, 2), "patch_embed.proj.bias": (32,),
                    "cls_token": (1, 1, 32), "dist_token": (1, 1, 32), "pos_embed": (1, 18, 32),
                    "norm.weight": (32,), "norm.bias": (32,), "head.weight": (5, 32), "head.bias": (5,),
                    "head_dist.weight": (5, 32), "head_dist.bias": (5,)}
        for b in range(2):
            k = f"blocks.{b}."
            expected.update({k + "norm1.weight": (32,), k + "norm1.bias": (32,), k + "attn.qkv.weight": (96, 32),
                             k + "attn.qkv.bias": (96,), k + "attn.proj.weight": (32, 32), k + "attn.proj.bias": (32,),
                             k + "norm2.weight": (32,), k + "norm2.bias": (32,), k + "mlp.fc1.weight": (64, 32),
                             k + "mlp.fc1.bias": (64,), k + "mlp.fc2.weight": (32, 64), k + "mlp.fc2.bias": (32,)})
        self.assertEqual({k: tuple(v.shape) for k, v in t.items()}, expected)   # no token masks
        for k, v in t.items():
            self.assertEqual(v.dtype, np.float32)
            np.testing.assert_array_equal(v, np.asarray(sd[k]).reshape(v.shape))

    def test_deit_separate_qkv_equals_fused(self):
        fused, _ = cv.convert_state_dict(fake_deit(np.random.default_rng(7)), num_heads=4)
        for names in (("q", "k", "v"), ("q_proj", "k_proj", "v_proj")):
            sep, _ = cv.convert_state_dict(fake_deit(np.random.default_rng(7), fused=False, qkv_names=names),
                                           num_heads=4)
            self.assertEqual(set(sep), set(fused))
            for k in fused:
                np.testing.assert_array_equal(sep[k], fused[k])

    def test_nested_checkpoint_and_module_prefix(self):
        sd = fake_deit(self.rng)
        ck = {"model": {"module." + k: v for k, v in sd.items()}, "epoch": 3}
        sd2, dim = cv.extract_state_dict(ck)
        self.assertIsNone(dim)
        self.assertEqual(set(sd2), set(sd))

    def test_deit_not_distilled_and_pos_embed_variants(self):
        sd = fake_deit(self.rng, distilled=False, ncls=7)
        t, meta = cv.convert_state_dict(sd, num_heads=2)
        vit = json.loads(meta["vitaccel"])
        self.assertFalse(vit["distilled"])
        self.assertNotIn("dist_token", t)
        self.assertNotIn("head_dist.weight", t)
        self.assertEqual(t["pos_embed"].shape, (1, 17, 32))
        self.assertEqual(json.loads(meta["dim"])["QK"], [16, 16])
        # 2-D pos_embed
        sd2 = dict(sd, pos_embed=sd["pos_embed"][0])
        t2, _ = cv.convert_state_dict(sd2, num_heads=2)
        np.testing.assert_array_equal(t2["pos_embed"], t["pos_embed"])
        # patch-only pos_embed (timm no_embed_class): zero rows for the class (+ dist) token
        sd3 = fake_deit(self.rng, pos_rows=16)
        t3, _ = cv.convert_state_dict(sd3, num_heads=4)
        self.assertEqual(t3["pos_embed"].shape, (1, 18, 32))
        np.testing.assert_array_equal(t3["pos_embed"][0, :2], 0)
        np.testing.assert_array_equal(t3["pos_embed"][0, 2:], sd3["pos_embed"][0])

    def test_nvit_heterogeneous(self):
        sd, dim = fake_nvit(self.rng)
        t, meta = cv.convert_state_dict(sd, dim=dim)
        d, vit = json.loads(meta["dim"]), json.loads(meta["vitaccel"])
        self.assertEqual(d, dim)
        self.assertEqual(vit["attn_scale"], 0.125)
        self.assertEqual(vit["in_chans"], 3)
        self.assertEqual(vit["patch_size"], 2)
        self.assertEqual(t["patch_embed.proj.weight"].shape, (32, 3, 2, 2))
        for b, (h, qk, v, m) in enumerate(zip(dim["head"], dim["QK"], dim["V"], dim["MLP"])):
            k = f"blocks.{b}."
            self.assertEqual(t[k + "attn.qkv.weight"].shape, (h * (2 * qk + v), 32))
            self.assertEqual(t[k + "attn.proj.weight"].shape, (32, h * v))
            self.assertEqual(t[k + "mlp.fc1.weight"].shape, (m, 32))
            tm = t[k + "attn.token_mask"]
            self.assertEqual(tm.shape, (19,))
            np.testing.assert_array_equal(tm[:18], sd[k + "attn.qkv.token_mask"][:, 0])
            self.assertEqual(tm[18], 1.0)
            np.testing.assert_array_equal(t[k + "attn.qkv.weight"][: h * qk], sd[k + "attn.qkv.Q.weight"])
            np.testing.assert_array_equal(t[k + "attn.qkv.weight"][2 * h * qk:], sd[k + "attn.qkv.V.weight"])
            self.assertNotIn(k + "attn.proj.proj.weight", t)

    def test_forward_equivalence(self):
        cases = []
        sd = fake_deit(self.rng)
        cases.append((sd, cv.convert_state_dict(sd, num_heads=4), [4, 4], [8, 8], [8, 8], False, 8 ** -0.5))
        sd, dim = fake_nvit(self.rng)
        cases.append((sd, cv.convert_state_dict(sd, dim=dim), dim["head"], dim["QK"], dim["V"], True, 0.125))
        for sd, (t, meta), heads, QK, V, nvit, scale in cases:
            vit = json.loads(meta["vitaccel"])
            ref = NumpyRef(None, t, meta)
            for _ in range(3):
                img = self.rng.integers(0, 256, (3, 8, 8))
                want = torch_like_forward(sd, img, heads, QK, V, 2, nvit, scale, 1 / 255, vit["input"]["mean"],
                                          vit["input"]["std"])
                got, kept, _ = ref.forward(img)
                self.assertEqual(kept, [])
                np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)

    def test_safetensors_roundtrip(self):
        sd, dim = fake_nvit(self.rng)
        t, meta = cv.convert_state_dict(sd, dim=dim)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.safetensors")
            cv.save_safetensors(path, t, meta)
            t2, meta2 = cv.load_safetensors(path)
            self.assertEqual(meta2, meta)
            self.assertEqual(set(t2), set(t))
            for k in t:
                np.testing.assert_array_equal(t2[k], t[k])
            try:  # cross-check with the reference implementation when it is installed
                from safetensors.numpy import load_file
            except ImportError:
                return
            t3 = load_file(path)
            for k in t:
                np.testing.assert_array_equal(t3[k], t[k])

    def test_errors(self):
        sd = fake_deit(self.rng)
        with self.assertRaises(cv.ConvertError):
            cv.convert_state_dict(sd)                     # DeiT needs num_heads
        with self.assertRaises(cv.ConvertError):
            cv.convert_state_dict(dict(sd, extra=np.zeros(3, np.float32)), num_heads=4)
        t, _ = cv.convert_state_dict(dict(sd, extra=np.zeros(3, np.float32)), num_heads=4, ignore_unused=True)
        self.assertNotIn("extra", t)
        sdn, dim = fake_nvit(self.rng)
        with self.assertRaises(cv.ConvertError):
            cv.convert_state_dict(sdn, dim=dict(dim, QK=[8, 8, 8]))   # shape mismatch vs dim


if __name__ == "__main__":
    unittest.main(verbosity=2)
