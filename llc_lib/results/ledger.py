"""The ledger of measurements: docs/measurements/ledger.json is the one source of what was measured, and
docs/measurements/README.md, its index, is rendered from it by ``python -m llc_lib docs`` (``make docs``);
the index is never edited by hand. No torch: the docs command and the tests import it cheaply.

The rule. Each entry is one measurement: ``id``, the ``question`` it answers, the ``command`` (one or more
lines) that made its results, the committed ``results`` (results files and logs), the ``scripts`` of
docs/measurements/logs/ it ran, the names of the logs that ``docs/measurements/logs/run.py NAME`` prints again
from committed files (``print``), the ``note`` that reads the results, the ``date``, the kind of ``host``, and
its ``status``:

- "current": the latest answer to its question; its note is kept;
- "superseded": a later measurement, ``superseded_by`` (an id), answers the question now;
- "one-off": a check of one day that nothing replaces and no reader needs any more.

Every note (a .md page) of docs/measurements/ but the index has exactly one current entry. A superseded or
one-off note may be removed from the tree; its entry then names in ``read_at`` a commit that holds it (``git
show READ_AT:NOTE``), so that history stays findable without the files. Every other path an entry names
exists, and every name in ``print`` is a committed log. ``problems`` lists what breaks the rule, and the index
is rendered only from a ledger without any. A note quotes only numbers that the files of its entries state
(``pages.page_strays``; tests/test_docs.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.files import atomic_file

LEDGER = Path("docs/measurements/ledger.json")
INDEX = Path("docs/measurements/README.md")
LOGS = Path("docs/measurements/logs")
STATUSES = ("current", "superseded", "one-off")
FIELDS = (
    "id",
    "question",
    "command",
    "results",
    "scripts",
    "print",
    "note",
    "date",
    "host",
    "status",
    "superseded_by",
    "read_at",
)
LISTS = ("command", "results", "scripts", "print")


def load(repo: Path | str) -> list[dict]:
    """The entries of the repository's ledger, in its order."""
    return json.loads((Path(repo) / LEDGER).read_text())["measurements"]


def problems(repo: Path | str, entries: list[dict] | None = None) -> list[str]:
    """What in ``entries`` (default: the repository's ledger) breaks the rule of this module, one line each."""
    repo = Path(repo)
    entries = load(repo) if entries is None else entries
    out = []
    ids = [e.get("id") for e in entries]
    out += [f"id {i!r} is used {ids.count(i)} times" for i in sorted(set(ids), key=str) if ids.count(i) > 1]
    for e in entries:
        name = f"entry {e.get('id')!r}"
        if set(e) != set(FIELDS):
            out.append(f"{name}: fields {sorted(set(e) ^ set(FIELDS))} missing or unknown (fields: {FIELDS})")
            continue
        if any(not isinstance(e[f], list) for f in LISTS) or not all(e[f] for f in ("id", "question", "command")):
            out.append(f"{name}: {', '.join(LISTS)} must be lists, and id, question and command given")
            continue
        if e["status"] not in STATUSES:
            out.append(f"{name}: status {e['status']!r} is none of {STATUSES}")
        if (e["status"] == "superseded") != (e["superseded_by"] is not None):
            out.append(f"{name}: superseded_by is given exactly when the status is superseded")
        elif e["superseded_by"] is not None and e["superseded_by"] not in ids:
            out.append(f"{name}: superseded_by {e['superseded_by']!r} is no id of the ledger")
        if e["status"] == "current" and e["read_at"] is not None:
            out.append(f"{name}: a current entry's note is in the tree; read_at is for removed notes")
        note_here = bool(e["note"]) and (repo / e["note"]).is_file()
        if not e["note"]:
            out.append(f"{name}: no note")
        elif not note_here and not (e["status"] != "current" and e["read_at"]):
            out.append(
                f"{name}: note {e['note']} does not exist"
                + ("" if e["status"] == "current" else " (a removed note needs read_at)")
            )
        elif note_here and e["read_at"]:
            out.append(f"{name}: read_at is given but the note {e['note']} is still in the tree")
        for path in e["results"] + e["scripts"]:
            if not (repo / path).is_file():
                out.append(f"{name}: {path} does not exist")
        for log in e["print"]:
            if not (repo / LOGS / f"{log}.log").is_file():
                out.append(f"{name}: print names {log}, but {LOGS}/{log}.log does not exist")
    current = {}
    for e in entries:
        if e.get("status") == "current" and e.get("note"):
            current.setdefault(e["note"], []).append(e.get("id"))
    notes = sorted(p.relative_to(repo).as_posix() for p in (repo / INDEX.parent).glob("*.md") if p.name != INDEX.name)
    for note in notes:
        if len(current.get(note, [])) != 1:
            out.append(
                f"note {note} has {len(current.get(note, []))} current entries ({current.get(note, [])}); "
                f"it needs exactly one"
            )
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _link(path: str, label: str | None = None) -> str:
    rel = os.path.relpath(path, INDEX.parent.as_posix()).replace(os.sep, "/")
    return f"[{_cell(label or Path(path).name)}]({rel})"


