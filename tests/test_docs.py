"""The committed results pages are generated from the committed results files, never typed by hand; the README
is a front page: small, its links alive, no number of a run typed into its prose."""

import json
import re
import shutil

import pytest

from llc_lib.config.profiles import get_profile
from llc_lib.results.pages import BLOCKS, TIMES, duration, render_readme, results_page, update_docs
from llc_lib.results.report import claim_status, load_results, paper_vs_reproduction

from conftest import REPO

FIG = REPO / "figures"
README_LIMIT = 10_240  # bytes: a front page read in five minutes; history and lab notes go to docs/


def test_results_page_and_readme_blocks_match_the_committed_files():
    """docs/results.md and every generated block of the README (times, headline, claims) equal their rendering
    from the committed figures/*.json and docs/times.json."""
    assert (REPO / "docs" / "results.md").read_text() == results_page(FIG), "run `make docs`"
    readme = (REPO / "README.md").read_text()
    assert all(start in readme and end in readme for start, end in BLOCKS.values())
    assert readme == render_readme(readme, FIG, REPO), "run `make docs`"


def test_the_committed_report_is_the_one_its_results_files_give():
    """figures/paper_vs_reproduction.md (notebook 99, which docs/results.md shows) against a report made again
    from the committed JSON with the profile they record: its goal rows included."""
    res = load_results(FIG)
    profile = get_profile(res["headline_results"]["profile"])
    assert json.loads((FIG / "results.json").read_text())["run"]["overrides"] == []
    md, rows = paper_vs_reproduction(res, profile)
    assert (FIG / "paper_vs_reproduction.md").read_text() == md, "run notebook 99 (make reproduce), then make docs"
    assert any(r["claim"].startswith("goal:") for r in rows)
    assert "goal: P(exact given class code right)" in (REPO / "docs" / "results.md").read_text()


def test_the_results_page_needs_the_report_of_notebook_99(tmp_path, monkeypatch, capsys):
    (tmp_path / "headline_results.json").write_text((FIG / "headline_results.json").read_text())
    with pytest.raises(FileNotFoundError, match="paper_vs_reproduction.md is missing: notebook 99 writes it"):
        results_page(tmp_path)
    # `make docs` without it: one line and exit code 2, and neither page rewritten
    from llc_lib.__main__ import main

    before = [(REPO / f).read_text() for f in ("README.md", "docs/results.md")]
    monkeypatch.setenv("LLC_FIGURES_DIR", str(tmp_path))
    assert main(["docs", "--profile", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "paper_vs_reproduction.md is missing: notebook 99 writes it" in err
    assert [(REPO / f).read_text() for f in ("README.md", "docs/results.md")] == before


def test_make_docs_is_idempotent(tmp_path):
    """`make docs` on a copy of the committed pages gives them back byte for byte, twice."""
    (tmp_path / "docs").mkdir()
    for f in ("README.md", "docs/results.md", TIMES.as_posix()):
        shutil.copy(REPO / f, tmp_path / f)
    pages = ("README.md", "docs/results.md")
    for _ in range(2):
        update_docs(tmp_path, FIG)
        assert [(tmp_path / f).read_bytes() for f in pages] == [(REPO / f).read_bytes() for f in pages]


def test_the_readme_is_a_front_page():
    """At most README_LIMIT bytes; it names the test command CI runs (.ci/run runs the README's `make test`)."""
    readme = (REPO / "README.md").read_text()
    assert len(readme.encode()) <= README_LIMIT, "move history, caveats and lab notes to docs/ and link them"
    assert "`make test`" in readme and "make test" in (REPO / ".ci" / "run").read_text()


def _slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path) -> set[str]:
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", path.read_text(), re.M)}


def test_every_link_of_the_readme_and_the_docs_resolves():
    """Relative links (inline and reference definitions) of the README and every page under docs/ name files
    that exist, and anchors into markdown files name one of their headings."""
    pages = ["README.md"] + sorted(str(p.relative_to(REPO)) for p in (REPO / "docs").rglob("*.md"))
    for page in pages:
        text = (REPO / page).read_text()
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r"^\[[^\]]+\]: (\S+)$", text, re.M)
        for link in links:
            if re.match(r"[a-z]+://", link):
                continue
            target, _, anchor = link.partition("#")
            path = (REPO / page).parent / target if target else REPO / page
            assert path.exists(), f"{page}: {link} does not exist"
            if anchor and path.suffix == ".md":
                assert anchor in _anchors(path), f"{page}: {link} names no heading of {path.name}"


def test_the_readme_prose_types_no_number_of_a_run():
    """Outside its generated blocks (and the citation), the README states no measured number: no decimals,
    percentages, durations, points, epochs or seed counts typed by hand."""
    text = (REPO / "README.md").read_text()
    for start, end in BLOCKS.values():
        text = text[: text.index(start)] + text[text.index(end) :]
    text = re.sub(r"```.*?```", "", text, flags=re.S).replace("arXiv:2106.01487", "")
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets (file names hold dates)
    found = re.findall(r"\d+\.\d+|\d+\s*(?:%|s\b|min\b|h\b|points?\b|epochs?\b|seeds?\b|bits?\b)", text)
    assert not found, f"numbers typed into the README: {found}; render them from a results file (make docs)"


def test_every_time_is_copied_from_its_record():
    """docs/times.json: one entry per command, run and host kind, each host one of `hosts`; an entry with a
    source names a committed log that states its seconds, one without carries the lines the run printed."""
    times = json.loads((REPO / TIMES).read_text())
    keys = [(t["command"], t["what"], t["host"]) for t in times["times"]]
    assert len(keys) == len(set(keys))
    for t in times["times"]:
        assert t["host"] in times["hosts"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", t["date"]) and t["conditions"]
        if t.get("source"):
            stated = f"{t['seconds']} s" in (REPO / t["source"]).read_text()
            assert stated, f"{t['source']} does not state {t['seconds']} s ({t['command']}, {t['host']})"
        else:
            assert t["printed"], f"{t} has neither a source nor the lines it printed"
    assert [duration(s) for s in (77, 747, 5830)] == ["1 min 17 s", "12 min 27 s", "1 h 37 min"]


def test_every_claim_has_a_section_that_discusses_it(monkeypatch):
    """The README's status table links each claim of the report to a section of docs/status.md; a claim the
    table cannot place is refused by name."""
    from llc_lib.results import report

    res = load_results(FIG)
    profile = get_profile(res["headline_results"]["profile"])
    rows = claim_status(res, profile)
    assert [r["claim"] for r in rows] == [r["claim"] for r in paper_vs_reproduction(res, profile)[1]]
    assert {r["topic"] for r in rows} <= _anchors(REPO / "docs" / "status.md")
    monkeypatch.setattr(report, "CLAIM_TOPICS", report.CLAIM_TOPICS[1:])  # the MHD ranking loses its topic
    with pytest.raises(KeyError, match="'MHD ranking .*' has no topic"):
        claim_status(res, profile)
