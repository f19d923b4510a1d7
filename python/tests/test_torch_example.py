"""The PyTorch example pipeline (pipelines/ntu60-xsub-torch.toml), shrunk to
the `tiny` preset, one seed and one epoch. Runs only where `torch` is
installed: CI installs the wheel and numpy, not torch (several GB)."""

from __future__ import annotations

import shutil

import pytest

import actionbench

from conftest import REPO

torch = pytest.importorskip("torch", reason="the PyTorch example needs `torch` (not installed in CI)")


def test_the_torch_pipeline_trains_evaluates_and_logs(tmp_path, cli):
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "examples" / "python").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "python" / "stgcn_torch.py", tmp_path / "examples" / "python")
    text = (REPO / "pipelines" / "ntu60-xsub-torch.toml").read_text()
    small = (
        text.replace('preset = "small"', 'preset = "tiny"')
        .replace("seed = [0, 1, 2]", "seed = [0]")
        .replace("--epochs 6", "--epochs 1")
    )
    assert small.count("seed = [0]") == 2 and "--epochs 1" in small
    (tmp_path / "pipelines" / "ntu60-xsub-torch.toml").write_text(small)
    project = actionbench.Project(tmp_path)
    reports = project.run("ntu60-xsub-torch")
    assert {r["stage"]: r["status"] for r in reports} == {
        "data": "ran", "skeletons": "ran", "train@seed=0": "ran", "eval@seed=0": "ran",
    }
    rows = project.sql(
        "SELECT stage, split, metric, value, step FROM actionbench.metrics "
        "WHERE pipeline = 'ntu60-xsub-torch' ORDER BY stage, split, metric, step"
    ).to_pylist()
    final = {(r["stage"], r["split"], r["metric"]): r["value"] for r in rows if r["step"] is None}
    # eval.classify scores the script's predictions: the same top-1 it logged.
    assert final[("eval@seed=0", "xsub-val", "top1")] == pytest.approx(final[("train@seed=0", "xsub-val", "top1")])
    assert any(r["stage"] == "train@seed=0" and r["metric"] == "loss" and r["step"] for r in rows)
    # The loss curve starts near ln(60) (uniform over 60 classes).
    first = next(r for r in rows if r["metric"] == "loss" and r["step"])
    assert 1.0 < first["value"] < 8.0
