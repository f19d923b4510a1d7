"""Fixtures: a project with NTU skeleton shards made by the `actionbench`
command line (built by `cargo build`, found in `$CARGO_TARGET_DIR/debug` or
`target/debug`, or named by `$ACTIONBENCH_BIN`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")


def binary(name: str, examples: bool = False) -> Path:
    """A binary of the workspace's debug build; fails (never skips) when missing."""
    if name == "actionbench" and os.environ.get("ACTIONBENCH_BIN"):
        return Path(os.environ["ACTIONBENCH_BIN"])
    path = target_dir() / "debug" / ("examples" if examples else "") / name
    if not path.is_file():
        build = f"cargo build -p actionbench-loader --example {name}" if examples else "cargo build --workspace"
        pytest.fail(f"{path} is missing: run `{build}` first (scripts/test does)")
    return path


@pytest.fixture(scope="session")
def cli() -> Path:
    exe = binary("actionbench")
    # Project.run hands pipelines with video kinds to the command line.
    os.environ["ACTIONBENCH_BIN"] = str(exe)
    os.environ.setdefault("ACTIONBENCH_NO_PROGRESS", "1")
    return exe


SKELETONS = """
[stages.skeletons]
uses = "ingest.ntu"
inputs = ["data/ntu"]
params = { dataset = "ntu60", max-bodies = 2 }
"""


@pytest.fixture(scope="session")
def ntu_project(tmp_path_factory, cli):
    """A project whose `p` pipeline ingested the generator's `tiny` NTU files
    (run in this process through `Project.run`)."""
    import actionbench

    root = tmp_path_factory.mktemp("project")
    (root / "pipelines").mkdir()
    subprocess.run(
        [str(cli), "--quiet", "synth", "tiny", "--formats", "ntu", "--out", str(root / "data")],
        check=True,
        capture_output=True,
    )
    (root / "pipelines" / "p.toml").write_text(SKELETONS)
    project = actionbench.Project(root)
    reports = project.run("p")
    assert [r["stage"] for r in reports] == ["skeletons"]
    return project
