"""Writes PHALP-like results files with joblib (used by `scripts/bench tracklets`
and by the actionbench-formats tests).

    python3 phalp_like.py OUT_DIR GENERATION N_FILES N_FRAMES N_PEOPLE [SEED]

GENERATION: `current` (GitHub PHALP: zlib level 3, `frame_path`, `camera_bbox`,
numpy scalars) or `cvpr22` (PyPI phalp 0.1.3: uncompressed, `mask_name`, a
torch-style `embedding` pickled through `torch._utils._rebuild_tensor_v2`).
Track p is detected in every frame except frames where (k + p) % 7 == 3 (gaps);
frame k of video v has key `vidNNN/img/{k+1:06d}.jpg`.
"""

import sys
import types

import joblib
import numpy as np


def fake_torch():
    """A stand-in for torch tensors: pickles as `torch._utils._rebuild_tensor_v2(...)`."""
    mod = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        return args

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    mod._rebuild_tensor_v2 = _rebuild_tensor_v2
    sys.modules.setdefault("torch", types.ModuleType("torch"))
    sys.modules["torch._utils"] = mod

    class Tensor:
        def __init__(self, n):
            self.n = n

        def __reduce__(self):
            return (_rebuild_tensor_v2, (self.n, (self.n,), False))

    return Tensor


def video(rng, generation, frames, people, Tensor):
    out = {}
    for k in range(frames):
        key = f"img/{k + 1:06d}.jpg"
        d = {"time": k, "shot": 0, "tid": [], "bbox": [], "tracked_time": [], "tracked_ids": [], "tracked_bbox": []}
        if generation == "current":
            d["frame_path"] = key
        per = {n: [] for n in ["center", "scale", "size", "img_path", "img_name", "conf", "smpl", "camera", "3d_joints", "appe"]}
        if generation == "current":
            for n in ["class_name", "camera_bbox", "annotations", "extra_data"]:
                per[n] = []
        else:
            per["mask_name"] = []
            per["embedding"] = []
        for p in range(people):
            detected = (k + p) % 7 != 3
            d["tid"].append(p + 1)
            box = np.array([10 + 50 * p + k, 20 + k, 40, 90], dtype=np.float32)
            d["bbox"].append(box)
            d["tracked_time"].append(0 if detected else 1)
            if detected:
                d["tracked_ids"].append(p + 1)
                d["tracked_bbox"].append(box)
            per["center"].append(np.array([box[0] + 20, box[1] + 45], dtype=np.float32))
            per["scale"].append(np.array([40, 90], dtype=np.float32))
            per["size"].append([480, 640])
            per["img_path"].append(key)
            per["img_name"].append(key.split("/")[-1])
            per["conf"].append(np.float32(0.9 - 0.01 * p) if generation == "current" else 0.9 - 0.01 * p)
            per["smpl"].append({
                "global_orient": rng.random((1, 3, 3), dtype=np.float32),
                "body_pose": rng.random((23, 3, 3), dtype=np.float32),
                "betas": rng.random(10, dtype=np.float32),
            })
            per["camera"].append(np.array([0.1 * p, 0.2, 40.0 + k], dtype=np.float32))
            per["3d_joints"].append(rng.random((45, 3), dtype=np.float32))
            per["appe"].append(rng.random(64, dtype=np.float32))
            if generation == "current":
                per["class_name"].append(np.int64(0))
                per["camera_bbox"].append(np.array([1.0, 0.0, 0.1], dtype=np.float32))
                per["annotations"].append([])
                per["extra_data"].append(p)
            else:
                per["mask_name"].append(f"mask_{k}_{p}.png")
                per["embedding"].append(Tensor(8))
        d.update(per)
        out[key] = d
    return out


def main():
    out_dir, generation, n_files, frames, people = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    seed = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    rng = np.random.default_rng(seed)
    Tensor = fake_torch()
    for v in range(n_files):
        data = video(rng, generation, frames, people, Tensor)
        data = {f"vid{v:03d}/{k}": d for k, d in data.items()}
        for d in data.values():
            if "frame_path" in d:
                d["frame_path"] = [k for k, x in data.items() if x is d][0]
        compress = 3 if generation == "current" else 0
        joblib.dump(data, f"{out_dir}/demo_vid{v:03d}.pkl", compress=compress)


if __name__ == "__main__":
    main()
