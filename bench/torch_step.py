#!/usr/bin/python3
"""PyTorch's figure for `npm run bench:step`: the same LoRA training step.

One LLaMA decoder built from torch.nn ops (RMSNorm, rotary embeddings,
SwiGLU, causal attention), random frozen weights, LoRA rank 16 and alpha 32
on all seven projections, cross-entropy over every token, AdamW on the
adapter only. The base is held in fp32 or, with --precision bf16, as bf16
weights multiplied in bf16 with the adapter in fp32 (what autocast does to a
frozen Linear). With --mode full every weight trains instead (no adapter),
in fp32 or under bf16 autocast. Prints one JSON line: tokens/s over the
timed steps and the process's peak RSS.

    /usr/bin/python3 bench/torch_step.py --config '{"hidden_size": 256, ...}' \
        --batch 8 --seq 128 --steps 10 --threads 2 --precision fp32
"""

import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F


class FrozenLinear(torch.nn.Module):
    """A frozen projection with a LoRA branch: x W^T + scale (x A^T) B^T."""

    def __init__(self, out_f, in_f, rank, alpha, dtype):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(out_f, in_f) * 0.02, requires_grad=False)
        self.weight.data = self.weight.data.to(dtype)
        self.rank = rank
        if rank > 0:
            self.lora_a = torch.nn.Parameter(torch.randn(rank, in_f) / math.sqrt(in_f))
            self.lora_b = torch.nn.Parameter(torch.zeros(out_f, rank))
            self.scale = alpha / rank

    def forward(self, x):
        base = F.linear(x.to(self.weight.dtype), self.weight).to(x.dtype)
        if self.rank == 0:
            return base
        return base + self.scale * F.linear(F.linear(x, self.lora_a), self.lora_b)


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Block(torch.nn.Module):
    def __init__(self, c, rank, alpha, dtype):
        super().__init__()
        h, kv, d, inter = c["num_attention_heads"], c["num_key_value_heads"], c["hidden_size"], c["intermediate_size"]
        hd = d // h
        self.h, self.kv, self.hd = h, kv, hd
        self.q_proj = FrozenLinear(h * hd, d, rank, alpha, dtype)
        self.k_proj = FrozenLinear(kv * hd, d, rank, alpha, dtype)
        self.v_proj = FrozenLinear(kv * hd, d, rank, alpha, dtype)
        self.o_proj = FrozenLinear(d, h * hd, rank, alpha, dtype)
        self.gate_proj = FrozenLinear(inter, d, rank, alpha, dtype)
        self.up_proj = FrozenLinear(inter, d, rank, alpha, dtype)
        self.down_proj = FrozenLinear(d, inter, rank, alpha, dtype)
        self.ln1 = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.ln2 = torch.nn.Parameter(torch.ones(d), requires_grad=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        a = rms_norm(x, self.ln1)
        q = self.q_proj(a).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(a).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(a).view(B, T, self.kv, self.hd).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if self.kv != self.h:
            k = k.repeat_interleave(self.h // self.kv, dim=1)
            v = v.repeat_interleave(self.h // self.kv, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, self.h * self.hd)
        x = x + self.o_proj(y)
        m = rms_norm(x, self.ln2)
        return x + self.down_proj(F.silu(self.gate_proj(m)) * self.up_proj(m))


class Model(torch.nn.Module):
    def __init__(self, c, rank, alpha, dtype):
        super().__init__()
        d, v = c["hidden_size"], c["vocab_size"]
        self.embed = torch.nn.Parameter(torch.randn(v, d) * 0.02, requires_grad=False)
        self.blocks = torch.nn.ModuleList(Block(c, rank, alpha, dtype) for _ in range(c["num_hidden_layers"]))
        self.norm = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        if c.get("tie_word_embeddings", False) and dtype == torch.float32:
            self.head = self.embed  # one parameter, as a tied checkpoint holds it
        else:
            head = self.embed.data if c.get("tie_word_embeddings", False) else torch.randn(v, d) * 0.02
            self.head = torch.nn.Parameter(head.to(dtype), requires_grad=False)
        self.hd = d // c["num_attention_heads"]
        self.theta = c.get("rope_theta", 10000.0)

    def forward(self, ids):
        B, T = ids.shape
        inv = 1.0 / (self.theta ** (torch.arange(0, self.hd, 2).float() / self.hd))
        freqs = torch.outer(torch.arange(T).float(), inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = F.embedding(ids, self.embed)
        for blk in self.blocks:
            x = blk(x, cos, sin, mask)
        x = rms_norm(x, self.norm)
        return F.linear(x.to(self.head.dtype), self.head).float()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True, help="the Hugging Face config keys as JSON")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--mode", choices=["lora", "full"], default="lora")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    c = json.loads(args.config)
    full = args.mode == "full"
    # full training keeps fp32 weights and runs the products under bf16 autocast
    dtype = torch.bfloat16 if args.precision == "bf16" and not full else torch.float32
    model = Model(c, 0 if full else 16, 32, dtype)
    if full:
        for q in model.parameters():
            q.requires_grad_(True)
    params = [q for q in model.parameters() if q.requires_grad]
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=full and args.precision == "bf16")
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, c["vocab_size"], (args.batch, args.seq))

    def step():
        opt.zero_grad(set_to_none=False)
        with autocast:
            logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    step()  # warm-up, as the TypeScript side does
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "tokens_per_s": round(args.batch * args.seq * args.steps / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
