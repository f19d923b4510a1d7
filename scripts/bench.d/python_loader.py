"""actionbench.Loader (the Python package) vs torch.utils.data.DataLoader
over the same shards, with the same decode + augment work per sample and
the same number of workers, each in its own process, side by side in one
run.

Data and work are those of `scripts/bench loader` (loader.py): N skeleton
samples sharded by `shard.parquet`, the `xsub = 'train'` rows, each sample's
variable-shape joints decoded, randomly cropped and resampled to T frames,
centred, flipped, rotated and scaled, then collated into [64, 3, T, 25, 2]
batches. The peer is a map-style torch Dataset doing that work in numpy
(loader.py's `sample`) under a DataLoader with `num_workers` = cores
(batch_size 64, shuffled); ours is `actionbench.Loader(source="skeleton")`
with `threads` = cores, its batches turned into numpy arrays in Python.

Reported: samples/s over EPOCHS epochs (median of REPEAT), the ratio, and the
time a training loop waits for data: each side feeds a loop whose step is a
fixed amount of torch work (an ST-GCN-like conv stack, forward + backward,
one thread, STEP_MS on its own), and we sum the time spent in `next()`.
"""

import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import loader as L  # noqa: E402  (the shared data and the numpy augmentation)

import torch  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

import actionbench  # noqa: E402

WORKERS = L.WORKERS
BATCH, T = L.BATCH, L.T


class SkeletonDataset(Dataset):
    """The peer's dataset: the same decode + augment as the Rust source."""

    def __init__(self, n):
        self.n = n
        self.epoch = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        joints, mask = L.sample(i, self.epoch)
        return joints, mask, int(L.DS["labels"][i])


def torch_loader(n, epoch):
    ds = SkeletonDataset(n)
    ds.epoch = epoch
    g = torch.Generator()
    g.manual_seed(epoch)
    return DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=WORKERS, generator=g,
                      multiprocessing_context="fork", persistent_workers=False)


def ours_loader(shard_dir, epoch):
    return actionbench.Loader(
        L.WORK, shard_dir, filter="xsub = 'train'", source="skeleton", batch_size=BATCH, seed=0, epoch=epoch,
        config={"frames": T, "bodies": L.M, "augment": True, "flip": True}, threads=WORKERS)


def throughput(make):
    """Samples and seconds over EPOCHS epochs; `make(epoch)` gives an epoch's iterable."""
    samples, start = 0, time.perf_counter()
    for epoch in range(L.EPOCHS):
        for batch in make(epoch):
            joints = batch["joints"] if isinstance(batch, dict) else batch[0]
            samples += len(joints)
    return samples, time.perf_counter() - start


class Step(torch.nn.Module):
    """A fixed training step on the batch: a small conv stack over [N, 3, T, 25 * 2]."""

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 32, (9, 1), padding=(4, 0)), torch.nn.ReLU(),
            torch.nn.Conv2d(32, 32, (9, 1), padding=(4, 0)), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 60))

    def forward(self, x):
        return self.net(x.reshape(x.shape[0], 3, T, -1))


def waiting(make, model, opt, batches):
    """Seconds spent waiting in next() and in the steps, over `batches` steps."""
    wait = work = 0.0
    it = iter(make(0))
    for _ in range(batches):
        t0 = time.perf_counter()
        batch = next(it)
        t1 = time.perf_counter()
        x = batch["joints"] if isinstance(batch, dict) else batch[0]
        y = batch["label"] if isinstance(batch, dict) else batch[2]
        x, y = torch.as_tensor(np.asarray(x)), torch.as_tensor(np.asarray(y), dtype=torch.long)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        wait += t1 - t0
        work += time.perf_counter() - t1
    return wait, work


def main():
    print(f"generating {L.N} skeleton samples and sharding them...", file=sys.stderr)
    shard_dir = L.make_shards()
    n = L.open_peer(shard_dir)
    torch.set_num_threads(1)
    ours, peer = [], []
    for _ in range(L.REPEAT):
        # Opened before timing, as the peer's pyarrow table is (open_peer):
        # then each `for` over it is the next epoch.
        loader = ours_loader(shard_dir, 0)
        o_samples, o_time = throughput(lambda e: loader)
        p_samples, p_time = throughput(lambda e: torch_loader(n, e))
        assert o_samples == p_samples == n * L.EPOCHS, (o_samples, p_samples, n)
        ours.append(o_samples / o_time)
        peer.append(p_samples / p_time)
    o, p = statistics.median(ours), statistics.median(peer)
    print(f"\n{n} train rows of {L.N}, batch {BATCH}, T={T}, M={L.M}, {L.EPOCHS} epochs, "
          f"{WORKERS} threads / workers, one process each, median of {L.REPEAT}")
    print(f"{'measure':<52} {'samples/s':>10}")
    print(f"{'actionbench.Loader (Python package)':<52} {o:>10.0f}")
    print(f"{'torch DataLoader, num_workers=' + str(WORKERS) + ', same numpy work':<52} {p:>10.0f}   ({o / p:.2f}x)")
    print(f"\ntarget: actionbench.Loader >= 3x torch DataLoader: {'met' if o / p >= 3 else 'MISSED'} ({o / p:.2f}x)")

    steps = min(n // BATCH, 20)
    torch.manual_seed(0)
    model = Step()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for name, make in (("actionbench.Loader", lambda e: ours_loader(shard_dir, e)),
                       ("torch DataLoader", lambda e: torch_loader(n, e))):
        wait, work = waiting(make, model, opt, steps)
        print(f"training loop fed by {name:<20}: waits {wait / steps * 1e3:8.1f} ms/step for data, "
              f"steps take {work / steps * 1e3:7.1f} ms ({steps} steps, incl. start-up)")


if __name__ == "__main__":
    main()
