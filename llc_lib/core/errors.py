"""The base class of the errors the user can act on: the CLI prints such an error as one line and exits with 2."""

from __future__ import annotations


class UserError(RuntimeError):
    """A missing or malformed input (data, checkpoint, setting) or a diverged run; the message says which and what
    to do. ``engine.data.DataError``, ``engine.ckpt.CheckpointError``, ``engine.train.TrainingDiverged`` and
    ``core.paths.NotACheckout``."""
