"""Stage engine vs DVC on a pipeline over N small input files.

Measures, side by side on the same files in one run: a cold `actionbench run`
(hashes every file), a no-op `actionbench status` and `actionbench run`, a
cold `dvc repro` and a no-op `dvc status`. Prints medians and ratios.
Targets (issue 2): no-op status <= 1 s at 100k files and >= 20x faster than
`dvc status`.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time

AB = os.environ["ACTIONBENCH_BIN"]
WORK = os.environ["BENCH_DIR"]
N = int(os.environ.get("N", "100000"))
REPEAT = int(os.environ.get("REPEAT", "5"))
ENV = dict(os.environ, ACTIONBENCH_NO_PROGRESS="1")


def ensure_dvc():
    if shutil.which("dvc"):
        return
    print("installing dvc with pip (once)...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "dvc"], check=True)


def sh(args, **kw):
    return subprocess.run(args, cwd=WORK, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def timed(args, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        sh(args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_project():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(os.path.join(WORK, "pipelines"))
    per_dir = 100
    for i in range(N):
        d = os.path.join(WORK, "data", f"d{i // per_dir:04d}")
        if i % per_dir == 0:
            os.makedirs(d)
        with open(os.path.join(d, f"f{i:06d}.txt"), "w") as f:
            f.write(f"sample {i}\n" * 8)
    with open(os.path.join(WORK, "pipelines", "bench.toml"), "w") as f:
        f.write(
            '[stages.count]\ncmd = "find data -type f | wc -l > out/ab-count.txt"\n'
            'deps = ["data"]\nouts = ["out/ab-count.txt"]\n'
        )
    with open(os.path.join(WORK, "dvc.yaml"), "w") as f:
        f.write(
            "stages:\n  count:\n    cmd: mkdir -p out && find data -type f | wc -l > out/dvc-count.txt\n"
            "    deps:\n      - data\n    outs:\n      - out/dvc-count.txt\n"
        )


def main():
    ensure_dvc()
    print(f"files: {N}  repeat: {REPEAT}  cores: {os.cpu_count()}  work dir: {WORK}", file=sys.stderr)
    make_project()
    sh(["dvc", "init", "--no-scm", "-q"])
    # Let new files age past the racy-timestamp window, as they would in use.
    time.sleep(2.5)

    ab_cold = timed([AB, "run", "bench"], 1)
    ab_status = timed([AB, "status", "bench"], REPEAT)
    ab_run = timed([AB, "run", "bench"], REPEAT)
    dvc_cold = timed(["dvc", "repro", "-q"], 1)
    dvc_status = timed(["dvc", "status", "-q"], max(3, REPEAT // 2))

    rows = [
        ("cold run (hash all inputs)", ab_cold, dvc_cold, "dvc repro"),
        ("no-op status", ab_status, dvc_status, "dvc status"),
        ("no-op run", ab_run, dvc_status, "dvc status"),
    ]
    print(f"\n{'measure':<28} {'actionbench':>12} {'dvc':>10}  {'ratio':>8}  peer command")
    for name, ours, theirs, peer in rows:
        print(f"{name:<28} {ours:>11.3f}s {theirs:>9.3f}s  {theirs / ours:>7.1f}x  {peer}")
    ok_abs = ab_status <= 1.0
    ok_ratio = dvc_status / ab_status >= 20
    print(f"\ntarget: no-op status <= 1 s at {N} files: {'met' if ok_abs else 'MISSED'} ({ab_status:.3f} s)")
    print(f"target: no-op status >= 20x faster than dvc status: {'met' if ok_ratio else 'MISSED'} ({dvc_status / ab_status:.1f}x)")


if __name__ == "__main__":
    main()
