"""The one exception type: what ``actionbench`` would print after ``error:``,
its causes, and the ``hint:`` that says how to fix it."""

from __future__ import annotations

from typing import Optional, Sequence


class ActionbenchError(Exception):
    """An error of the toolkit, with the message and hint the command line prints.

    Attributes:
        message: the error (with the file and position when it has one).
        hint: how to fix it, or ``None``.
        causes: the chain of underlying errors, outermost first.
    """

    def __init__(
        self,
        message: str,
        hint: Optional[str] = None,
        causes: Sequence[str] = (),
        needs_ffmpeg: bool = False,
    ) -> None:
        self.message = message
        self.hint = hint
        self.causes = list(causes)
        # Set when a pipeline uses a kind only `actionbench-ffmpeg` runs:
        # `Project.run` then runs the command line.
        self.needs_ffmpeg = needs_ffmpeg
        super().__init__(message)

    def __str__(self) -> str:
        text = self.message
        for cause in self.causes:
            text += f"\n  Caused by: {cause}"
        if self.hint:
            text += f"\n\nhint: {self.hint}"
        return text
