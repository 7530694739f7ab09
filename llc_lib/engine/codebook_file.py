"""The codebook file that hands a codebook from Phase 1 (or a baseline) to Phase 2, as the official code's
``--save-codebook`` / ``--load-codebook``: an npz of the +-1 codes (and, for a baseline, its reals and projection),
stored with the hash of its content and of the weights it was made from, verified on load."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from ..core.files import atomic_file, hash_array
from ..kernels.codebooks import binarize
from .ckpt import CheckpointError
from .device import dist_info


def _content_sha256(arrays: dict) -> str:
    """SHA-256 (hex) of a codebook file's arrays: each name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        hash_array(h, arrays[name], name)
    return h.hexdigest()


def save_codebook(
    path: Path | str, reals, class_names=(), proj=None, source_sha256: str = "", book_key: str = ""
) -> None:
    """Write codes (int8 +-1), the underlying reals (float32) and optionally the instance projection
    ``proj`` (k, d) float32 to ``path`` (.npz), atomically. This file is the hand-off from Phase 1 (or a
    baseline construction) to Phase 2, as the official code's ``--save-codebook`` / ``--load-codebook``.

    source_sha256: the ``ckpt.state_digest`` of the weights the codebook was made from ('' for none), so a
    codebook that outlives its model is recognised. The file also stores ``content_sha256``, the hash of all
    its arrays, which ``load_codebook`` verifies. book_key: the run graph's key of the codebook spec ('' for
    none)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    reals = np.asarray(reals.detach().cpu() if isinstance(reals, torch.Tensor) else reals, dtype=np.float32)
    arrays = {
        "codes": binarize(reals),
        "reals": reals,
        "class_names": np.array(class_names, dtype=str),
        "source_sha256": np.array(source_sha256),
        "book_key": np.array(book_key),
    }
    if proj is not None:
        arrays["proj"] = np.asarray(proj, dtype=np.float32)
    with atomic_file(path) as f:  # a failed write (a full disk) is one WriteError naming ``path``
        np.savez(f, content_sha256=np.array(_content_sha256(arrays)), **arrays)


def load_codebook(path: Path | str, num_classes: int | None = None, bits: int | None = None) -> dict:
    """{'codes' (C, k) int8, 'reals' (C, k) float32, 'class_names', 'source_sha256', 'book_key' and
    'content_sha256' (str), and 'proj' (k, d) when saved} from ``save_codebook``. ValueError for an unreadable
    file, one whose arrays do not hash to its ``content_sha256`` (edited or corrupted), codes that are not
    ``binarize(reals)``, or, when asked, a wrong class count or bit width."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except Exception as e:
        raise ValueError(
            f"codebook file {path} could not be read ({type(e).__name__}: {e}); delete it and let it be made again"
        ) from e
    stored = str(out.pop("content_sha256", ""))
    if not stored or _content_sha256(out) != stored or not np.array_equal(out["codes"], binarize(out["reals"])):
        raise ValueError(
            f"codebook file {path} is corrupt or was edited (its arrays do not match the content "
            f"hash stored with them); delete it and let it be made again from its model"
        )
    out["source_sha256"], out["content_sha256"] = str(out["source_sha256"]), stored
    out["book_key"] = str(out.get("book_key", ""))
    c, k = out["codes"].shape
    if (num_classes is not None and c != num_classes) or (bits is not None and k != bits):
        raise ValueError(
            f"{path} holds a {c}-class {k}-bit codebook, expected {num_classes or c} classes and {bits or k} bits"
        )
    return out


def ensure_codebook(path: Path, make, source_sha256: str, book_key: str = "", same=None, rebuild: bool = True) -> dict:
    """The codebook file ``path``, read and verified (``load_codebook``). Rank 0 (re)writes it from ``make()`` (a dict
    with 'reals' and optionally 'class_names' and 'proj') when it is missing or stale: made from other weights than
    ``source_sha256``, for another codebook spec than ``book_key``, or failing ``same(found)``, so a codebook never
    outlives the model it came from. rebuild=False (an evaluation) makes a missing file, which follows from verified
    weights, but refuses a stale one with CheckpointError. Under torchrun every rank waits at a barrier and then
    raises what rank 0 met, so no rank hangs."""
    rank, world = dist_info()
    error = None
    if rank == 0:
        try:
            found = load_codebook(path) if path.exists() else None
            stale = found is not None and (
                found["source_sha256"] != source_sha256
                or found["book_key"] != book_key
                or (same is not None and not same(found))
            )
            if stale and not rebuild:
                raise CheckpointError(
                    f"{path} was made from another model than the current checkpoint; an "
                    f"evaluation does not rebuild it: run a training command (e.g. `make "
                    f"reproduce`) or delete it"
                )
            if stale:
                print(f"{path} was made from another model than the current checkpoint; rebuilding it")
            if found is None or stale:
                made = make()
                save_codebook(
                    path,
                    made["reals"],
                    made.get("class_names", ()),
                    proj=made.get("proj"),
                    source_sha256=source_sha256,
                    book_key=book_key,
                )
        except Exception as e:  # raised below, once every rank has passed the barrier
            error = e
    if world > 1:
        dist.barrier()
    if error is not None:
        raise error
    return load_codebook(path)
