"""ST-GCN in PyTorch, fed by ``actionbench.Loader``: the `train` stage of
``pipelines/ntu60-xsub-torch.toml``.

It trains on the rows of a skeleton table that pass ``--train-filter``, with
the same batches (order and augmentation) a Burn ``train`` stage with this
seed would get, logs the loss per step and the final validation top-1 with
``actionbench.log_metrics`` (so ``actionbench sql``, ``exp show`` and the
leaderboard see them), and writes ``predictions.parquet`` (``sample_id``,
``label``, ``scores``) for ``eval.classify``.

    python examples/python/stgcn_torch.py --table ntu60-xsub-torch.skeletons --seed 0 --out runs/x

Needs ``torch``, ``numpy``, ``pyarrow`` and the ``actionbench`` package
(``pip install ./python``).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn as nn
import torch.nn.functional as F

# NTU RGB+D bones (1-based), the graph of ST-GCN's `ntu-rgb+d` layout; the
# centre is joint 21 (spine).
NTU_EDGES = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10),
             (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23),
             (23, 8), (24, 25), (25, 12)]


def spatial_partitions(num_nodes: int = 25, center: int = 20) -> np.ndarray:
    """ST-GCN's spatial-configuration partitions: root, centripetal,
    centrifugal neighbours, each column-normalised: ``[3, V, V]``."""
    adj = np.eye(num_nodes)
    for a, b in NTU_EDGES:
        adj[a - 1, b - 1] = adj[b - 1, a - 1] = 1
    hops = np.full(num_nodes, np.inf)
    hops[center] = 0
    frontier = [center]
    while frontier:
        nxt = []
        for i in frontier:
            for j in np.nonzero(adj[i])[0]:
                if hops[j] == np.inf:
                    hops[j] = hops[i] + 1
                    nxt.append(j)
        frontier = nxt
    degree = adj.sum(0)
    norm = adj / degree[None, :]
    parts = np.zeros((3, num_nodes, num_nodes))
    for i in range(num_nodes):
        for j in range(num_nodes):
            if adj[j, i] == 0:
                continue
            if hops[j] == hops[i]:
                parts[0, j, i] = norm[j, i]
            elif hops[j] < hops[i]:
                parts[1, j, i] = norm[j, i]
            else:
                parts[2, j, i] = norm[j, i]
    return parts.astype(np.float32)


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride, residual, partitions, kernel=9, dropout=0.0):
        super().__init__()
        self.partitions = partitions
        self.gcn = nn.Conv2d(c_in, c_out * partitions, 1)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, (kernel, 1), (stride, 1), ((kernel - 1) // 2, 0)),
            nn.BatchNorm2d(c_out), nn.Dropout(dropout),
        )
        if not residual:
            self.residual = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(c_in, c_out, 1, (stride, 1)), nn.BatchNorm2d(c_out))

    def forward(self, x, a):
        n, _, t, v = x.shape
        y = self.gcn(x).view(n, self.partitions, -1, t, v)
        y = torch.einsum("nkctv,kvw->nctw", y, a)
        y = self.tcn(y)
        if self.residual is not None:
            y = y + self.residual(x)
        return F.relu(y)


class StGcn(nn.Module):
    """ST-GCN over ``[N, C, T, V, M]`` joints (the loader's layout)."""

    def __init__(self, num_classes, blocks=((8, 1), (16, 2)), in_channels=3, persons=2, joints=25):
        super().__init__()
        self.register_buffer("adjacency", torch.from_numpy(spatial_partitions(joints)))
        self.data_bn = nn.BatchNorm1d(in_channels * joints * persons)
        layers, c = [], in_channels
        for i, (c_out, stride) in enumerate(blocks):
            layers.append(Block(c, c_out, stride, i > 0, 3))
            c = c_out
        self.blocks = nn.ModuleList(layers)
        self.importance = nn.ParameterList([nn.Parameter(torch.ones(3, joints, joints)) for _ in blocks])
        self.head = nn.Linear(c, num_classes)

    def forward(self, x):
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)
        x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for block, w in zip(self.blocks, self.importance):
            x = block(x, self.adjacency * w)
        x = x.mean(dim=(2, 3)).view(n, m, -1).mean(dim=1)
        return self.head(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--table", required=True, help="PIPELINE.TABLE or a shard directory ({@skeletons} in a cmd)")
    ap.add_argument("--out", required=True, help="directory for predictions.parquet")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--num-classes", type=int, default=60)
    ap.add_argument("--size", choices=["tiny", "small"], default="tiny")
    ap.add_argument("--train-filter", default="xsub = 'train'")
    ap.add_argument("--val-filter", default="xsub = 'val'")
    ap.add_argument("--val-split", default="xsub-val")
    args = ap.parse_args()
    # Imported here so `scripts/bench cpu-step` can borrow the model
    # classes without the package.
    import actionbench

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    project = actionbench.Project(".")
    skeleton = {"frames": args.frames, "bodies": 2, "augment": True, "flip": False}
    train = actionbench.Loader(project, args.table, filter=args.train_filter, source="skeleton",
                               config=skeleton, batch_size=args.batch_size, seed=args.seed)
    blocks = ((8, 1), (16, 2)) if args.size == "tiny" else ((32, 1), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1))
    model = StGcn(args.num_classes, blocks)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=1e-4)
    total = args.epochs * len(train)
    warmup = min(30, total // 10)
    step, start = 0, time.time()
    for epoch in range(args.epochs):
        model.train()
        for batch in train:
            lr = args.lr * (step + 1) / warmup if step < warmup else \
                0.5 * args.lr * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
            for g in opt.param_groups:
                g["lr"] = lr
            x = torch.from_numpy(np.array(batch["joints"]))  # the loader's view is read-only
            y = torch.from_numpy(np.array(batch["label"]))
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            step += 1
            if step % 10 == 0 or step == total:
                actionbench.log_metrics(step=step, loss=loss.item(), lr=lr)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss.item():.4f} ({time.time() - start:.1f} s)", flush=True)

    val = actionbench.Loader(project, args.table, filter=args.val_filter, source="skeleton",
                             config={**skeleton, "augment": False}, batch_size=64, seed=0, shuffle=False)
    model.eval()
    ids, labels, scores = [], [], []
    with torch.no_grad():
        for batch in val:
            logits = model(torch.from_numpy(np.array(batch["joints"])))
            ids += batch["sample_id"]
            labels.append(batch["label"])
            scores.append(logits.numpy())
    labels, scores = np.concatenate(labels), np.concatenate(scores).astype(np.float32)
    top1 = float((scores.argmax(1) == labels).mean())
    actionbench.log_metrics(split="train", loss=loss.item(), seconds=time.time() - start)
    actionbench.log_metrics(split=args.val_split, top1=top1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = pa.table({
        "sample_id": pa.array(ids, pa.string()),
        "label": pa.array(labels, pa.int64()),
        "scores": pa.array(list(scores), pa.list_(pa.float32())),
    })
    pq.write_table(table, out / "predictions.parquet")
    print(f"val top-1 {top1:.4f} over {len(ids)} samples; wrote {out / 'predictions.parquet'}")


if __name__ == "__main__":
    main()
