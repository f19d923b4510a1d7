"""actionbench from Python: run a project's pipelines, query its tables with
SQL (as ``pyarrow.Table``), feed PyTorch from the Rust loader (the same
batches as a ``train`` stage for the same seed), and log a script's metrics
where ``actionbench sql``, ``exp show`` and the leaderboard see them.

    import actionbench
    project = actionbench.Project(".")
    project.run("ntu60-xsub", "skeletons")
    loader = actionbench.Loader(project, "ntu60-xsub.skeletons", filter="xsub = 'train'",
                                source="skeleton", config={"frames": 32}, batch_size=16, seed=0)
    for batch in loader:
        joints = batch["joints"]          # numpy float32 [16, 3, 32, 25, 2], no copy
        labels = batch["label"]           # numpy int64 [16]
"""

from __future__ import annotations

from . import _native
from .errors import ActionbenchError
from .loader import Loader
from .metrics import log_metrics
from .project import Project

__version__ = _native.__version__

__all__ = ["ActionbenchError", "Loader", "Project", "log_metrics", "__version__"]
