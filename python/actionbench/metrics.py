"""``log_metrics``: a script's metrics in its stage's ``metrics`` table."""

from __future__ import annotations

import math
import numbers
from typing import Optional

from . import _native


def log_metrics(step: Optional[int] = None, split: str = "train", **values: float) -> str:
    """Appends one row per value to the current stage's ``metrics`` table.

    Call it from a script a ``cmd`` stage runs, whose ``outs`` include a
    directory named ``metrics`` (e.g. ``outs = ["runs/torch/metrics"]``).
    Rows have the columns of a ``train`` stage's table (``run_id`` is the
    stage key): per-step values with ``step``, final values without (those
    are what the leaderboard and ``exp show`` read). The table is rewritten
    on every call, so a killed script leaves the rows logged before it.

    Returns the table's directory.

        actionbench.log_metrics(step=100, loss=0.71)
        actionbench.log_metrics(split="xsub-val", top1=0.84)
    """
    if not values:
        raise ValueError("log_metrics needs at least one value, e.g. log_metrics(loss=0.5)")
    rows = []
    for name, value in values.items():
        if value is None:
            v = None
        elif isinstance(value, numbers.Real) or hasattr(value, "item"):
            v = float(value.item() if hasattr(value, "item") else value)
            if math.isnan(v):
                v = None
        else:
            raise TypeError(f"log_metrics: `{name}` is {type(value).__name__}, not a number")
        rows.append((str(split), str(name), v, None if step is None else int(step)))
    return str(_native.log_metrics(rows))
