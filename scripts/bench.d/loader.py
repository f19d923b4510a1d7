"""Loader throughput: actionbench's loader vs a Python DataLoader over the same shards.

Both sides read the same Parquet shards (written by `shard.parquet`), keep
the rows with `xsub = 'train'`, and every epoch decode each sample's
variable-shape `joints` tensor [F, B, 25, 3] and augment it the same way:
random temporal crop (50-100 %) + uniform resampling to T frames, centring on
the spine joint of the first frame, random left/right flip, rotation about the
vertical axis (+-30 deg), scaling (+-10 %), padding to M = 2 bodies with a body
mask; then collate batches of 64 into [N, 3, T, 25, M] arrays.

The peer: PyTorch's DataLoader needs `torch`, whose PyPI wheel on this
machine's index pulls the CUDA runtime libraries (several GB) and does not
import without them, and the CPU-only wheel index is unreachable. So the peer
is a DataLoader-equivalent written with numpy + multiprocessing: a forked
worker pool with the same number of workers as our threads, each worker
building whole batches (DataLoader's batch_sampler mode) from zero-copy numpy
views of the pyarrow columns, results returned to the main process in order
with `imap` (DataLoader returns them through queues). We also report the
peer's single-process time divided by the worker count: the ideal linear
scaling with no transfer cost, a bound no DataLoader beats.
"""

import glob
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(__file__))
from step import loader_vs_memory  # noqa: E402

AB = os.environ["ACTIONBENCH_BIN"]
WORK = os.environ["BENCH_DIR"]
TARGET = os.environ["CARGO_TARGET_DIR"]
N = int(os.environ.get("N", "2000"))
REPEAT = int(os.environ.get("REPEAT", "3"))
EPOCHS = int(os.environ.get("EPOCHS", "2"))
WORKERS = int(os.environ.get("WORKERS", str(os.cpu_count() or 1)))
BATCH, T, M, J = 64, 64, 2, 25
ENV = dict(os.environ, ACTIONBENCH_NO_PROGRESS="1")
XSUB_TRAIN = {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
FLIP_PAIRS = [(4, 8), (5, 9), (6, 10), (7, 11), (12, 16), (13, 17), (14, 18), (15, 19), (21, 23), (22, 24)]
MIRROR = list(range(J))
for a, b in FLIP_PAIRS:
    MIRROR[a], MIRROR[b] = b, a

# The peer's dataset, set in the parent before the pool forks (as a
# DataLoader's Dataset is).
DS = {}


def sh(args):
    return subprocess.run(args, cwd=WORK, env=ENV, check=True, capture_output=True, text=True)


def make_shards():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(os.path.join(WORK, "data"))
    os.makedirs(os.path.join(WORK, "pipelines"))
    rng = np.random.default_rng(7)
    ids, labels, xsub, offsets, values, shapes = [], [], [], [0], [], []
    for i in range(N):
        frames, bodies = int(rng.integers(40, 121)), 1 + (i % 4 == 0)
        subject = i % 40 + 1
        arr = rng.standard_normal((frames, bodies, J, 3)).astype(np.float32)
        ids.append(f"S{i % 17 + 1:03d}C{i % 3 + 1:03d}P{subject:03d}R{i % 2 + 1:03d}A{i % 60 + 1:03d}_{i:05d}")
        labels.append(i % 60)
        xsub.append("train" if subject in XSUB_TRAIN else "val")
        values.append(arr.ravel())
        offsets.append(offsets[-1] + arr.size)
        shapes.extend([frames, bodies, J, 3])
    data = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(np.concatenate(values)))
    shape = pa.FixedSizeListArray.from_arrays(pa.array(shapes, pa.int32()), 4)
    joints = pa.StructArray.from_arrays([data, shape], names=["data", "shape"])
    table = pa.table({"sample_id": ids, "label": pa.array(labels, pa.int32()), "xsub": xsub, "joints": joints})
    pq.write_table(table, os.path.join(WORK, "data", "table.parquet"))
    with open(os.path.join(WORK, "pipelines", "bench.toml"), "w") as f:
        f.write('[stages.samples]\nuses = "shard.parquet"\ninputs = ["data/table.parquet"]\n'
                'params = { sort-by = ["sample_id"], target-rows = 500, row-group-rows = 128 }\n')
    sh([AB, "run", "bench"])
    return sh([AB, "sql", "SELECT location FROM actionbench.stages WHERE stage = 'samples'",
               "--format", "csv"]).stdout.splitlines()[1]


def open_peer(shard_dir):
    files = sorted(glob.glob(os.path.join(shard_dir, "*.parquet")))
    table = pq.read_table(files, columns=["sample_id", "label", "joints", "xsub"], filters=pc.field("xsub") == "train")
    joints = table.column("joints").combine_chunks()
    if isinstance(joints, pa.ExtensionArray):
        joints = joints.storage
    data = joints.field("data")
    DS["offsets"] = data.offsets.to_numpy()
    DS["values"] = data.values.to_numpy(zero_copy_only=False)
    DS["shapes"] = joints.field("shape").flatten().to_numpy().reshape(-1, 4)
    DS["labels"] = table.column("label").to_numpy()
    DS["ids"] = table.column("sample_id").to_pylist()
    return len(DS["ids"])


