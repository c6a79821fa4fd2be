"""W4's PyTorch peer (dev-only): the same SmolLM2-135M-shaped Llama written
with torch ops, LoRA rank 8 / alpha 16 on q/k/v/o/gate/up/down, AdamW on the
adapters, batch 4 x 128, causal-LM loss; forward + backward + step timed.

Run: /usr/bin/python3 bench/peers/w4_torch.py [--steps 5] [--layers 30] [--threads 2]
(Debian's python3-torch; install libopenblas0-pthread first, and unset
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for this command). Prints one JSON line.

Each piece mirrors transformers' modeling_llama.py: LlamaRMSNorm.forward,
rotate_half/apply_rotary_pos_emb, repeat_kv, LlamaAttention.forward (eager),
LlamaMLP, LlamaDecoderLayer, LlamaForCausalLM.forward's loss; the LoRA layer
mirrors PEFT's lora.Linear.forward (result + B(A(dropout(x))) * scaling).
"""
import argparse
import json
import resource
import math
import statistics
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=5)
p.add_argument("--layers", type=int, default=30)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

H, L, NH, KV, I, V = 576, a.layers, 9, 3, 1536, 49152
D = H // NH
B, T = 4, 128
R, ALPHA = 8, 16


class LoraLinear(torch.nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(o, i) * 0.02, requires_grad=False)
        self.a = torch.nn.Parameter(torch.randn(R, i) / math.sqrt(i))
        self.b = torch.nn.Parameter(torch.zeros(o, R))

    def forward(self, x):
        return F.linear(x, self.w) + F.linear(F.linear(x, self.a), self.b) * (ALPHA / R)


def rms(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = LoraLinear(H, H), LoraLinear(H, KV * D), LoraLinear(H, KV * D), LoraLinear(H, H)
        self.g, self.u, self.d = LoraLinear(H, I), LoraLinear(H, I), LoraLinear(I, H)
        self.n1 = torch.nn.Parameter(torch.ones(H), requires_grad=False)
        self.n2 = torch.nn.Parameter(torch.ones(H), requires_grad=False)

    def forward(self, x, cos, sin, mask):
        h = rms(x, self.n1)
        q = self.q(h).view(B, T, NH, D).transpose(1, 2)
        k = self.k(h).view(B, T, KV, D).transpose(1, 2)
        v = self.v(h).view(B, T, KV, D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k = k[:, :, None].expand(B, KV, NH // KV, T, D).reshape(B, NH, T, D)
        v = v[:, :, None].expand(B, KV, NH // KV, T, D).reshape(B, NH, T, D)
        s = (q @ k.transpose(2, 3)) / math.sqrt(D) + mask
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H)
        x = x + self.o(o)
        h = rms(x, self.n2)
        return x + self.d(F.silu(self.g(h)) * self.u(h))


emb = torch.nn.Parameter(torch.randn(V, H) * 0.02, requires_grad=False)
layers = torch.nn.ModuleList([Layer() for _ in range(L)])
norm = torch.nn.Parameter(torch.ones(H), requires_grad=False)
inv = 1.0 / (100000 ** (torch.arange(0, D, 2).float() / D))
ang = torch.arange(T).float()[:, None] * inv[None]
cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()
mask = torch.full((T, T), float("-inf")).triu(1)
ids = torch.randint(0, V, (B, T))
params = [q for q in layers.parameters() if q.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4)


def step():
    x = emb[ids]
    for lay in layers:
        x = lay(x, cos, sin, mask)
    logits = F.linear(rms(x, norm), emb)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    loss.backward()
    opt.step()
    opt.zero_grad()
    return loss.item()


times = []
for s in range(a.steps + 2):
    t0 = time.perf_counter()
    step()
    if s >= 2:
        times.append((time.perf_counter() - t0) * 1000)
med = statistics.median(times)
print(json.dumps({
    "impl": f"PyTorch {torch.__version__}", "threads": a.threads, "layers": L,
    "msPerStep": med, "tokensPerSecond": B * T / (med / 1000),
    "blas": torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0],
    "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
