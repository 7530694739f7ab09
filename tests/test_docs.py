"""The committed results pages are generated from the committed results files, never typed by hand."""

import json

import pytest

from llc_lib.config import get_profile
from llc_lib.pages import readme_with_headline, results_page
from llc_lib.report import load_results, paper_vs_reproduction

from conftest import REPO

FIG = REPO / "figures"


def test_results_page_and_readme_headline_match_the_committed_figures():
    assert (REPO / "docs" / "results.md").read_text() == results_page(FIG), "run `make docs`"
    readme = (REPO / "README.md").read_text()
    assert readme == readme_with_headline(readme, FIG), "run `make docs`"


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
