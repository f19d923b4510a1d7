"""PHALP tracklets: file ingest, side by side.

On the same generated PHALP-like files (current generation: zlib joblib, as
PHALP writes them), in one run: `ingest.phalp` (read + cut into tracks + per-
track arrays + Parquet shards) vs Python `joblib.load` + numpy packing into
the same per-track arrays (LART's `get_tracks` + `create_fast_tracklets`
approach, without writing anything) — target >= 5x.
"""

import os
import shutil
import subprocess
import sys
import time

import joblib
import numpy as np

AB = os.environ["ACTIONBENCH_BIN"]
WORK = os.environ["BENCH_DIR"]
N = int(os.environ.get("N", "50"))
FRAMES = int(os.environ.get("FRAMES", "300"))
PEOPLE = int(os.environ.get("PEOPLE", "4"))
REPEAT = int(os.environ.get("REPEAT", "3"))
ENV = dict(os.environ, ACTIONBENCH_NO_PROGRESS="1")
HERE = os.path.dirname(os.path.abspath(__file__))


def pack(path):
    """joblib.load + per-track numpy arrays (frame, bbox, conf, pose229, joints, appearance, has_detection)."""
    data = joblib.load(path)
    keys = list(data)
    ids = sorted({i for k in keys for i in data[k]["tracked_ids"]})
    out = []
    for tid in ids:
        hits = []
        for fi, k in enumerate(keys):
            d = data[k]
            for i, t in enumerate(d["tid"]):
                if t == tid:
                    if d["tracked_time"][i] == 0:
                        hits.append((fi, i))
                    break
        first, last = hits[0][0], hits[-1][0]
        n = last - first + 1
        frame = np.array([data[keys[f]]["time"] for f in range(first, last + 1)], dtype=np.int64)
        bbox = np.zeros((n, 4), np.float32)
        conf = np.zeros(n, np.float32)
        pose = np.zeros((n, 229), np.float32)
        joints = np.zeros((n, 45, 3), np.float32)
        appe = np.zeros((n, 64), np.float32)
        det = np.zeros(n, np.uint8)
        for fi, i in hits:
            d, t = data[keys[fi]], fi - first
            s = d["smpl"][i]
            cam = d["camera"][i].reshape(-1).copy()
            cam[2] /= 200.0
            pose[t] = np.concatenate([s["global_orient"].reshape(-1), s["body_pose"].reshape(-1), s["betas"].reshape(-1), cam])
            bbox[t], conf[t], joints[t], appe[t], det[t] = d["bbox"][i], d["conf"][i], d["3d_joints"][i], d["appe"][i], 1
        out.append((frame, bbox, conf, pose, joints, appe, det))
    return out


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    raw = os.path.join(WORK, "data", "phalp")
    os.makedirs(raw)
    os.makedirs(os.path.join(WORK, "pipelines"))
    print(f"generating {N} PHALP-like files ({FRAMES} frames, {PEOPLE} people) in {raw}...", file=sys.stderr)
    subprocess.run([sys.executable, os.path.join(HERE, "phalp_like.py"), raw, "current", str(N), str(FRAMES), str(PEOPLE)], check=True)
    with open(os.path.join(WORK, "pipelines", "t.toml"), "w") as f:
        f.write('[stages.tracks]\nuses = "ingest.phalp"\ninputs = ["data/phalp"]\n')
    files = sorted(os.path.join(raw, f) for f in os.listdir(raw))
    ours, theirs = [], []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run([AB, "run", "t", "--force"], cwd=WORK, env=ENV, check=True, capture_output=True)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        tracks = [pack(p) for p in files]
        theirs.append(time.perf_counter() - start)
    o, t = min(ours), min(theirs)
    print(f"{'benchmark':<40} {'actionbench':>12} {'peer':>12} {'ratio':>8}  peer / target")
    print(f"{'PHALP ingest (' + str(N) + ' files)':<40} {o:>11.3f}s {t:>11.3f}s {t / o:>7.1f}x  "
          f"joblib.load + numpy packing ({sum(len(x) for x in tracks)} tracks) / >= 5x")


if __name__ == "__main__":
    main()
