"""Video clips into training batches, and one MViTv2-tiny training step:
actionbench vs PyTorch, side by side in one run on the same cores.

Data: `synth` renders N clips (160x120, 32 frames, 30 fps, H.264 mp4) and
`ingest.renders` stores their frames as JPEG (quality 90) in Parquet.

Clips/s, every clip of EPOCHS epochs, batch BATCH, T frames at sampling
rate TAU from a random window, short side jittered in [8/7, 10/7] x CROP,
a random CROP square, horizontal flip with p = 1/2, mean/std normalisation,
collated to [B, 3, T, CROP, CROP] float32:

* ours:  `bench_clips` (crates/actionbench-loader/examples): `ClipSource`
         on the loader's threads (WORKERS), reading the Parquet shards;
* peer a: `torch.utils.data.DataLoader` (num_workers = WORKERS) over a
         Dataset holding the same Parquet JPEG frames (pyarrow), decoding
         the window's frames with simplejpeg (PIL when it is missing), then
         PySlowFast's tensor path (`F.interpolate` bilinear short-side
         scale, crop, flip, normalise);
* peer b: the same DataLoader decoding each clip's source mp4 with PyAV up
         to the window's end, as PySlowFast's `decoder.decode` does.

Target: ours >= 3x the faster peer.

Then one MViTv2-tiny training step (batch 8 x 8 frames x 64^2, forward +
cross-entropy + backward + AdamW, median of STEPS after 2 warm-up) on the
CPU: Burn (`bench_video_step`, through the trainer, fed from memory and by
the loader) vs PyTorch eager (the model of scripts/fixtures/
mvit_reference.py, same shapes, torch threads = WORKERS). Target: Burn
<= 1.5x PyTorch.
"""

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from mvit_reference import MViT  # noqa: E402

