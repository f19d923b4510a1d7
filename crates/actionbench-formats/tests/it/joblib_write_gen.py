import sys, joblib, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(0)
frame = lambda k: {
    "time": k, "shot": 0, "tid": [1, 2],
    "bbox": [rng.random(4, dtype=np.float32), rng.random(4, dtype=np.float32)],
    "conf": [np.float32(0.875), np.float32(0.5)], "class_name": [np.int64(0), np.int64(0)],
    "smpl": [{"global_orient": rng.random((1, 3, 3), dtype=np.float32), "betas": rng.random(10, dtype=np.float32)}],
    "size": [[480, 640]],
}
d = {
    "frames": {f"img/{k:06d}.jpg": frame(k) for k in range(3)},
    "ints": [0, 255, 256, 65535, 65536, -1, -2**31, 2**31, -2**31 - 1, 2**40, 2**63 - 1, -2**63, 2**70, -2**70],
    "floats": [0.5, -1e300, float("inf")],
    "misc": (None, True, False, b"", b"x", b"bytes!", "t" * 300, (1,), (1, 2, 3, 4)),
    "set": {1, 2, 3},
    "big": np.arange(20000, dtype=np.float64).reshape(100, 200),
    "long_list": list(range(2500)),
    "dtypes": [np.zeros(3, dtype=t) + 1 for t in ("b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16")],
    "scalar0d": np.array(3.5, dtype=np.float32),
    "text": np.array(["ab", "cde"]), "raw": np.array([b"ab", b"c"]),
    "objects": np.array([1, None, "x"], dtype=object),
    "empty": np.zeros((0, 4), dtype=np.float32), "big_bytes": b"\x01" * 70000,
    "big_str": "y" * 70000,
}
joblib.dump(d, out + "/py0.pkl", compress=0)
joblib.dump(d, out + "/py3.pkl", compress=3)
