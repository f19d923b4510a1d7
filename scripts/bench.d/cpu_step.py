"""CPU training step, Burn (through the trainer, `bench_cpu_step`) vs
PyTorch eager, side by side in one run, for LART, ST-GCN and MViTv2-tiny.

Both sides run the same step on the same shapes: forward, loss, backward,
the global gradient norm and AdamW (lr 1e-4, betas 0.9/0.95, weight decay
0.05) on one batch made before timing; median of STEPS steps after WARMUP.
PyTorch uses as many threads as Burn (THREADS, default: all cores).

- LART, paper size (16 layers, width 512, 16 heads, dropout 0.1), pose only,
  one person, multi-label BCE over every frame: LART_BATCH (8) x
  LART_FRAMES (32);
- ST-GCN, standard size (the paper's ten blocks, 64-128-256 channels,
  temporal kernel 9), NTU joints [N, 3, T, 25, 2], cross-entropy:
  STGCN_BATCH (16) x STGCN_FRAMES (64);
- MViTv2 tiny (4 blocks, 24 channels; the PyTorch side is
  scripts/fixtures/mvit_reference.py, the model the import test checks Burn
  against), no dropout, cross-entropy over 20 classes: MVIT_BATCH (8) x
  MVIT_FRAMES (8) x MVIT_CROP (64)^2 clips, as `scripts/bench video-loader`.

Environment: STEP_BIN (the bench_cpu_step binary), MODELS (lart,stgcn,mvit),
STEPS (5), WARMUP (2), THREADS, PROFILE (a directory: also record the Burn
steps with `perf record` and write each model's `perf report` there).
Target: Burn <= 1.5x PyTorch eager.
"""
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from mvit_reference import MViT  # noqa: E402
from stgcn_torch import StGcn  # noqa: E402
from torch_lart import CLASSES, Lart  # noqa: E402

STEPS = int(os.environ.get("STEPS", 5))
WARMUP = int(os.environ.get("WARMUP", 2))
THREADS = int(os.environ.get("THREADS", os.cpu_count() or 1))
TARGET = 1.5
STANDARD = ((64, 1), (64, 1), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2), (256, 1), (256, 1))


MVIT_CROP = int(os.environ.get("MVIT_CROP", 64))


def shapes(model):
    if model == "lart":
        return int(os.environ.get("LART_BATCH", 8)), int(os.environ.get("LART_FRAMES", 32))
    if model == "mvit":
        return int(os.environ.get("MVIT_BATCH", 8)), int(os.environ.get("MVIT_FRAMES", 8))
    return int(os.environ.get("STGCN_BATCH", 16)), int(os.environ.get("STGCN_FRAMES", 64))


def torch_step_ms(model_name):
    torch.manual_seed(0)
    n, t = shapes(model_name)
    if model_name == "lart":
        model = Lart(t, 1)
        pose = torch.rand(n, t, 1, 229) * 2 - 1
        valid = torch.ones(n, t, 1, dtype=torch.bool)
        masked = (torch.arange(n * t) * 7919 % 10 < 4).reshape(n, t, 1)
        targets = (torch.rand(n, t, CLASSES) < 0.05).float()
        loss_fn = nn.BCEWithLogitsLoss()

        def loss():
            return loss_fn(model(pose, valid, masked), targets)
    elif model_name == "mvit":
        model = MViT(num_classes=20, frames=t, size=MVIT_CROP)
        clip = torch.rand(n, 3, t, MVIT_CROP, MVIT_CROP) * 2 - 1
        labels = torch.arange(n) % 20
        loss_fn = nn.CrossEntropyLoss()

        def loss():
            return loss_fn(model(clip), labels)
    else:
        model = StGcn(60, blocks=STANDARD)
        joints = torch.rand(n, 3, t, 25, 2) * 2 - 1
        labels = torch.arange(n) % 60
        loss_fn = nn.CrossEntropyLoss()

        def loss():
            return loss_fn(model(joints), labels)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.05)
    times = []
    for i in range(WARMUP + STEPS):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss().backward()
        nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
        opt.step()
        if i >= WARMUP:
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return times[len(times) // 2]


def burn_step(binary, model_name, profile):
    n, t = shapes(model_name)
    cmd = [binary, "--model", model_name, "--batch", str(n), "--frames", str(t),
           "--steps", str(STEPS), "--warmup", str(WARMUP)]
    if model_name == "mvit":
        cmd += ["--crop", str(MVIT_CROP)]
    if profile:
        data = os.path.join(profile, f"{model_name}.perf.data")
        cmd = ["perf", "record", "-F", "499", "-g", "-o", data, "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    if profile:
        report = os.path.join(profile, f"{model_name}.txt")
        with open(report, "w") as f:
            subprocess.run(["perf", "report", "-i", data, "--no-children", "--percent-limit", "0.5",
                            "--stdio", "--sort", "dso,symbol", "-g", "none"], check=True, stdout=f,
                           stderr=subprocess.DEVNULL)
        print(f"profile of the Burn {model_name} step: {report}", file=sys.stderr)
    return row


def main():
    binary = os.environ["STEP_BIN"]
    models = os.environ.get("MODELS", "lart,stgcn,mvit").split(",")
    profile = os.environ.get("PROFILE")
    if profile:
        os.makedirs(profile, exist_ok=True)
    torch.set_num_threads(THREADS)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {STEPS} steps after "
          f"{WARMUP} warm-up", file=sys.stderr)
    rows = []
    for name in models:
        ours = burn_step(binary, name, profile)
        theirs = torch_step_ms(name)
        rows.append((name, ours, theirs))
    print(f"\n{'training step (median, ms)':<36} {'burn':>9} {'pytorch':>9} {'burn/pytorch':>13}")
    missed = []
    for name, ours, theirs in rows:
        ratio = ours["median_ms"] / theirs
        label = f"{name} b{ours['batch']} x {ours['frames']} frames"
        print(f"{label:<36} {ours['median_ms']:>9.1f} {theirs:>9.1f} {ratio:>12.2f}x")
        if ratio > TARGET:
            missed.append(name)
    backend = rows[0][1]["backend"] if rows else "?"
    print(f"\nburn backend: {backend}, {rows[0][1]['threads'] if rows else '?'} threads; pytorch eager, "
          f"{THREADS} threads")
    print(f"target: burn <= {TARGET}x pytorch eager: {'met' if not missed else 'MISSED for ' + ', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
