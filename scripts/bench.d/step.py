"""Training step fed by the loader vs fed from memory, side by side in one
run (`bench_step`, an example of actionbench-train): both go through the
trainer; the in-memory feed hands it one collated batch again and again, the
loader feed reads a tracklet shard and windows, masks and collates on its
threads with bounded prefetch. Target: loader-fed <= 1.05x in-memory-fed.
Used by `scripts/bench loader` (CPU) and `scripts/bench gpu` (CUDA).
"""
import json
import subprocess


def loader_vs_memory(binary, device, *args):
    out = subprocess.run([binary, "--device", device, *args], check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.strip().splitlines()]
    feeds = {r["feed"]: r for r in rows if "feed" in r}
    mem, load = feeds["in-memory"], feeds["loader"]
    ratio = load["median_ms"] / mem["median_ms"]
    print(f"\nLART training step ({mem['backend']}; batch {mem['batch']} x {mem['frames']} frames x "
          f"{mem['people']} people; median of {mem['steps']} steps)")
    print(f"{'fed from memory (batches made before timing)':<44} {mem['median_ms']:>9.2f} ms")
    print(f"{'fed by the loader (shard -> windows)':<44} {load['median_ms']:>9.2f} ms   ({ratio:.3f}x)")
    print(f"target: loader-fed step <= 1.05x the in-memory-fed step: {'met' if ratio <= 1.05 else 'MISSED'} "
          f"({ratio:.3f}x)")
    return ratio