AB = os.environ["ACTIONBENCH_BIN"]
WORK = os.environ["BENCH_DIR"]
TARGET = os.environ["CARGO_TARGET_DIR"]
N = int(os.environ.get("N", "200"))
REPEAT = int(os.environ.get("REPEAT", "3"))
EPOCHS = int(os.environ.get("EPOCHS", "2"))
WORKERS = int(os.environ.get("WORKERS", str(os.cpu_count() or 1)))
STEPS = int(os.environ.get("STEPS", "5"))
BATCH, T, TAU, CROP = 8, 8, 4, 64
JITTER = (CROP * 8 // 7, CROP * 10 // 7)
MEAN, STD = 0.45, 0.225
ENV = dict(os.environ, ACTIONBENCH_NO_PROGRESS="1")

try:
    import simplejpeg
except ImportError:
    simplejpeg = None


def sh(args):
    return subprocess.run(args, cwd=WORK, env=ENV, check=True, capture_output=True, text=True)


def make_clips():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(os.path.join(WORK, "pipelines"))
    with open(os.path.join(WORK, "pipelines", "bench.toml"), "w") as f:
        f.write(f'[stages.data]\nuses = "synth"\n'
                f'params = {{ preset = "small", render-clips = {N}, formats = ["renders"] }}\n\n'
                '[stages.renders]\nuses = "ingest.renders"\ninputs = ["@data"]\n'
                'params = { frames = "jpeg", jpeg-quality = 90 }\n')
    sh([AB, "run", "bench"])
    return sh([AB, "sql", "SELECT location FROM actionbench.stages WHERE stage = 'renders'",
               "--format", "csv"]).stdout.splitlines()[1]


def window(n, rng):
    """PySlowFast's random window and `temporal_sampling` indices."""
    delta = max(n - T * TAU, 0)
    start = rng.uniform(0, delta) if delta > 0 else 0.0
    idx = np.linspace(start, start + T * TAU - 1, T).astype(np.int64)
    return np.clip(idx, 0, n - 1)


def spatial(frames, rng):
    """frames uint8 [T, H, W, 3] -> float32 [3, T, CROP, CROP], as PySlowFast's
    `tensor_normalize` + `spatial_sampling` (train: short-side jitter, random
    crop, flip)."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    h, w = x.shape[2], x.shape[3]
    short = int(rng.integers(JITTER[0], JITTER[1] + 1))
    size = (int(h / w * short), short) if w <= h else (short, int(w / h * short))
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    y0 = int(rng.integers(0, size[0] - CROP + 1))
    x0 = int(rng.integers(0, size[1] - CROP + 1))
    x = x[:, :, y0:y0 + CROP, x0:x0 + CROP]
    if rng.random() < 0.5:
        x = x.flip(-1)
    x = (x / 255.0 - MEAN) / STD
    return x.permute(1, 0, 2, 3).contiguous()


def decode_jpeg(data):
    if simplejpeg is not None:
        return simplejpeg.decode_jpeg(data, colorspace="RGB")
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


class ParquetClips(torch.utils.data.Dataset):
    """The Parquet JPEG frames, read with pyarrow (held in memory, shared
    with the forked workers, as the loader holds them)."""

    def __init__(self, shard_dir):
        files = sorted(f for f in os.listdir(shard_dir) if f.endswith(".parquet"))
        table = pq.read_table([os.path.join(shard_dir, f) for f in files], columns=["sample_id", "label", "rgb"])
        self.ids = table.column("sample_id").to_pylist()
        self.labels = table.column("label").to_numpy()
        self.rgb = table.column("rgb").combine_chunks()
        self.epoch = 0

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        rng = np.random.default_rng([0, self.epoch, i])
        files = self.rgb[i].values
        idx = window(len(files), rng)
        decoded = {f: decode_jpeg(files[int(f)].as_py()) for f in set(idx.tolist())}
        return spatial(np.stack([decoded[f] for f in idx.tolist()]), rng), int(self.labels[i])


class Mp4Clips(torch.utils.data.Dataset):
    """The source mp4 files, decoded with PyAV up to the window's end."""

    def __init__(self, shard_dir):
        files = sorted(f for f in os.listdir(shard_dir) if f.endswith(".parquet"))
        table = pq.read_table([os.path.join(shard_dir, f) for f in files],
                              columns=["source_dir", "label", "num_frames"])
        # `source_dir`: the clip folder `ingest.renders` read (relative to the project).
        self.paths = [os.path.join(WORK, d, "rgb.mp4") for d in table.column("source_dir").to_pylist()]
        missing = [p for p in self.paths if not os.path.exists(p)]
        assert not missing, f"no source video {missing[0]}"
        self.frames = table.column("num_frames").to_numpy()
        self.labels = table.column("label").to_numpy()
        self.epoch = 0

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        import av
        rng = np.random.default_rng([0, self.epoch, i])
        idx = window(int(self.frames[i]), rng)
        last = int(idx.max())
        decoded = []
        with av.open(self.paths[i]) as container:
            stream = container.streams.video[0]
            stream.thread_type = "NONE"  # one worker per core already
            for k, frame in enumerate(container.decode(stream)):
                decoded.append(frame.to_ndarray(format="rgb24"))
                if k >= last:
                    break
        frames = np.stack([decoded[min(int(f), len(decoded) - 1)] for f in idx])
        return spatial(frames, rng), int(self.labels[i])


def run_peer(dataset):
    """Clips/s through a DataLoader with WORKERS workers, EPOCHS epochs."""
    samples, checksum = 0, 0.0
    start = time.perf_counter()
    for epoch in range(EPOCHS):
        dataset.epoch = epoch
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=BATCH, shuffle=True, num_workers=WORKERS,
            generator=torch.Generator().manual_seed(epoch), prefetch_factor=4 if WORKERS else None)
        for clips, _ in loader:
            assert clips.shape[1:] == (3, T, CROP, CROP), clips.shape
            samples += clips.shape[0]
            checksum += float(clips.flatten()[::997].sum())
    return samples, time.perf_counter() - start


