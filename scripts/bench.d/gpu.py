"""LART paper-size training step: Burn 0.21 (CUDA) vs PyTorch eager and
torch.compile, on the same GPU, in one run.

The PyTorch model mirrors actionbench-models' LART: a 229-d pose MLP with
two hidden layers, a learnable mask token, sinusoidal time / track-id
encodings, a post-norm GELU transformer encoder (width 512, 16 heads, 16
layers, feed-forward 4x width, dropout 0.1), the paper's two attention
masking rules, a linear head to 80 classes, multi-label BCE with logits and
AdamW. The batch is made once and reused (the in-memory-fed step), as in
`crates/actionbench-models/examples/bench_gpu.rs`.

Then the same paper-size step through the trainer, fed by the loader from a
tracklet shard vs fed one in-memory batch (`bench_step`, scripts/bench.d/step.py):
target loader-fed <= 1.05x in-memory-fed.

Environment: BURN_BIN (the bench_gpu binary) and STEP_BIN (bench_step; each
skipped when absent), BATCH (32), FRAMES (128), PEOPLE (1), STEPS (20),
WARMUP (5).
"""
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
from step import loader_vs_memory  # noqa: E402
from torch_lart import CLASSES, HEADS, LAYERS, W, Lart  # noqa: E402

N = int(os.environ.get("BATCH", 32))
T = int(os.environ.get("FRAMES", 128))
P = int(os.environ.get("PEOPLE", 1))
STEPS = int(os.environ.get("STEPS", 20))
WARMUP = int(os.environ.get("WARMUP", 5))


def time_steps(model, step):
    times = []
    for i in range(WARMUP + STEPS):
        torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        torch.cuda.synchronize()
        if i >= WARMUP:
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]


def torch_step_ms(compiled):
    torch.manual_seed(0)
    dev = "cuda"
    model = Lart(T, P).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    fwd = torch.compile(model) if compiled else model
    pose = torch.randn(N, T, P, 229, device=dev)
    valid = torch.ones(N, T, P, dtype=torch.bool, device=dev)
    masked = (torch.arange(N * T * P, device=dev) * 7919 % 10 < 4).reshape(N, T, P)
    targets = (torch.rand(N, T, CLASSES, device=dev) < 0.05).float()
    loss_fn = nn.BCEWithLogitsLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(fwd(pose, valid, masked), targets)
        loss.backward()
        opt.step()

    return time_steps(model, step)


def main():
    if not torch.cuda.is_available():
        print("skipped: no CUDA device (run on the GPU machine)", file=sys.stderr)
        return 0
    print(f"device: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; "
          f"batch {N} x {T} frames x {P} people, width {W}, {LAYERS} layers, {HEADS} heads, f32", file=sys.stderr)
    rows = []
    burn = os.environ.get("BURN_BIN")
    if burn and os.path.exists(burn):
        out = subprocess.run([burn, "--batch", str(N), "--frames", str(T), "--people", str(P),
                              "--steps", str(STEPS), "--warmup", str(WARMUP)],
                             check=True, capture_output=True, text=True).stdout
        ours = json.loads(out.strip().splitlines()[-1])["median_ms"]
    else:
        print("BURN_BIN not set or missing: only PyTorch is timed", file=sys.stderr)
        ours = None
    eager = torch_step_ms(False)
    compiled = torch_step_ms(True)
    print(f"\n{'training step (median)':<28} {'ms':>9}  {'Burn / this':>11}")
    for name, ms in (("burn 0.21 cuda", ours), ("pytorch eager", eager), ("pytorch torch.compile", compiled)):
        if ms is None:
            continue
        ratio = f"{ours / ms:.2f}x" if ours else ""
        print(f"{name:<28} {ms:>9.2f}  {ratio:>11}")
    if ours:
        print(f"\ntarget: Burn step <= 1.0x PyTorch eager: {'met' if ours <= eager else 'MISSED'} "
              f"({ours / eager:.2f}x eager, {ours / compiled:.2f}x compiled)")
    step = os.environ.get("STEP_BIN")
    if step and os.path.exists(step):
        loader_vs_memory(step, "cuda", "--size", "paper", "--batch", str(N), "--frames", str(T), "--people", str(P),
                         "--steps", str(STEPS), "--warmup", str(WARMUP))
    else:
        print("STEP_BIN not set or missing: the loader-fed step is not timed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
