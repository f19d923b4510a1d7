"""Loader: the Rust loader's batches, resumable, split across ranks."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest

import actionbench

from conftest import binary

CONFIG = {"frames": 16, "bodies": 2, "augment": True, "flip": True}


def epoch(loader):
    return [b for b in loader]


def rust_batches(project, tmp_path, batch, seed, rank=0, world=1, epoch_no=0):
    """One epoch from `dump_batches`, a Rust program over the same library."""
    shard_dir = project.table("p.skeletons").files[0].rsplit("/", 1)[0]
    out = tmp_path / f"rust-{batch}-{seed}-{rank}-{world}-{epoch_no}.parquet"
    exe = binary("dump_batches", examples=True)
    args = [str(exe), shard_dir, json.dumps(CONFIG), str(batch), str(seed), str(epoch_no), str(rank), str(world), str(out)]
    subprocess.run(args, check=True)
    table = pq.read_table(out)
    shape = json.loads(table.schema.field("joints").metadata[b"actionbench.shape"])
    batches = []
    for b in sorted(set(table.column("batch").to_pylist())):
        rows = table.filter(table.column("batch").to_numpy() == b)
        joints = rows.column("joints").combine_chunks().flatten().to_numpy().reshape([rows.num_rows, *shape])
        batches.append(
            {
                "sample_id": rows.column("sample_id").to_pylist(),
                "label": rows.column("label").to_numpy(),
                "joints": joints,
            }
        )
    return batches


def assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x["sample_id"] == y["sample_id"]
        np.testing.assert_array_equal(x["label"], y["label"])
        assert x["joints"].dtype == np.float32 and x["joints"].shape == y["joints"].shape
        np.testing.assert_array_equal(x["joints"], y["joints"])


def make(project, **kw):
    args = dict(source="skeleton", config=CONFIG, batch_size=4, seed=7)
    args.update(kw)
    return actionbench.Loader(project, "p.skeletons", **args)


def test_batches_equal_the_rust_loaders(ntu_project, tmp_path):
    py = epoch(make(ntu_project))
    rust = rust_batches(ntu_project, tmp_path, batch=4, seed=7)
    assert len(py) > 2
    assert_same(py, rust)
    # Augmentation and order depend on the seed.
    other = epoch(make(ntu_project, seed=8))
    assert [b["sample_id"] for b in other] != [b["sample_id"] for b in py]


def test_batches_are_numpy_views_without_a_copy(ntu_project):
    batch = next(iter(make(ntu_project)))
    joints = batch["joints"]
    assert joints.shape == (4, 3, 16, 25, 2)
    # A view of the Arrow buffer the loader filled (read-only, not owning its data).
    assert not joints.flags.owndata and not joints.flags.writeable
    assert batch["label"].dtype == np.int64 and len(batch["sample_id"]) == 4


def test_resume_mid_epoch_in_a_new_loader(ntu_project):
    whole = epoch(make(ntu_project))
    first = make(ntu_project)
    it = iter(first)
    head = [next(it), next(it)]
    state = first.state_dict()
    assert state == {"seed": 7, "epoch": 0, "position": 8}
    second = make(ntu_project)
    second.load_state_dict(state)
    assert_same(head + epoch(second), whole)
    # The same loader continues where `break` left it, then starts epoch 1.
    assert_same(head + epoch(first), whole)
    next_epoch = epoch(first)
    assert first.epoch == 1 and len(next_epoch) == len(whole)
    assert [b["sample_id"] for b in next_epoch] != [b["sample_id"] for b in whole]
    rust_next = make(ntu_project, epoch=1)
    assert_same(next_epoch, epoch(rust_next))


def test_a_state_from_another_seed_is_refused(ntu_project):
    loader = make(ntu_project)
    with pytest.raises(actionbench.ActionbenchError) as e:
        loader.load_state_dict({"seed": 1, "epoch": 0, "position": 0})
    assert "seed 1" in e.value.message and e.value.hint


def test_ranks_split_the_global_order(ntu_project, tmp_path):
    world = 2
    single = epoch(make(ntu_project, batch_size=8))
    ranks = [epoch(make(ntu_project, batch_size=4, rank=r, world_size=world)) for r in range(world)]
    assert len(ranks[0]) == len(ranks[1])
    for step, (a, b) in enumerate(zip(*ranks)):
        together = [s for pair in zip(a["sample_id"], b["sample_id"]) for s in pair]
        assert together == single[step]["sample_id"][: len(together)]
        # Each sample is augmented as in the single-process epoch.
        for r, part in enumerate((a, b)):
            np.testing.assert_array_equal(part["joints"], single[step]["joints"][r::world][: len(part["sample_id"])])
    assert_same(ranks[1], rust_batches(ntu_project, tmp_path, batch=4, seed=7, rank=1, world=world))


def test_bad_settings_are_errors_with_hints(ntu_project):
    with pytest.raises(actionbench.ActionbenchError) as e:
        make(ntu_project, config={"framez": 16})
    assert "framez" in e.value.message and e.value.hint
    with pytest.raises(actionbench.ActionbenchError) as e:
        make(ntu_project, source="video")
    assert "unknown source `video`" in e.value.message
    with pytest.raises(actionbench.ActionbenchError) as e:
        make(ntu_project, rank=2, world_size=2)
    assert "rank 2" in e.value.message
    with pytest.raises(actionbench.ActionbenchError) as e:
        make(ntu_project, filter="nope = 1")
    assert "nope" in str(e.value)
    with pytest.raises(actionbench.ActionbenchError) as e:
        make(ntu_project, filter="label < 0")
    assert "passes the filter" in e.value.message


def test_filter_selects_rows(ntu_project):
    labels = ntu_project.sql("SELECT DISTINCT label FROM p.skeletons ORDER BY label").column("label").to_pylist()
    keep = labels[0]
    batches = epoch(make(ntu_project, filter=f"label = {keep}"))
    seen = np.concatenate([b["label"] for b in batches])
    want = ntu_project.sql(f"SELECT count(*) AS n FROM p.skeletons WHERE label = {keep}").column("n")[0].as_py()
    assert (seen == keep).all() and len(seen) == want