def torch_step_ms():
    """Median ms of an MViTv2-tiny training step in PyTorch eager on the CPU."""
    torch.manual_seed(0)
    torch.set_num_threads(WORKERS)
    model = MViT(num_classes=20, frames=T, size=CROP).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    clip = torch.randn(BATCH, 3, T, CROP, CROP)
    target = torch.randint(0, 20, (BATCH,))
    times = []
    for _ in range(2 + STEPS):
        start = time.perf_counter()
        loss = F.cross_entropy(model(clip), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times[2:])


def burn_step_ms(shard_dir):
    exe = os.path.join(TARGET, "release/examples/bench_video_step")
    out = subprocess.run([exe, "--table", shard_dir, "--batch", str(BATCH), "--frames", str(T), "--rate", str(TAU),
                          "--crop", str(CROP), "--steps", str(STEPS), "--warmup", "2", "--threads", str(WORKERS)],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.strip().splitlines()]
    feeds = {r["feed"]: r["median_ms"] for r in rows if "feed" in r}
    return feeds["in-memory"], feeds["loader"]


def main():
    print(f"rendering {N} clips and ingesting them...", file=sys.stderr)
    shard_dir = make_clips()
    exe = os.path.join(TARGET, "release/examples/bench_clips")
    ours, parquet_peer, mp4_peer = [], [], []
    pq_ds, mp4_ds = ParquetClips(shard_dir), Mp4Clips(shard_dir)
    rows = None
    for _ in range(REPEAT):
        out = subprocess.run([exe, shard_dir, str(WORKERS), str(EPOCHS), str(BATCH), str(T), str(TAU), str(CROP)],
                             check=True, capture_output=True, text=True).stdout.split()
        rows, o_samples, o_time = int(out[0]), int(out[2]), float(out[3])
        ours.append(o_samples / o_time)
        p_samples, p_time = run_peer(pq_ds)
        assert p_samples == o_samples == rows * EPOCHS, (p_samples, o_samples, rows)
        parquet_peer.append(p_samples / p_time)
        m_samples, m_time = run_peer(mp4_ds)
        mp4_peer.append(m_samples / m_time)
    o, a, b = statistics.median(ours), statistics.median(parquet_peer), statistics.median(mp4_peer)
    jpeg = "simplejpeg" if simplejpeg is not None else "PIL"
    print(f"\n{rows} clips (160x120, 32 frames), batch {BATCH}, T={T} at rate {TAU}, crop {CROP} "
          f"(short side {JITTER[0]}-{JITTER[1]}), flip, normalise; {EPOCHS} epochs, {WORKERS} threads / workers, "
          f"median of {REPEAT}; torch {torch.__version__}")
    print(f"{'measure':<52} {'clips/s':>9}")
    print(f"{'actionbench ClipSource (Parquet JPEG, zune-jpeg)':<52} {o:>9.1f}")
    print(f"{'peer a: DataLoader, pyarrow + ' + jpeg:<52} {a:>9.1f}   (ours {o / a:.2f}x)")
    print(f"{'peer b: DataLoader, PyAV mp4 decode (PySlowFast)':<52} {b:>9.1f}   (ours {o / b:.2f}x)")
    best = max(a, b)
    print(f"target: >= 3x the faster peer: {'met' if o / best >= 3 else 'MISSED'} ({o / best:.2f}x)")

    burn_mem, burn_loader = burn_step_ms(shard_dir)
    torch_ms = torch_step_ms()
    print(f"\nMViTv2-tiny training step on the CPU (batch {BATCH} x {T} frames x {CROP}^2, AdamW; "
          f"median of {STEPS}; {WORKERS} threads)")
    print(f"{'PyTorch eager':<44} {torch_ms:>9.1f} ms")
    print(f"{'Burn ndarray, fed from memory':<44} {burn_mem:>9.1f} ms   ({burn_mem / torch_ms:.2f}x PyTorch)")
    print(f"{'Burn ndarray, fed by the loader':<44} {burn_loader:>9.1f} ms   "
          f"({burn_loader / burn_mem:.3f}x the in-memory feed)")
    ratio = burn_mem / torch_ms
    print(f"target: Burn step <= 1.5x PyTorch eager: {'met' if ratio <= 1.5 else 'MISSED'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
