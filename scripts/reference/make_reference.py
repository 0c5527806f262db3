#!/usr/bin/python3
"""Independent PyTorch reference for fedplora's TypeScript engine.

Implements, by hand, the forward pass and causal-LM loss of Hugging Face
transformers' LlamaForCausalLM / Qwen2ForCausalLM / MistralForCausalLM,
plus PEFT-style LoRA adapters, and writes small test fixtures to
test/fixtures/reference/<case>/.

All weights are drawn in float32 (that is what is stored), then the whole
computation runs in float64 on exactly those float32 values; outputs are
stored as float32 in safetensors and as float64 (Python repr) in JSON.

Usage:
    /usr/bin/python3 scripts/reference/make_reference.py           # write fixtures
    /usr/bin/python3 scripts/reference/make_reference.py --check   # + finite-difference check

Needs Debian's python3-torch (no transformers / safetensors / peft needed).
"""

import json
import math
import os
import struct
import sys
from collections import OrderedDict

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "reference")

BATCH = 2
SEQ = 7
IGNORE_INDEX = -100

ATTN_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_TARGETS = ("gate_proj", "up_proj", "down_proj")


# --------------------------------------------------------------------------
# safetensors writer (hand-rolled)
# --------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata=None):
    """tensors: OrderedDict name -> torch tensor; stored as little-endian F32,
    packed contiguously in the given (header) order."""
    header = OrderedDict()
    if metadata is not None:
        header["__metadata__"] = OrderedDict((str(k), str(v)) for k, v in metadata.items())
    blobs = []
    offset = 0
    for name, t in tensors.items():
        arr = t.detach().to(torch.float32).contiguous().cpu()
        data = arr.numpy().astype("<f4").tobytes()
        header[name] = OrderedDict([
            ("dtype", "F32"),
            ("shape", list(arr.shape)),
            ("data_offsets", [offset, offset + len(data)]),
        ])
        blobs.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = (-len(hjson)) % 8
    hjson += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Minimal reader, used only to self-check the writer."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out = OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = bytearray(data[b:e])
        t = torch.frombuffer(buf, dtype=torch.float32).clone() if len(buf) else torch.zeros(0)
        out[name] = t.reshape(info["shape"])
    return out


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


# --------------------------------------------------------------------------
# Case definitions
# --------------------------------------------------------------------------

CASES = [
    dict(
        name="llama_gqa_tied_bias", seed=1001, model_type="llama",
        vocab=61, hidden=32, inter=44, layers=2, heads=4, kv_heads=2, head_dim=None,
        tied=True, attention_bias=True, theta=500000.0, eps=1e-5,
        lora=dict(r=4, alpha=8, targets=["q_proj", "k_proj", "v_proj", "o_proj",
                                         "gate_proj", "up_proj", "down_proj"]),
    ),
    dict(
        name="qwen2_bias", seed=1002, model_type="qwen2",
        vocab=67, hidden=48, inter=40, layers=2, heads=6, kv_heads=2, head_dim=None,
        tied=False, attention_bias=None, theta=1000000.0, eps=1e-6,
        lora=dict(r=3, alpha=6, targets=["q_proj", "v_proj", "up_proj"]),
    ),
    dict(
        name="llama_headdim", seed=1003, model_type="llama",
        vocab=53, hidden=24, inter=36, layers=3, heads=4, kv_heads=4, head_dim=8,
        tied=False, attention_bias=False, theta=10000.0, eps=1e-6,
        lora=dict(r=2, alpha=16, targets=["k_proj", "o_proj", "down_proj"]),
    ),
    dict(
        name="mistral_plain", seed=1004, model_type="mistral",
        vocab=50, hidden=16, inter=24, layers=1, heads=2, kv_heads=1, head_dim=None,
        tied=False, attention_bias=None, theta=10000.0, eps=1e-5,
        lora=None,
    ),
]

ARCH = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM"}


def head_dim_of(c):
    return c["head_dim"] if c["head_dim"] is not None else c["hidden"] // c["heads"]


def bias_flags(c):
    """Which of q,k,v,o projections carry a bias."""
    if c["model_type"] == "qwen2":
        return dict(q_proj=True, k_proj=True, v_proj=True, o_proj=False)
    if c["model_type"] == "llama" and c["attention_bias"]:
        return dict(q_proj=True, k_proj=True, v_proj=True, o_proj=True)
    return dict(q_proj=False, k_proj=False, v_proj=False, o_proj=False)


