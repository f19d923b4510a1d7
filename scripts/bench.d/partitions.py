"""Partitioned NTU ingest on the local SLURM cluster: 1, 2 and 4 parts.

The same `ingest.ntu` stage over the `large` preset's NTU files (written by
`actionbench synth large --formats ntu`; CLASSES=k keeps the first k of its
20 classes when the disk is short), run with `--executor slurm`:
- 1 part: one job (cpus = all of the node's);
- N parts: a job array of N tasks (cpus = node's / N each, so the node is
  full) and the stage's merge job after it.
Each run starts from a cache without the stage's output (the input
snapshots stay, so no run hashes the 50k files again). Printed per run:
wall time of the whole command, and where it goes: submit + status, the
array tasks (first start to last end, and each task's own time), the
merge, and the rest (SLURM scheduling, polls). The merged outputs must all
have the single run's hash.
"""

import json
import os
import shutil
import subprocess
import sys
import time

AB = os.environ["ACTIONBENCH_BIN"]
WORK = os.environ["BENCH_DIR"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARTS = [int(n) for n in os.environ.get("PARTS", "1,2,4").split(",")]
CLASSES = int(os.environ.get("CLASSES", "20"))
PRESET = os.environ.get("PRESET", "large")
CPUS = os.cpu_count() or 1


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw)


def main():
    project = os.path.join(WORK, "project")
    data = os.path.join(project, "data")
    marker = os.path.join(data, f".generated-{PRESET}-{CLASSES}")
    if not os.path.exists(marker):
        shutil.rmtree(data, ignore_errors=True)
        classes = []
        if CLASSES < 20:
            sh(AB, "synth", "tiny", "--formats", "ntu", "--out", os.path.join(WORK, "classes"), "-q")
            with open(os.path.join(WORK, "classes", "classes.txt")) as f:
                classes = [line.split("\t")[-1].strip() for line in f if line.strip()][:CLASSES]
        args = [AB, "synth", PRESET, "--formats", "ntu", "--out", data, "-q"]
        if classes:
            args += ["--classes", ",".join(classes)]
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        print(f"generated in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        open(marker, "w").close()
    skeletons = [os.path.join(d, f) for d, _, fs in os.walk(data) for f in fs if f.endswith(".skeleton")]
    files, size = len(skeletons), sum(os.path.getsize(p) for p in skeletons)
    print(f"input: {files} files, {size / 1e9:.2f} GB ({PRESET} preset, {CLASSES} of 20 classes)")
    conf = sh(os.path.join(ROOT, "scripts/lib/slurm-cluster"), "up").stdout.strip().split("=", 1)[1]
    env = dict(os.environ, SLURM_CONF=conf, ACTIONBENCH_NO_PROGRESS="1", ACTIONBENCH_SLURM_POLL_MS="200")
    os.makedirs(os.path.join(project, "pipelines"), exist_ok=True)
    cache = os.path.join(project, ".actionbench", "v1")

    def run(n, cpus, executor):
        """Writes the pipeline (`partitions = n`; `cpus` per job on SLURM),
        wipes the stage's output, runs it: wall seconds, the JSON report,
        the output's hash."""
        lines = ["[stages.ntu]", 'uses = "ingest.ntu"', 'inputs = ["data/ntu"]', 'params = { dataset = "ntu120" }']
        if executor == "slurm":
            lines.append(f"resources = {{ cpus = {cpus} }}")
        if n > 1:
            lines.append(f"partitions = {n}")
        with open(os.path.join(project, "pipelines", "p.toml"), "w") as f:
            f.write("\n".join(lines) + "\n")
        wipe()
        start = time.time()
        out = subprocess.run(
            [AB, "run", "p", "--executor", executor, "--format", "json"],
            cwd=project, env=env, text=True, capture_output=True,
        )
        wall = time.time() - start
        if out.returncode != 0:
            sys.exit(f"{executor}, {n} parts: run failed:\n{out.stdout}\n{out.stderr}")
        with open(os.path.join(project, "pipelines", "p.lock")) as f:
            line = next(l for l in f if "@cache" in l)
        out_hash = line.split("=", 1)[1].strip().strip('"')
        hashes.add(out_hash)
        return start, wall, json.loads(out.stdout)[0], out_hash

    def wipe():
        for sub in ["stages", "parts", "tmp"]:
            shutil.rmtree(os.path.join(cache, sub), ignore_errors=True)

    rows = []
    hashes = set()
    for n in PARTS:
        cpus = max(1, CPUS // n)
        start, wall, report, out_hash = run(n, cpus, "slurm")
        run_dir = os.path.dirname(report["log"])
        merge_seconds = report["seconds"]
        tasks, parts_span = [], 0.0
        if n > 1:
            results = [os.path.join(run_dir, f"ntu.part-{i}.json") for i in range(n)]
            for path in results:
                with open(path) as f:
                    tasks.append(json.load(f)["seconds"])
            # When the last array task ended: each writes its result then.
            parts_span = max(os.path.getmtime(p) for p in results) - start
        rows.append((n, cpus, wall, parts_span, tasks, merge_seconds))
        print(
            f"{n} part(s), cpus={cpus}: wall {wall:.1f} s; "
            + (f"array done at +{parts_span:.1f} s, tasks {', '.join(f'{t:.1f}' for t in tasks)} s; " if n > 1 else "")
            + f"{'merge' if n > 1 else 'stage'} job {merge_seconds:.1f} s; output {out_hash[:14]}",
            flush=True,
        )
    # The same stage in one process (`--executor local`), whole and in the
    # most parts: what SLURM's scheduling adds, and what the split itself costs.
    local = []
    for n in sorted({1, max(PARTS)}):
        _, wall, _, _ = run(n, CPUS, "local")
        local.append((n, wall))
        print(f"local executor, {n} part(s): wall {wall:.1f} s", flush=True)
    wipe()
    base = rows[0][2]
    print()
    print("| parts | cpus per job | wall (s) | vs 1 part | array tasks (s each) | stage / merge job (s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n, cpus, wall, _, tasks, merge in rows:
        t = ", ".join(f"{x:.1f}" for x in tasks) if tasks else "-"
        print(f"| {n} | {cpus} | {wall:.1f} | {wall / base:.2f}x | {t} | {merge:.1f} |")
    for n, wall in local:
        print(f"| {n} (local executor, threads) | {CPUS} | {wall:.1f} | {wall / base:.2f}x | - | - |")
    if len(hashes) != 1:
        sys.exit(f"outputs differ between runs: {hashes}")
    print(f"\nevery run wrote the same output ({hashes.pop()[:14]}...)")


if __name__ == "__main__":
    main()