def _row(e: dict, by_id: dict) -> str:
    removed = e["status"] != "current" and e["read_at"]
    name = f"**{e['id']}**<br>" + (f"removed: `git show {e['read_at']}:{e['note']}`" if removed else _link(e["note"]))
    command = "<br>".join(f"`{_cell(c)}`" for c in e["command"])
    command += "".join(f"<br>again: `run.py {_cell(p)}`" for p in e["print"])
    results = "<br>".join([_link(p) for p in e["results"]] + [f"script: {_link(p)}" for p in e["scripts"]]) or "–"
    if e["status"] == "superseded":
        by = by_id[e["superseded_by"]]
        status = f"superseded by {_link(by['note'], by['id'])}"
    else:
        status = e["status"]
    return "| " + " | ".join([name, _cell(e["question"]), command, results, e["date"], _cell(e["host"]), status]) + " |"


def index_page(entries: list[dict]) -> str:
    """docs/measurements/README.md: the current measurements, then the superseded and one-off ones, one row
    each, in the ledger's order."""
    by_id = {e["id"]: e for e in entries}
    head = "| measurement (note) | question | command | results | date | host | status |\n|---|---|---|---|---|---|---|"
    current = [_row(e, by_id) for e in entries if e["status"] == "current"]
    past = [_row(e, by_id) for e in entries if e["status"] != "current"]
    return f"""# Measurements

Generated by `python -m llc_lib docs` (`make docs`) from [ledger.json](ledger.json) by `llc_lib/results/ledger.py`,
which states the rule; edit the ledger, not this page. One row per measurement: the question it answers, the
command that made its results, the committed results, the date and the kind of host. Each note of this folder
(a .md page) is the current answer to one question; a superseded or one-off note is removed from the tree, and
`git show COMMIT:PATH` reads it. A note states only numbers that its row's results and logs state
(`llc_lib/results/pages.py`).

The logs that were printed from committed files are printed again by one runner ("again" below):

    python docs/measurements/logs/run.py              # the names of the logs and of the printers
    python docs/measurements/logs/run.py NAME         # the committed log NAME.log, printed again
    python docs/measurements/logs/run.py --check      # every such log against its committed text

## Current

{head}
{chr(10).join(current)}

## Superseded and one-off

{head}
{chr(10).join(past)}
"""


def write_index(repo: Path | str) -> Path:
    """Render the index from the ledger into docs/measurements/README.md and return its path; a ledger that
    breaks the rule is refused (ValueError) and the index left as it was."""
    repo = Path(repo)
    entries = load(repo)
    bad = problems(repo, entries)
    if bad:
        raise ValueError(f"{LEDGER} breaks its rule (llc_lib/results/ledger.py): " + "; ".join(bad))
    path = repo / INDEX
    with atomic_file(path, "w") as f:
        f.write(index_page(entries))
    return path