def make_config(c):
    cfg = OrderedDict()
    cfg["architectures"] = [ARCH[c["model_type"]]]
    cfg["model_type"] = c["model_type"]
    cfg["vocab_size"] = c["vocab"]
    cfg["hidden_size"] = c["hidden"]
    cfg["intermediate_size"] = c["inter"]
    cfg["num_hidden_layers"] = c["layers"]
    cfg["num_attention_heads"] = c["heads"]
    cfg["num_key_value_heads"] = c["kv_heads"]
    if c["head_dim"] is not None:
        cfg["head_dim"] = c["head_dim"]
    cfg["hidden_act"] = "silu"
    cfg["max_position_embeddings"] = 128
    cfg["initializer_range"] = 0.02
    cfg["rms_norm_eps"] = c["eps"]
    cfg["rope_theta"] = c["theta"]
    cfg["rope_scaling"] = None
    cfg["attention_dropout"] = 0.0
    if c["model_type"] == "llama":
        cfg["attention_bias"] = bool(c["attention_bias"])
        cfg["mlp_bias"] = False
        cfg["pretraining_tp"] = 1
    if c["model_type"] == "qwen2":
        cfg["use_sliding_window"] = False
        cfg["sliding_window"] = 128
        cfg["max_window_layers"] = c["layers"]
    if c["model_type"] == "mistral":
        cfg["sliding_window"] = None
    cfg["tie_word_embeddings"] = bool(c["tied"])
    cfg["bos_token_id"] = 1
    cfg["eos_token_id"] = 2
    cfg["use_cache"] = True
    cfg["torch_dtype"] = "float32"
    return cfg


# --------------------------------------------------------------------------
# Parameter generation (float32, deterministic)
# --------------------------------------------------------------------------

def linear_shapes(c):
    H, hd, KV, D, I = c["heads"], head_dim_of(c), c["kv_heads"], c["hidden"], c["inter"]
    return OrderedDict([
        ("q_proj", (H * hd, D)),
        ("k_proj", (KV * hd, D)),
        ("v_proj", (KV * hd, D)),
        ("o_proj", (D, H * hd)),
        ("gate_proj", (I, D)),
        ("up_proj", (I, D)),
        ("down_proj", (D, I)),
    ])


def module_prefix(i, target):
    sub = "self_attn" if target in ATTN_TARGETS else "mlp"
    return "model.layers.%d.%s.%s" % (i, sub, target)


def make_base_params(c, g):
    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float32)

    D, V = c["hidden"], c["vocab"]
    shapes = linear_shapes(c)
    bias = bias_flags(c)
    p = OrderedDict()
    p["model.embed_tokens.weight"] = 0.5 * randn(V, D)
    for i in range(c["layers"]):
        p["model.layers.%d.input_layernorm.weight" % i] = 1.0 + 0.1 * randn(D)
        for t in ATTN_TARGETS:
            pre = module_prefix(i, t)
            p[pre + ".weight"] = 0.1 * randn(*shapes[t])
            if bias[t]:
                p[pre + ".bias"] = 0.1 * randn(shapes[t][0])
        p["model.layers.%d.post_attention_layernorm.weight" % i] = 1.0 + 0.1 * randn(D)
        for t in MLP_TARGETS:
            p[module_prefix(i, t) + ".weight"] = 0.1 * randn(*shapes[t])
    p["model.norm.weight"] = 1.0 + 0.1 * randn(D)
    if not c["tied"]:
        p["lm_head.weight"] = 0.1 * randn(V, D)
    return p


def make_lora_params(c, g):
    """PEFT key names: base_model.model.<module>.lora_A.weight (r, in) and
    .lora_B.weight (out, r).  B is random non-zero (unlike PEFT's zero init)
    so that gradients to A are non-zero."""
    lc = c["lora"]
    r = lc["r"]
    shapes = linear_shapes(c)
    p = OrderedDict()
    for i in range(c["layers"]):
        for t in ATTN_TARGETS + MLP_TARGETS:
            if t not in lc["targets"]:
                continue
            out_f, in_f = shapes[t]
            pre = "base_model.model." + module_prefix(i, t)
            p[pre + ".lora_A.weight"] = 0.1 * torch.randn(r, in_f, generator=g, dtype=torch.float32)
            p[pre + ".lora_B.weight"] = 0.05 * torch.randn(out_f, r, generator=g, dtype=torch.float32)
    return p