def sample(i, epoch):
    """Decode + augment one sample: the same steps as SkeletonSource."""
    rng = np.random.default_rng([0, epoch, i])
    f, b, j, c = DS["shapes"][i]
    x = DS["values"][DS["offsets"][i]:DS["offsets"][i + 1]].reshape(f, b, j, c)
    length = min(max(int(round(f * rng.uniform(0.5, 1.0))), 1), f)
    start = int(rng.integers(0, f - length + 1))
    u = rng.random(T)
    idx = start + np.minimum(((np.arange(T) + u) * length / T).astype(np.int64), length - 1)
    present = np.any(x != 0, axis=(2, 3))
    first = int(np.argmax(present[:, 0])) if present[:, 0].any() else 0
    origin = x[first, 0, 1, :3]
    angle = rng.uniform(-np.pi / 6, np.pi / 6)
    scale = rng.uniform(0.9, 1.1)
    flip = rng.random() < 0.5
    m = min(b, M)
    p = x[idx, :m] - origin  # [T, m, J, 3]
    mask = present[idx, :m]
    p[~mask] = 0
    if flip:
        p = p[:, :, MIRROR]
        p[..., 0] = -p[..., 0]
    cos, sin = np.cos(angle), np.sin(angle)
    px, pz = p[..., 0] * cos + p[..., 2] * sin, -p[..., 0] * sin + p[..., 2] * cos
    p[..., 0], p[..., 2] = px, pz
    p *= scale
    out = np.zeros((3, T, J, M), np.float32)
    out[:, :, :, :m] = p.transpose(3, 0, 2, 1)
    body_mask = np.zeros((T, M), np.float32)
    body_mask[:, :m] = mask
    return out, body_mask


def make_batch(job):
    epoch, indices = job
    samples = [sample(i, epoch) for i in indices]
    return (np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples]),
            DS["labels"][indices], [DS["ids"][i] for i in indices])


def jobs(n):
    for epoch in range(EPOCHS):
        order = np.random.default_rng([0, epoch]).permutation(n)
        for k in range(0, n, BATCH):
            yield epoch, order[k:k + BATCH]


def run_peer(n, workers):
    samples, checksum = 0, 0.0
    if workers == 0:
        it = map(make_batch, jobs(n))
        pool = None
    else:
        pool = mp.get_context("fork").Pool(workers)
        it = pool.imap(make_batch, jobs(n), chunksize=1)
    start = time.perf_counter()
    for joints, _, _, _ in it:
        samples += len(joints)
        checksum += float(joints.ravel()[::997].sum())
    elapsed = time.perf_counter() - start
    if pool is not None:
        pool.close()
        pool.join()
    return samples, elapsed


def main():
    print(f"generating {N} skeleton samples and sharding them...", file=sys.stderr)
    shard_dir = make_shards()
    exe = os.path.join(TARGET, "release/examples/bench_loader")
    ours, ours_open, peer, peer_open, ideal = [], [], [], [], []
    rows = None
    for _ in range(REPEAT):
        out = subprocess.run([exe, shard_dir, "xsub = 'train'", str(WORKERS), str(EPOCHS), str(BATCH), str(T)],
                             check=True, capture_output=True, text=True).stdout.split()
        rows, o_open, o_samples, o_time = int(out[0]), float(out[1]), int(out[2]), float(out[3])
        ours.append(o_samples / o_time)
        ours_open.append(o_open)

        start = time.perf_counter()
        n = open_peer(shard_dir)
        peer_open.append(time.perf_counter() - start)
        assert n == rows, f"pyarrow selected {n} train rows, actionbench {rows}"
        p_samples, p_time = run_peer(n, WORKERS)
        assert p_samples == o_samples
        peer.append(p_samples / p_time)
        s_samples, s_time = run_peer(n, 0)
        ideal.append(s_samples / s_time * WORKERS)
    o, p, i = statistics.median(ours), statistics.median(peer), statistics.median(ideal)
    print(f"\n{rows} train rows of {N}, batch {BATCH}, T={T}, M={M}, {EPOCHS} epochs, "
          f"{WORKERS} threads / workers, median of {REPEAT}")
    print(f"{'measure':<44} {'samples/s':>10}")
    print(f"{'actionbench loader':<44} {o:>10.0f}")
    print(f"{'peer: numpy + multiprocessing DataLoader-equiv.':<44} {p:>10.0f}   ({o / p:.2f}x)")
    print(f"{'peer, ideal: 1 process x workers, no transfer':<44} {i:>10.0f}   ({o / i:.2f}x)")
    print(f"{'open + filter (s): actionbench / pyarrow':<44} {statistics.median(ours_open):>10.3f} "
          f"/ {statistics.median(peer_open):.3f}")
    print(f"\ntarget: loader >= 3x the DataLoader-equivalent: {'met' if o / p >= 3 else 'MISSED'} ({o / p:.2f}x)")
    print("note: torch could not be installed here (see scripts/bench.d/loader.py); the peer is numpy + "
          "multiprocessing doing the same work with the same number of workers")
    # The loader feeding the trainer (CPU here: it shares the cores with the step).
    step = os.path.join(TARGET, "release/examples/bench_step")
    loader_vs_memory(step, "cpu", "--size", "tiny", "--batch", "32", "--frames", "32", "--steps", "10",
                     "--warmup", "3")


if __name__ == "__main__":
    main()
