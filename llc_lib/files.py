"""Atomic file writes and the clean-up after interrupted writers; no torch, so that reports and results import
it cheaply."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
from pathlib import Path


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


def write_json(obj, path: Path | str) -> None:
    """Write JSON atomically (temp file + rename); floats of numpy types are written as floats."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    tmp.write_text(json.dumps(obj, indent=2, default=float))
    os.replace(tmp, path)


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