def make_inputs(c, g):
    ids = torch.randint(0, c["vocab"], (BATCH, SEQ), generator=g, dtype=torch.int64)
    labels = ids.clone()
    labels[0, 0] = IGNORE_INDEX
    labels[0, 1] = IGNORE_INDEX
    labels[1, 4] = IGNORE_INDEX
    return ids, labels


# --------------------------------------------------------------------------
# Model (float64)
# --------------------------------------------------------------------------

def rms_norm(x, w, eps):
    var = (x * x).mean(dim=-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_cos_sin(T, hd, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    pos = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq)            # (T, hd/2)
    emb = torch.cat((freqs, freqs), dim=-1)       # (T, hd)
    return emb.cos(), emb.sin()


def forward(c, P, L, ids):
    """P: base params (float64), L: lora params (float64) or None.
    Returns logits (B, T, V)."""
    B, T = ids.shape
    D, H, KV = c["hidden"], c["heads"], c["kv_heads"]
    hd = head_dim_of(c)
    n_rep = H // KV
    eps = c["eps"]
    scaling = (c["lora"]["alpha"] / c["lora"]["r"]) if c["lora"] else 0.0

    def linear(x, i, t):
        pre = module_prefix(i, t)
        y = x @ P[pre + ".weight"].t()
        if (pre + ".bias") in P:
            y = y + P[pre + ".bias"]
        if L is not None:
            lk = "base_model.model." + pre
            if (lk + ".lora_A.weight") in L:
                A = L[lk + ".lora_A.weight"]
                Bm = L[lk + ".lora_B.weight"]
                y = y + ((x @ A.t()) @ Bm.t()) * scaling
        return y

    cos, sin = rope_cos_sin(T, hd, c["theta"])
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    neg = torch.tensor(float("-inf"), dtype=torch.float64)

    x = P["model.embed_tokens.weight"][ids]  # (B, T, D)
    for i in range(c["layers"]):
        h = rms_norm(x, P["model.layers.%d.input_layernorm.weight" % i], eps)
        q = linear(h, i, "q_proj").view(B, T, H, hd).transpose(1, 2)   # (B,H,T,hd)
        k = linear(h, i, "k_proj").view(B, T, KV, hd).transpose(1, 2)  # (B,KV,T,hd)
        v = linear(h, i, "v_proj").view(B, T, KV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # GQA: query head j uses kv head j // n_rep
        k = k.repeat_interleave(n_rep, dim=1)
        v = v.repeat_interleave(n_rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        scores = torch.where(causal, scores, neg)
        probs = torch.softmax(scores, dim=-1)
        attn = (probs @ v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + linear(attn, i, "o_proj")
        h = rms_norm(x, P["model.layers.%d.post_attention_layernorm.weight" % i], eps)
        gate = linear(h, i, "gate_proj")
        up = linear(h, i, "up_proj")
        x = x + linear(torch.nn.functional.silu(gate) * up, i, "down_proj")
    x = rms_norm(x, P["model.norm.weight"], eps)
    head = P["model.embed_tokens.weight"] if c["tied"] else P["lm_head.weight"]
    return x @ head.t()


def causal_lm_loss(logits, labels):
    """HF convention: logits[:, t] predicts labels[:, t+1]; ignore -100;
    mean over counted tokens."""
    V = logits.shape[-1]
    shift_logits = logits[:, :-1, :].reshape(-1, V)
    shift_labels = labels[:, 1:].reshape(-1)
    return torch.nn.functional.cross_entropy(
        shift_logits, shift_labels, ignore_index=IGNORE_INDEX, reduction="mean")


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def to64(d):
    return OrderedDict((k, v.to(torch.float64).clone().requires_grad_(True)) for k, v in d.items())


def finite_difference_check(c, P64, L64, ids, labels, grads, trainable_name):
    """Central differences on one random non-zero entry of every trainable tensor."""
    g = torch.Generator().manual_seed(c["seed"] + 7)
    h = 1e-5
    worst = 0.0
    for name in grads:
        nz = torch.nonzero(grads[name].view(-1)).view(-1)
        idx = int(nz[int(torch.randint(0, nz.numel(), (1,), generator=g))])
        with torch.no_grad():
            target = (L64 if trainable_name == "lora" else P64)[name].view(-1)
            orig = target[idx].item()
            target[idx] = orig + h
            lp = causal_lm_loss(forward(c, P64, L64, ids), labels).item()
            target[idx] = orig - h
            lm = causal_lm_loss(forward(c, P64, L64, ids), labels).item()
            target[idx] = orig
        fd = (lp - lm) / (2 * h)
        ad = grads[name].view(-1)[idx].item()
        err = abs(fd - ad) / max(1e-8, abs(fd) + abs(ad))
        worst = max(worst, err)
        print("  [check] %-62s [%4d]  autograd=% .10e  fd=% .10e  rel=%.2e"
              % (name, idx, ad, fd, err))
    return worst


def run_case(c, check):
    g = torch.Generator().manual_seed(c["seed"])
    base32 = make_base_params(c, g)
    lora32 = make_lora_params(c, g) if c["lora"] else None
    ids, labels = make_inputs(c, g)

    P64 = to64(base32)
    L64 = to64(lora32) if lora32 is not None else None
    if L64 is not None:
        for v in P64.values():
            v.requires_grad_(False)

    logits = forward(c, P64, L64, ids)
    loss = causal_lm_loss(logits, labels)
    if L64 is not None:
        trainable, tname = L64, "lora"
    else:
        trainable, tname = P64, "base"
    gl = torch.autograd.grad(loss, list(trainable.values()))
    grads = OrderedDict((k, gv.detach()) for k, gv in zip(trainable.keys(), gl))

    d = os.path.join(OUT_DIR, c["name"])
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), make_config(c))
    write_safetensors(os.path.join(d, "model.safetensors"), base32, {"format": "pt"})
    if lora32 is not None:
        ad = os.path.join(d, "adapter")
        os.makedirs(ad, exist_ok=True)
        lc = c["lora"]
        acfg = OrderedDict([
            ("peft_type", "LORA"),
            ("task_type", "CAUSAL_LM"),
            ("r", lc["r"]),
            ("lora_alpha", lc["alpha"]),
            ("target_modules", list(lc["targets"])),
            ("lora_dropout", 0.0),
            ("bias", "none"),
            ("fan_in_fan_out", False),
            ("base_model_name_or_path", "."),
        ])
        write_json(os.path.join(ad, "adapter_config.json"), acfg)
        write_safetensors(os.path.join(ad, "adapter_model.safetensors"), lora32, {"format": "pt"})

    write_json(os.path.join(d, "inputs.json"), OrderedDict([
        ("ids", ids.tolist()),
        ("labels", labels.tolist()),
    ]))
    lg = logits.detach()
    write_json(os.path.join(d, "expected.json"), OrderedDict([
        ("loss", float(loss.item())),
        ("last_logits", [[float(v) for v in lg[b, -1].tolist()] for b in range(BATCH)]),
        ("max_abs_logit", float(lg.abs().max().item())),
    ]))
    exp = OrderedDict([("logits", lg)])
    exp.update(grads)
    write_safetensors(os.path.join(d, "expected.safetensors"), exp, {"format": "pt"})

    # writer self-check
    back = read_safetensors(os.path.join(d, "model.safetensors"))
    assert list(back.keys()) == list(base32.keys())
    for k in base32:
        assert torch.equal(back[k], base32[k]), k

    n_tok = int((labels[:, 1:] != IGNORE_INDEX).sum())
    gnorm = math.sqrt(sum(float((v * v).sum()) for v in grads.values()))
    print("%-22s loss=%.10f  tokens=%d  max|logit|=%.4f  |grad|=%.6e  (%d %s tensors)"
          % (c["name"], loss.item(), n_tok, lg.abs().max().item(), gnorm, len(grads), tname))
    worst = 0.0
    if check:
        worst = finite_difference_check(c, P64, L64, ids, labels, grads, tname)
    return worst


def main():
    check = "--check" in sys.argv[1:]
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    worst = 0.0
    for c in CASES:
        worst = max(worst, run_case(c, check))
    if check:
        print("worst relative fd error: %.2e" % worst)
        if worst > 1e-5:
            print("FINITE-DIFFERENCE CHECK FAILED")
            sys.exit(1)


if __name__ == "__main__":
    main()
