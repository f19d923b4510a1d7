"""log_metrics: a script's metrics in SQL, exp show and the leaderboard."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import actionbench

SCRIPT = """
import actionbench
actionbench.log_metrics(step=1, loss=0.5)
actionbench.log_metrics(step=2, loss=0.25, lr=0.1)
actionbench.log_metrics(split="xsub-val", top1=0.75)
open("out/torch/done.txt", "w").write("ok")
"""

PIPELINE = """
[stages.torch]
cmd = "{python} train.py"
deps = ["train.py"]
outs = ["out/torch/metrics", "out/torch/done.txt"]
"""

BENCHMARK = """
title = "A PyTorch script's metric"
tier = 0
pipeline = "m"
stages = ["torch"]
dataset = "none"
split = "xsub-val"
model = "script"

[protocol]
dataset-version = "none"
evaluation = "what the script logs"

[[metrics]]
name = "top1"
expected = 0.75
"""


@pytest.fixture(scope="module")
def metrics_project(tmp_path_factory, cli):
    root = tmp_path_factory.mktemp("metrics")
    (root / "pipelines").mkdir()
    (root / "train.py").write_text(SCRIPT)
    (root / "pipelines" / "m.toml").write_text(PIPELINE.format(python=sys.executable))
    project = actionbench.Project(root)
    (report,) = project.run("m")
    assert report["status"] == "ran"
    return project


def test_rows_reach_sql(metrics_project):
    got = metrics_project.sql(
        "SELECT run_id, pipeline, stage, split, metric, value, step FROM actionbench.metrics ORDER BY split, metric, step"
    ).to_pylist()
    (status,) = metrics_project.status("m")
    key = status["key"]
    rows = [(r["split"], r["metric"], r["value"], r["step"]) for r in got]
    assert rows == [
        ("train", "loss", 0.5, 1),
        ("train", "loss", 0.25, 2),
        ("train", "lr", 0.1, 2),
        ("xsub-val", "top1", 0.75, None),
    ]
    assert {(r["run_id"], r["pipeline"], r["stage"]) for r in got} == {(key, "m", "torch")}
    # The stage's own table, and the run's metrics for `exp show`.
    assert metrics_project.sql('SELECT count(*) AS n FROM m."torch_metrics"').column("n")[0].as_py() == 4
    run = metrics_project.sql(
        f"SELECT metric, value FROM actionbench.run_metrics WHERE run_id = '{key}' AND step IS NULL"
    ).to_pylist()
    assert run == [{"metric": "top1", "value": 0.75}]


def test_exp_show_and_the_leaderboard_read_them(metrics_project, cli):
    root = metrics_project.root
    shown = subprocess.run([str(cli), "exp", "show", "m"], cwd=root, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    header, row = shown.stdout.splitlines()[:2]
    columns = dict(zip(header.split(), row.split()))
    assert columns["stage"] == "torch" and columns["top1"] == "0.7500"
    bench = root / "benchmarks" / "torch-script"
    bench.mkdir(parents=True)
    (bench / "benchmark.toml").write_text(BENCHMARK)
    ran = subprocess.run([str(cli), "leaderboard", "run", "torch-script"], cwd=root, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    board = subprocess.run([str(cli), "leaderboard", "show"], cwd=root, capture_output=True, text=True)
    assert board.returncode == 0, board.stderr
    line = next(l for l in board.stdout.splitlines() if "torch-script" in l)
    assert "| top1 | 75.00 pt |" in line


def test_outside_a_stage_it_says_how_to_run_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACTIONBENCH_")}
    code = "import actionbench\ntry:\n    actionbench.log_metrics(loss=1.0)\nexcept actionbench.ActionbenchError as e:\n    print(e.message); print(e.hint)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert "outside a pipeline stage" in out.stdout and "cmd" in out.stdout
    env.update(ACTIONBENCH_PIPELINE="m", ACTIONBENCH_STAGE="torch", ACTIONBENCH_STAGE_KEY="00")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert "no `metrics` out" in out.stdout and 'outs = ["runs/torch/metrics"]' in out.stdout


def test_values_must_be_numbers():
    with pytest.raises(TypeError):
        actionbench.log_metrics(loss="low")
    with pytest.raises(ValueError):
        actionbench.log_metrics()
