"""Atomic file writes and the clean-up after interrupted writers; no torch, so that reports and results import
it cheaply."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import socket
from pathlib import Path
from typing import IO, Iterator


def _writer() -> str:
    """``<pid>@<host>``: this process, also on a folder that several machines share."""
    return f"{os.getpid()}@{socket.gethostname()}"


def tmp_path(path: Path) -> Path:
    """A temporary name beside ``path``, private to this process: ``.<name>.<pid>@<host>.tmp``."""
    return path.with_name(f".{path.name}.{_writer()}.tmp")


def staging_dir(folder: Path) -> Path:
    """A staging folder inside ``folder``, private to this process: ``.staging-<pid>@<host>``."""
    return Path(folder) / f".staging-{_writer()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


_LEFTOVER = re.compile(r"^(?:\..+\.|\.staging-)(\d+)@([^@]+?)(?:\.tmp(?:\..*)?)?$")


def sweep_leftovers(folder: Path | str) -> list[Path]:
    """Remove what an interrupted writer on this machine left in ``folder`` (not below it): temporary files
    ``.<name>.<pid>@<host>.tmp[.ext]`` and staging folders ``.staging-<pid>@<host>`` whose process no longer
    runs. Returns the removed paths; files of running processes, and of other machines, are left alone."""
    removed = []
    folder = Path(folder)
    for path in folder.iterdir() if folder.is_dir() else ():
        m = _LEFTOVER.match(path.name)
        if m and m.group(2) == socket.gethostname() and not _alive(int(m.group(1))):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class WriteError(OSError):
    """A file could not be written (a full disk, a quota, no permission): the message names the file, which
    is left as it was, and no temporary file of the write remains."""


def write_error(path: Path | str, e: OSError) -> WriteError:
    """The one-line WriteError for an OSError ``e`` raised while ``path`` was being written."""
    advice = "free space on that disk" if e.errno in (errno.ENOSPC, errno.EDQUOT) else "make the folder writable"
    return WriteError(
        f"could not write {path}: {e.strerror or e} (errno {e.errno}); it is left as it was, with no "
        f"temporary file beside it: {advice} and run the same command again"
    )


@contextlib.contextmanager
def atomic_file(path: Path | str, mode: str = "wb") -> Iterator[IO]:
    """A file open (``mode``: "wb" or "w") on ``path``'s temporary name (``tmp_path``), renamed to ``path``
    once the ``with`` block finishes. Whatever the block raises, the temporary file is removed and ``path``
    is left as it was; an OSError of the writing (a full disk, ...) is raised as a WriteError naming ``path``."""
    path = Path(path)
    tmp = tmp_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, mode) as f:
            yield f
        os.replace(tmp, path)
    except WriteError:
        raise
    except OSError as e:
        raise write_error(path, e) from e
    finally:
        tmp.unlink(missing_ok=True)


def write_json(obj, path: Path | str) -> None:
    """Write JSON atomically (``atomic_file``); floats of numpy types are written as floats."""
    text = json.dumps(obj, indent=2, default=float)
    with atomic_file(path, "w") as f:
        f.write(text)


def hash_array(h, a, name: str | None = None) -> None:
    """Feed ``h`` (a hashlib object) with an array: ``[name|]dtype|shape|`` then its C-order bytes (``a``: a numpy
    array or anything ``np.ascontiguousarray`` takes). The one layout of the project's array hashes."""
    import numpy as np

    a = np.ascontiguousarray(a)
    h.update(((f"{name}|" if name is not None else "") + f"{a.dtype.str}|{a.shape}|").encode())
    h.update(a.tobytes())


def file_digest(path: Path | str, algorithm: str = "sha256", chunk: int = 1 << 22) -> str:
    """Hex digest of the bytes of ``path`` (``hashlib`` algorithm name), read in chunks of ``chunk`` bytes."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
