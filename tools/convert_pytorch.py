#!/usr/bin/env python3
"""Convert an NViT or DeiT PyTorch checkpoint to the docs/MODEL.md safetensors format.

Dev tool, not a runtime dependency, never run by CI (tools/test_convert.py tests the mapping
without torch).

    python tools/convert_pytorch.py nvit_checkpoint.pth out.safetensors
    python tools/convert_pytorch.py deit_tiny_distilled_patch16_224.pth out.safetensors --num-heads 3

Supported inputs (the state dict may be the file itself or nested under "model" / "state_dict";
a "module." prefix is stripped):

* NViT pruned checkpoints (NVlabs/NViT `DistilledVisionTransformer_small`): the checkpoint carries
  `dim = {EMB, head[], QK[], V[], MLP[]}` (QK/V per head). Keys `blocks.{b}.attn.qkv.{Q,K,V}.{weight,bias}`
  (head-major rows), `blocks.{b}.attn.qkv.token_mask` `[N0, 1]`, `blocks.{b}.attn.proj.proj.*`, and a
  1x1-conv patch embedding over `rearrange('b c (h p1) (w p2) -> b (p1 p2 c) h w')` patches, i.e.
  weight `[E, p*p*C, 1, 1]` in (p1, p2, c) order, which is reordered to MODEL.md's `[E, C, p, p]`.
  The dense NViT layout (MHLinear weights `[q, e, h]`, `head_mask`) is also accepted; the head mask
  is folded into the Q/K/V rows. Attention scale: NViT keeps DeiT's fixed 1/8.
* DeiT / timm checkpoints: uniform dims derived from the shapes and `--num-heads`; fused
  `attn.qkv` (rows [q | k | v], head-major) or separate `attn.{q,k,v}` / `attn.{q,k,v}_proj` linears;
  optional `dist_token` / `head_dist` (distilled); attention scale `head_dim ** -0.5`.

Token masks: NViT's per-block mask has N0 entries; MODEL.md stores N0 + 1 (entry N0 multiplies
package tokens), so 1.0 is appended (a package token is treated like an unmasked token). Checkpoints
without a token mask (DeiT) omit the key (the format's default is all ones).

pos_embed: `[1, N0, E]` is copied; `[N0, E]` is reshaped; a pos_embed covering only the P patch
tokens (timm `no_embed_class`) gets zero rows for the class/distillation tokens.

The output carries no SPViT selectors (`"selectors": []`) unless the state dict already holds
`selectors.{s}.*` tensors in MODEL.md naming and `--selector-blocks` says where they go.

The mapping `convert_state_dict(sd, **options) -> (tensors, metadata)` is a pure function of a dict
of numpy arrays; torch is imported only in `load_checkpoint` to read the .pth file.
"""

import argparse
import json
import math
import struct
import sys

import numpy as np

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class ConvertError(ValueError):
    pass


# ----------------------------------------------------------------------------- checkpoint handling
def extract_state_dict(ckpt):
    """Return (state_dict, dim_or_None) from a loaded checkpoint object (dicts of numpy arrays)."""
    dim = None
    sd = ckpt
    if isinstance(ckpt, dict):
        dim = ckpt.get("dim")
        for k in ("model", "state_dict", "model_state"):
            if k in ckpt and isinstance(ckpt[k], dict):
                sd = ckpt[k]
                break
    out = {}
    for k, v in sd.items():
        if not hasattr(v, "shape"):
            continue
        if k.startswith("module."):
            k = k[len("module."):]
        out[k] = v
    if dim is not None:
        dim = {k: (list(map(int, v)) if isinstance(v, (list, tuple)) else int(v)) for k, v in dim.items()}
    return out, dim


def load_checkpoint(path):
    import torch  # lazy: only needed to read the pickle

    ckpt = torch.load(path, map_location="cpu", weights_only=False)

    def conv(x):
        if isinstance(x, torch.Tensor):
            return x.detach().to(torch.float32).numpy()
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        return x

    return conv(ckpt)


# ----------------------------------------------------------------------------- the mapping
def _f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def _take(sd, used, key):
    used.add(key)
    return np.asarray(sd[key])


def _first(sd, keys):
    for k in keys:
        if k in sd:
            return k
    return None


