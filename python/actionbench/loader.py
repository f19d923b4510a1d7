"""``Loader``: the Rust loader's batches as numpy arrays."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator, Mapping, Optional, Union

import numpy as np
import pyarrow as pa

from . import _native
from .project import Project

_SHAPE_KEY = b"actionbench.shape"


class Loader:
    """Deterministic, resumable, augmented batches of a shard table.

    ``table`` is ``PIPELINE.TABLE`` (e.g. ``"ntu60-xsub.skeletons"``) or a shard
    directory (what ``{@skeletons}`` expands to in a ``cmd``);
    ``source`` picks the decoder (``"skeleton"``, ``"tracklet"`` or ``"clip"``)
    and ``config`` its settings, with the keys of a ``train`` stage's
    ``data.skeleton`` / ``data.tracklet`` / ``data.clip`` tables (e.g.
    ``{"frames": 64, "augment": True}``). ``filter`` is an SQL ``WHERE`` clause.

    The sample order is a pure function of (``seed``, epoch, position) and
    every sample's augmentation of (``seed``, epoch, sample): the batches are
    those of a ``train`` stage with the same table, filter, config, batch size
    and seed, for any thread count. ``rank`` / ``world_size`` split each epoch
    for data-parallel training (rank ``r`` takes global positions ``r, r +
    world_size, …``; the last ``n mod world_size`` samples are dropped so every
    rank has as many batches), so step ``k`` of all ranks together covers the
    positions one process would see at that step with ``batch_size *
    world_size``.

    Iterating yields one epoch of dicts: ``sample_id`` (list of str), ``label``
    (int64 ``[N]``), each tensor of the source (float32, e.g. ``joints`` ``[N, 3,
    T, 25, M]``), ``multi_labels`` when the source has them, and ``mask`` (task
    → bool ``[N]``) for mixtures. Tensor arrays are read-only views of the
    loader's buffers (no copy). The next ``for`` continues the epoch where a
    ``break`` left it, or starts the next epoch after a finished one;
    ``state_dict()`` / ``load_state_dict()`` resume mid-epoch in a new process.
    Use it where a ``torch.utils.data.DataLoader`` would go: decoding runs on
    Rust threads (``threads``, 0 = one per core) and ``prefetch`` batches ahead.
    """

    def __init__(
        self,
        project: Union[Project, str, "os.PathLike[str]"],
        table: str,
        *,
        filter: Optional[str] = None,
        source: str = "skeleton",
        config: Optional[Mapping[str, Any]] = None,
        batch_size: int = 32,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        drop_last: bool = False,
        threads: int = 0,
        prefetch: int = 2,
        epoch: int = 0,
    ) -> None:
        if not isinstance(project, Project):
            project = Project(project)
        self.project = project
        self.table = table
        self.seed = int(seed)
        self._native = _native.NativeLoader(
            str(project.root),
            table,
            source,
            json.dumps(dict(config or {})),
            int(batch_size),
            self.seed,
            int(epoch),
            int(rank),
            int(world_size),
            filter,
            bool(shuffle),
            bool(drop_last),
            int(threads),
            int(prefetch),
        )

    def __len__(self) -> int:
        """Batches per epoch (of this rank)."""
        return self._native.batches_per_epoch()

    @property
    def epoch(self) -> int:
        return self._native.state()[1]

    def set_epoch(self, epoch: int) -> None:
        """Starts ``epoch`` from its first batch at the next iteration."""
        self._native.resume(self.seed, int(epoch), 0)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        native = self._native
        seed, epoch, position = native.state()
        if position > 0 and native.remaining_batches() == 0:
            native.resume(seed, epoch + 1, 0)
        while True:
            stream = native.next_batch()
            if stream is None:
                return
            reader = pa.RecordBatchReader.from_stream(stream)
            yield _to_numpy(reader.read_next_batch())

    def state_dict(self) -> Dict[str, int]:
        """Where the loader is: after a batch, enough to continue right after it."""
        seed, epoch, position = self._native.state()
        return {"seed": seed, "epoch": epoch, "position": position}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Continues from a saved ``state_dict()`` (same table, filter, config and batch settings)."""
        self._native.resume(int(state["seed"]), int(state["epoch"]), int(state["position"]))


def _to_numpy(rb: pa.RecordBatch) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    masks: Dict[str, np.ndarray] = {}
    for field, column in zip(rb.schema, rb.columns):
        name = field.name
        if name == "sample_id":
            out[name] = column.to_pylist()
        elif name.startswith("mask."):
            masks[name[len("mask.") :]] = column.to_numpy(zero_copy_only=False)
        elif field.metadata and _SHAPE_KEY in field.metadata:
            shape = json.loads(field.metadata[_SHAPE_KEY])
            out[name] = column.flatten().to_numpy(zero_copy_only=True).reshape(shape)
        else:
            out[name] = column.to_numpy(zero_copy_only=True)
    if masks:
        out["mask"] = masks
    return out
