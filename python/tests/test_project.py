"""Project: run, status, SQL, tables, Hugging Face export, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

import actionbench
from actionbench.project import _parse_cli_error


def test_import_names_the_version():
    assert actionbench.__version__.count(".") == 2
    assert set(actionbench.__all__) >= {"Project", "Loader", "log_metrics", "ActionbenchError"}


def test_rerun_is_cached_and_status_fresh(ntu_project):
    (report,) = ntu_project.run("p")
    assert report["stage"] == "skeletons" and report["status"] == "cached"
    (status,) = ntu_project.status("p")
    assert status["state"] == "fresh" and status["key"] == report["key"]


def test_sql_returns_a_pyarrow_table_that_agrees_with_the_shards(ntu_project):
    n = ntu_project.sql('SELECT count(*) AS n FROM p.skeletons').column("n")[0].as_py()
    dataset = ntu_project.table("p.skeletons")
    assert n == dataset.count_rows() > 0
    got = ntu_project.sql("SELECT sample_id, label FROM p.skeletons ORDER BY sample_id")
    assert isinstance(got, pa.Table)
    want = dataset.to_table(columns=["sample_id", "label"]).sort_by("sample_id")
    assert got.column("sample_id").to_pylist() == want.column("sample_id").to_pylist()
    assert got.column("label").to_pylist() == want.column("label").to_pylist()
    # No row still has the columns.
    empty = ntu_project.sql("SELECT sample_id FROM p.skeletons WHERE label < 0")
    assert empty.num_rows == 0 and empty.column_names == ["sample_id"]


def test_table_refuses_a_corrupt_shard(ntu_project, tmp_path):
    import shutil
    from pathlib import Path

    root = tmp_path / "copy"
    shutil.copytree(ntu_project.root, root)
    shard = Path(actionbench.Project(root).table("p.skeletons").files[0])
    assert shard.is_file() and root in shard.parents
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(actionbench.ActionbenchError) as e:
        actionbench.Project(root).table("p.skeletons")
    assert shard.name in str(e.value) and "blake3" in str(e.value)


def test_unknown_names_get_the_command_lines_hints(ntu_project):
    with pytest.raises(actionbench.ActionbenchError) as e:
        ntu_project.table("p.skeletonz")
    assert e.value.message == "pipeline `p` has no table `skeletonz`"
    assert "skeletons" in e.value.hint
    with pytest.raises(actionbench.ActionbenchError) as e:
        ntu_project.sql("SELECT nope FROM p.skeletons")
    assert "nope" in e.value.message
    with pytest.raises(actionbench.ActionbenchError) as e:
        actionbench.Project(ntu_project.root / "data")
    assert "pipelines/" in e.value.message and e.value.hint


def test_a_bad_pipeline_file_says_what_the_command_line_says(ntu_project, cli):
    bad = ntu_project.root / "pipelines" / "typo.toml"
    bad.write_text(
        '[stages.skeletons]\nuses = "ingest.ntu"\ninputs = ["data/ntu"]\nparams = { dataset = "ntu60", max-bodiez = 2 }\n'
    )
    try:
        with pytest.raises(actionbench.ActionbenchError) as e:
            ntu_project.run("typo")
        done = subprocess.run([str(cli), "run", "typo"], cwd=ntu_project.root, capture_output=True, text=True)
        assert done.returncode == 1
        want = _parse_cli_error(done.stderr, "actionbench run typo")
        assert e.value.message == want.message and "typo.toml:4:31" in e.value.message
        assert e.value.hint == want.hint and "Did you mean `max-bodies`?" in e.value.hint
        assert str(e.value).startswith(want.message)
    finally:
        bad.unlink()


def test_a_pipeline_with_video_kinds_runs_through_the_command_line(ntu_project):
    gen = ntu_project.root / "pipelines" / "gen.toml"
    gen.write_text('[stages.data]\nuses = "synth"\nparams = { preset = "tiny", seed = 1, formats = ["ntu"] }\n')
    try:
        (report,) = ntu_project.run("gen")
        assert report["stage"] == "data" and report["status"] == "ran"
        (status,) = ntu_project.status("gen")
        assert status["state"] == "fresh"
    finally:
        gen.unlink()
        (ntu_project.root / "pipelines" / "gen.lock").unlink()


def test_to_hf_gives_datasets_the_tensors_as_nested_lists(ntu_project):
    datasets = pytest.importorskip("datasets", reason="`datasets` is in scripts/requirements-test.txt")
    stored = ntu_project.table("p.skeletons").to_table().sort_by("sample_id")
    # What users hit without it: datasets cannot type the canonical tensor column.
    with pytest.raises(ValueError, match="does not have a datasets dtype equivalent"):
        datasets.Dataset(stored)
    ds = ntu_project.to_hf("p.skeletons").sort("sample_id")
    assert len(ds) == stored.num_rows
    assert ds.features["joints"] is not None
    joints = stored.column("joints").combine_chunks()
    storage = joints.storage if hasattr(joints, "storage") else joints
    for i in [0, len(ds) // 2, len(ds) - 1]:
        row = ds[i]
        assert row["sample_id"] == stored.column("sample_id")[i].as_py()
        shape = storage.field("shape")[i].as_py()
        data = np.asarray(storage.field("data")[i].as_py(), dtype=np.float32).reshape(shape)
        got = np.asarray(row["joints"], dtype=np.float32)
        assert got.shape == tuple(shape)
        np.testing.assert_array_equal(got, data)


def test_the_wheel_imports_in_a_fresh_interpreter():
    done = subprocess.run(
        [sys.executable, "-c", "import actionbench, sys; sys.stdout.write(actionbench.__version__)"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == actionbench.__version__