def convert_state_dict(sd, dim=None, num_heads=None, img_size=None, patch_size=None, in_chans=None,
                       pixel_max=255, mean=None, std=None, attn_scale=None, ln_eps=1e-6,
                       selector_blocks=None, ignore_unused=False):
    """Map a DeiT/NViT state dict (numpy arrays) to MODEL.md tensors + safetensors metadata.

    dim: NViT's {EMB, head, QK, V, MLP}; None for DeiT (then `num_heads` is required).
    Returns (tensors: dict[str, float32 ndarray], metadata: dict[str, str]).
    """
    sd = dict(sd)
    used = set()
    t = {}

    # ---- blocks present
    blocks = sorted({int(k.split(".")[1]) for k in sd if k.startswith("blocks.")})
    if blocks != list(range(len(blocks))) or not blocks:
        raise ConvertError(f"blocks must be numbered 0..n-1, found {blocks}")
    nb = len(blocks)

    # ---- global embedding, classes, distillation
    cls = _take(sd, used, "cls_token")
    E = int(cls.shape[-1])
    distilled = "dist_token" in sd
    head_w = _take(sd, used, "head.weight")
    num_classes = int(head_w.shape[0])

    # ---- patch embedding
    pw = _take(sd, used, "patch_embed.proj.weight")
    pb = _take(sd, used, "patch_embed.proj.bias")
    nvit_1x1 = pw.ndim == 4 and pw.shape[2:] == (1, 1) and (
        dim is not None or (patch_size or 1) > 1 or (in_chans is not None and pw.shape[1] != in_chans))
    if nvit_1x1:
        # NViT: 1x1 conv over rearranged patches, input channel order (p1, p2, c)
        C = in_chans if in_chans is not None else 3
        K = pw.shape[1]
        if K % C:
            raise ConvertError(f"1x1 patch embedding with {K} inputs is not divisible by in_chans={C}")
        p = patch_size if patch_size is not None else int(round(math.sqrt(K // C)))
        if p * p * C != K:
            raise ConvertError(f"1x1 patch embedding with {K} inputs does not match patch {p} x in_chans {C}")
        pw = pw.reshape(E, p, p, C).transpose(0, 3, 1, 2)
    elif pw.ndim == 4:
        C, p = int(pw.shape[1]), int(pw.shape[2])
        if pw.shape[2] != pw.shape[3]:
            raise ConvertError(f"non-square patch embedding {pw.shape}")
        if in_chans is not None and in_chans != C:
            raise ConvertError(f"--in-chans {in_chans} but patch embedding has {C} channels")
        if patch_size is not None and patch_size != p:
            raise ConvertError(f"--patch-size {patch_size} but patch embedding is {p}x{p}")
    elif pw.ndim == 2:
        # a Linear patch embedding over (c, py, px)-flattened patches
        C = in_chans if in_chans is not None else 3
        p = patch_size if patch_size is not None else int(round(math.sqrt(pw.shape[1] // C)))
        if p * p * C != pw.shape[1]:
            raise ConvertError(f"linear patch embedding {pw.shape} does not match patch {p} x in_chans {C}")
        pw = pw.reshape(E, C, p, p)
    else:
        raise ConvertError(f"unsupported patch embedding shape {pw.shape}")
    t["patch_embed.proj.weight"] = pw
    t["patch_embed.proj.bias"] = pb

    # ---- tokens and position embedding
    t["cls_token"] = cls.reshape(1, 1, E)
    if distilled:
        t["dist_token"] = _take(sd, used, "dist_token").reshape(1, 1, E)
    pos = _take(sd, used, "pos_embed")
    pos = pos.reshape(-1, E)
    ntok = 1 + int(distilled)
    if img_size is not None:
        P = (img_size // p) ** 2
        if pos.shape[0] == P:
            pos = np.concatenate([np.zeros((ntok, E), pos.dtype), pos], 0)
        elif pos.shape[0] != ntok + P:
            raise ConvertError(f"pos_embed has {pos.shape[0]} rows, expected {ntok + P} (or {P})")
    else:
        n = pos.shape[0]
        if math.isqrt(n - ntok) ** 2 == n - ntok and n > ntok:
            P = n - ntok
        elif math.isqrt(n) ** 2 == n:
            P = n
            pos = np.concatenate([np.zeros((ntok, E), pos.dtype), pos], 0)
        else:
            raise ConvertError(f"cannot derive the patch grid from pos_embed with {n} rows; pass --img-size")
        img_size = math.isqrt(P) * p
    N0 = ntok + P
    t["pos_embed"] = pos.reshape(1, N0, E)

    # ---- blocks
    if dim is None:
        if num_heads is None:
            raise ConvertError("DeiT checkpoints need num_heads (--num-heads); NViT ones carry `dim`")
        if E % num_heads:
            raise ConvertError(f"E={E} is not divisible by num_heads={num_heads}")
        hd = E // num_heads
        heads = [num_heads] * nb
        QK = [hd] * nb
        V = [hd] * nb
        MLP = [int(sd[f"blocks.{b}.mlp.fc1.weight"].shape[0]) for b in range(nb)]
        if attn_scale is None:
            attn_scale = hd ** -0.5
    else:
        if int(dim["EMB"]) != E:
            raise ConvertError(f"dim.EMB={dim['EMB']} but cls_token has width {E}")
        heads, QK, V, MLP = (list(map(int, dim[k])) for k in ("head", "QK", "V", "MLP"))
        if not (len(heads) == len(QK) == len(V) == len(MLP) == nb):
            raise ConvertError(f"dim lists must have {nb} entries: {dim}")
        if attn_scale is None:
            attn_scale = 0.125  # NViT keeps DeiT's 64 ** -0.5 after pruning
    for b in range(nb):
        k = f"blocks.{b}."
        h, qk, v = heads[b], QK[b], V[b]
        for n in ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
                  "mlp.fc2.weight", "mlp.fc2.bias", "attn.proj.bias"):
            src = k + n
            if n == "attn.proj.bias" and src not in sd:
                src = k + "attn.proj.proj.bias"
            t[k + n] = _take(sd, used, src)
        # q, k, v
        wq = bq = None
        if k + "attn.qkv.weight" in sd:
            wqkv = _take(sd, used, k + "attn.qkv.weight")
            bqkv = _take(sd, used, k + "attn.qkv.bias") if k + "attn.qkv.bias" in sd else np.zeros(wqkv.shape[0])
            if wqkv.shape[0] != h * (2 * qk + v):
                raise ConvertError(f"{k}attn.qkv.weight has {wqkv.shape[0]} rows, expected h*(2qk+v)={h * (2 * qk + v)}")
        else:
            parts_w, parts_b = [], []
            for name, width in (("q", qk), ("k", qk), ("v", v)):
                base = _first(sd, [k + f"attn.qkv.{name.upper()}.weight", k + f"attn.{name}.weight",
                                   k + f"attn.{name}_proj.weight"])
                if base is None:
                    raise ConvertError(f"no q/k/v weights found for block {b}")
                base = base[: -len(".weight")]
                w = _take(sd, used, base + ".weight")
                bias = _take(sd, used, base + ".bias") if base + ".bias" in sd else np.zeros(w.shape[0])
                if w.ndim == 3:  # NViT dense MHLinear: weight [q, e, h], bias [q, h] -> head-major rows
                    w = w.transpose(2, 0, 1).reshape(-1, w.shape[1])
                    bias = bias.T.reshape(-1)
                hm_key = k + "attn.qkv.head_mask.weight"
                if hm_key in sd:
                    hm = _take(sd, used, hm_key).reshape(-1)
                    scale = np.repeat(hm, w.shape[0] // hm.shape[0])
                    w = w * scale[:, None]
                    bias = bias * scale
                if w.shape[0] != h * width:
                    raise ConvertError(f"{base}.weight has {w.shape[0]} rows, expected {h}*{width}")
                parts_w.append(w)
                parts_b.append(bias)
            wqkv = np.concatenate(parts_w, 0)
            bqkv = np.concatenate(parts_b, 0)
        t[k + "attn.qkv.weight"] = wqkv
        t[k + "attn.qkv.bias"] = bqkv
        # token mask (NViT); omitted when absent
        tm_key = _first(sd, [k + "attn.qkv.token_mask", k + "attn.token_mask"])
        if tm_key is not None:
            tm = _take(sd, used, tm_key).reshape(-1)
            if tm.shape[0] == N0:
                tm = np.concatenate([tm, np.ones(1, tm.dtype)])
            if tm.shape[0] != N0 + 1:
                raise ConvertError(f"{tm_key} has {tm.shape[0]} entries, expected {N0} or {N0 + 1}")
            t[k + "attn.token_mask"] = tm
        # projection
        pk = _first(sd, [k + "attn.proj.weight", k + "attn.proj.proj.weight"])
        pwt = _take(sd, used, pk)
        if pwt.ndim == 3:  # NViT dense MHTLinear: [e, v, h] -> [e, (h v)]
            pwt = pwt.transpose(0, 2, 1).reshape(pwt.shape[0], -1)
        t[k + "attn.proj.weight"] = pwt

    # ---- final norm and heads
    for n in ("norm.weight", "norm.bias", "head.bias"):
        t[n] = _take(sd, used, n)
    t["head.weight"] = head_w
    if distilled:
        t["head_dist.weight"] = _take(sd, used, "head_dist.weight")
        t["head_dist.bias"] = _take(sd, used, "head_dist.bias")

    # ---- optional selectors already in MODEL.md naming
    sel_keys = sorted(k for k in sd if k.startswith("selectors."))
    sel_meta = []
    if sel_keys:
        n_sel = len({int(k.split(".")[1]) for k in sel_keys})
        if not selector_blocks or len(selector_blocks) != n_sel:
            raise ConvertError(f"state dict has {n_sel} selectors; pass --selector-blocks with {n_sel} entries")
        for s, blk in enumerate(selector_blocks):
            d = int(sd[f"selectors.{s}.norm.weight"].shape[0])
            sel_meta.append({"block": int(blk), "heads": E // d})
        for k in sel_keys:
            t[k] = _take(sd, used, k)
    elif selector_blocks:
        raise ConvertError("--selector-blocks given but the state dict has no selectors.* tensors")

    unused = sorted(set(sd) - used)
    if unused and not ignore_unused:
        raise ConvertError(f"unused tensors (pass --ignore-unused to drop them): {unused}")

    if mean is None:
        mean = IMAGENET_MEAN if C == 3 else [0.5] * C
    if std is None:
        std = IMAGENET_STD if C == 3 else [0.5] * C
    if len(mean) != C or len(std) != C:
        raise ConvertError(f"mean/std need {C} entries")
    dim_out = {"EMB": E, "head": heads, "QK": QK, "V": V, "MLP": MLP}
    vit = {"format_version": 1, "img_size": int(img_size), "patch_size": int(p), "in_chans": int(C),
           "num_classes": num_classes, "distilled": distilled, "attn_scale": float(attn_scale),
           "ln_eps": float(ln_eps),
           "input": {"pixel_max": int(pixel_max), "pixel_scale": 1.0 / pixel_max,
                     "mean": [float(x) for x in mean], "std": [float(x) for x in std]},
           "selectors": sel_meta}
    t = {k: _f32(v) for k, v in t.items()}
    check_shapes(t, dim_out, vit)
    return t, {"dim": json.dumps(dim_out), "vitaccel": json.dumps(vit)}


def expected_shapes(dim, vit):
    """Every tensor shape of docs/MODEL.md for the given metadata (token masks listed as optional)."""
    E = dim["EMB"]
    C, p, ncls = vit["in_chans"], vit["patch_size"], vit["num_classes"]
    dist = vit["distilled"]
    N0 = 1 + int(dist) + (vit["img_size"] // p) ** 2
    sh = {"patch_embed.proj.weight": (E, C, p, p), "patch_embed.proj.bias": (E,), "cls_token": (1, 1, E),
          "pos_embed": (1, N0, E), "norm.weight": (E,), "norm.bias": (E,), "head.weight": (ncls, E),
          "head.bias": (ncls,)}
    if dist:
        sh.update({"dist_token": (1, 1, E), "head_dist.weight": (ncls, E), "head_dist.bias": (ncls,)})
    opt = {}
    for b in range(len(dim["head"])):
        h, qk, v, m = dim["head"][b], dim["QK"][b], dim["V"][b], dim["MLP"][b]
        k = f"blocks.{b}."
        sh.update({k + "norm1.weight": (E,), k + "norm1.bias": (E,), k + "attn.qkv.weight": (h * (2 * qk + v), E),
                   k + "attn.qkv.bias": (h * (2 * qk + v),), k + "attn.proj.weight": (E, h * v),
                   k + "attn.proj.bias": (E,), k + "norm2.weight": (E,), k + "norm2.bias": (E,),
                   k + "mlp.fc1.weight": (m, E), k + "mlp.fc1.bias": (m,), k + "mlp.fc2.weight": (E, m),
                   k + "mlp.fc2.bias": (E,)})
        opt[k + "attn.token_mask"] = (N0 + 1,)
    for s, sel in enumerate(vit["selectors"]):
        hs = sel["heads"]
        d = E // hs
        d1, d2, hh = d // 2, d // 4, max(hs // 2, 1)
        k = f"selectors.{s}."
        sh.update({k + "norm.weight": (d,), k + "norm.bias": (d,), k + "in_proj.weight": (d, d),
                   k + "in_proj.bias": (d,), k + "out1.weight": (d1, d), k + "out1.bias": (d1,),
                   k + "out2.weight": (d2, d1), k + "out2.bias": (d2,), k + "out3.weight": (2, d2),
                   k + "out3.bias": (2,), k + "head_fc1.weight": (hh, hs), k + "head_fc1.bias": (hh,),
                   k + "head_fc2.weight": (hs, hh), k + "head_fc2.bias": (hs,)})
    return sh, opt


def check_shapes(t, dim, vit):
    req, opt = expected_shapes(dim, vit)
    missing = sorted(set(req) - set(t))
    extra = sorted(set(t) - set(req) - set(opt))
    if missing or extra:
        raise ConvertError(f"tensor set mismatch: missing {missing}, unexpected {extra}")
    for k, v in t.items():
        want = req.get(k, opt.get(k))
        if tuple(v.shape) != tuple(want):
            raise ConvertError(f"{k}: shape {tuple(v.shape)}, expected {tuple(want)}")


# ----------------------------------------------------------------------------- safetensors I/O (no deps)
_DTYPES = {np.dtype("<f4"): "F32", np.dtype("u1"): "U8"}


def save_safetensors(path, tensors, metadata=None):
    """Minimal deterministic safetensors writer (F32 / U8): tensors sorted by name, metadata keys
    sorted, header padded to 8 bytes. (The `safetensors` package writes `__metadata__` in hash order,
    so its files are not byte-reproducible.)"""
    header = {}
    if metadata:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    off = 0
    arrays = []
    for k in sorted(tensors):
        a = np.ascontiguousarray(tensors[k])
        if a.dtype not in _DTYPES:
            raise ConvertError(f"{k}: unsupported dtype {a.dtype}")
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        header[k] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
        arrays.append(a)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for a in arrays:
            f.write(a.tobytes())


def load_safetensors(path):
    """Minimal safetensors reader -> (tensors, metadata)."""
    dt = {"F32": "<f4", "U8": "u1", "F64": "<f8", "I64": "<i8", "I32": "<i4", "F16": "<f2"}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for k, info in header.items():
        a, b = info["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dt[info["dtype"]]).reshape(info["shape"])
    return out, meta


# ----------------------------------------------------------------------------- CLI
def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert an NViT/DeiT PyTorch checkpoint to MODEL.md safetensors")
    ap.add_argument("input", help=".pth checkpoint (state dict, optionally nested under 'model'; NViT carries 'dim')")
    ap.add_argument("output", help="output .safetensors")
    ap.add_argument("--num-heads", type=int, help="DeiT: heads per block (tiny 3, small 6, base 12)")
    ap.add_argument("--img-size", type=int, help="default: derived from pos_embed")
    ap.add_argument("--patch-size", type=int, help="default: derived from the patch embedding")
    ap.add_argument("--in-chans", type=int, help="default: from the patch embedding (NViT 1x1 conv: 3)")
    ap.add_argument("--pixel-max", type=int, default=255)
    ap.add_argument("--mean", type=float, nargs="+", help="default: ImageNet mean for 3 channels")
    ap.add_argument("--std", type=float, nargs="+", help="default: ImageNet std for 3 channels")
    ap.add_argument("--attn-scale", type=float, help="default: NViT 1/8, DeiT head_dim**-0.5")
    ap.add_argument("--ln-eps", type=float, default=1e-6)
    ap.add_argument("--selector-blocks", type=int, nargs="+", help="blocks of selectors.* tensors, if any")
    ap.add_argument("--ignore-unused", action="store_true", help="drop tensors the format has no place for")
    a = ap.parse_args(argv)
    sd, dim = extract_state_dict(load_checkpoint(a.input))
    tensors, meta = convert_state_dict(sd, dim=dim, num_heads=a.num_heads, img_size=a.img_size,
                                       patch_size=a.patch_size, in_chans=a.in_chans, pixel_max=a.pixel_max,
                                       mean=a.mean, std=a.std, attn_scale=a.attn_scale, ln_eps=a.ln_eps,
                                       selector_blocks=a.selector_blocks, ignore_unused=a.ignore_unused)
    save_safetensors(a.output, tensors, meta)
    n = sum(v.size for v in tensors.values())
    print(f"wrote {a.output}: {len(tensors)} tensors, {n} params\n  dim {meta['dim']}\n  vitaccel {meta['vitaccel']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
