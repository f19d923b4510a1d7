"""``Project``: a project's pipelines, tables and SQL from Python."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Sequence, Union

import pyarrow as pa

from . import _native
from .errors import ActionbenchError

PathLike = Union[str, "os.PathLike[str]"]


class Project:
    """The actionbench project at ``path`` (the directory holding ``pipelines/``).

    Everything runs in this process through the same engine, stage kinds and
    error messages as the ``actionbench`` command line, except pipelines with
    video stages (their kinds live in ``actionbench-ffmpeg``): ``run`` and
    ``status`` hand those to the ``actionbench`` executable (``$ACTIONBENCH_BIN``
    or on ``PATH``).
    """

    def __init__(self, path: PathLike = ".") -> None:
        root = Path(path).resolve()
        if not (root / "pipelines").is_dir():
            raise ActionbenchError(
                f"{root} is not an actionbench project: it has no `pipelines/` directory",
                "open the directory that holds `pipelines/` (where you run `actionbench run`)",
            )
        self.root = root

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"

    def run(self, pipeline: str, *stages: str, force: bool = False, set: Sequence[str] = ()) -> List[Dict[str, Any]]:
        """Brings ``stages`` (default: all) of ``pipeline`` up to date, like
        ``actionbench run PIPELINE STAGES… [--force] [-S …]``; returns one report
        per stage (``stage``, ``status``: ran / cached / failed, ``key``, ``seconds``). A failed stage
        raises ``ActionbenchError``."""
        try:
            out = _native.run(str(self.root), pipeline, list(stages), force, list(set))
        except ActionbenchError as e:
            if not e.needs_ffmpeg:
                raise
            args = ["run", pipeline, *stages] + (["--force"] if force else [])
            for s in set:
                args += ["-S", s]
            out = self._command_line(args, e)
        return json.loads(out)

    def status(self, pipeline: str, *stages: str) -> List[Dict[str, Any]]:
        """Which stages are stale and why, like ``actionbench status --format json``."""
        try:
            out = _native.status(str(self.root), pipeline, list(stages))
        except ActionbenchError as e:
            if not e.needs_ffmpeg:
                raise
            out = self._command_line(["status", pipeline, *stages], e)
        return json.loads(out)

    def sql(self, query: str) -> pa.Table:
        """Runs ``query`` over every table of the project (the catalog of
        ``actionbench sql``); the result arrives through the Arrow C stream
        interface, without a copy."""
        return pa.table(_native.sql(str(self.root), query))

    def table(self, name: str):
        """``PIPELINE.TABLE`` (a name ``actionbench sql`` shows) as a
        ``pyarrow.dataset.Dataset`` over its files, the shards checked against
        their index (size, and blake3 when they changed) first."""
        import pyarrow.dataset as ds

        fmt, files = _native.table_files(str(self.root), name)
        return ds.dataset([str(f) for f in files], format="csv" if fmt == "csv" else "parquet")

    def to_hf(self, name: str):
        """``PIPELINE.TABLE`` as a Hugging Face ``datasets.Dataset``: tensor
        columns (Arrow's canonical tensor types, which ``datasets`` cannot
        read) become nested lists, one level per dimension, so ``datasets``
        sees ``Sequence`` features; every other column is as stored."""
        try:
            import datasets
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ActionbenchError(
                "`to_hf` needs the `datasets` package", "pip install 'actionbench[hf]' (or `pip install datasets`)"
            ) from e
        table = pa.table(_native.hf_table(str(self.root), name))
        return datasets.Dataset(table)

    def _command_line(self, args: List[str], why: ActionbenchError) -> str:
        exe = os.environ.get("ACTIONBENCH_BIN") or shutil.which("actionbench")
        if not exe:
            raise ActionbenchError(
                why.message,
                "install the command line (`cargo install --path crates/actionbench-cli` and "
                "`crates/actionbench-ffmpeg`) or set ACTIONBENCH_BIN to the `actionbench` executable",
            ) from why
        done = subprocess.run(
            [exe, "--quiet", "--format", "json", *args], cwd=self.root, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise _parse_cli_error(done.stderr, " ".join(["actionbench", *args]))
        return done.stdout


def _parse_cli_error(stderr: str, command: str) -> ActionbenchError:
    """The command line's ``error: …`` / ``Caused by: …`` / ``hint: …`` lines as an exception."""
    message, hint, causes = None, None, []
    section = None
    for line in stderr.splitlines():
        if line.startswith("error: "):
            message, section = line[len("error: ") :], "message"
        elif line.strip().startswith("Caused by: "):
            causes.append(line.strip()[len("Caused by: ") :])
            section = "cause"
        elif line.startswith("hint: "):
            hint, section = line[len("hint: ") :], "hint"
        elif line and section == "message" and message is not None:
            message += "\n" + line
        elif line and section == "hint" and hint is not None:
            hint += "\n" + line
    if message is None:
        message = f"`{command}` failed: {stderr.strip()[-2000:]}"
    return ActionbenchError(message, hint, causes)
