"""The pages are views of the committed files: every generated page, block and value equals its rendering by
`make docs`, and no page holds a number that is neither rendered, nor of a kind that is no result, nor stated by
the page's sources (llc_lib/results/pages.py states the rule). The README is a front page: small, its links
alive."""

import json
import re
import shutil

import pytest

from llc_lib.config.profiles import get_profile
from llc_lib.results.pages import (
    BLOCKS,
    GENERATED,
    TIMES,
    Sources,
    _values,
    doc_pages,
    duration,
    page_sources,
    page_strays,
    render_page,
    render_readme,
    rendered_pages,
    results_page,
    stated,
    stray_numbers,
    update_docs,
)
from llc_lib.results.report import claim_status, load_results, paper_vs_reproduction

from conftest import REPO

FIG = REPO / "figures"
README_LIMIT = 10_240  # bytes: a front page read in five minutes; history and lab notes go to docs/


def test_results_page_and_readme_blocks_match_the_committed_files():
    """docs/results.md and every generated block of the README (headline, claims) equal their rendering from the
    committed figures/*.json; the times table (docs/times.json) is docs/running.md's."""
    assert (REPO / "docs" / "results.md").read_text() == results_page(FIG), "run `make docs`"
    readme = (REPO / "README.md").read_text()
    assert all(BLOCKS[name][0] in readme and BLOCKS[name][1] in readme for name in ("headline", "claims"))
    assert BLOCKS["times"][0] in (REPO / "docs" / "running.md").read_text()
    assert readme == render_readme(readme, FIG, REPO), "run `make docs`"


def test_every_templated_page_is_its_rendering():
    """Every page `make docs` writes (docs/results.md, and each page with a generated block or a named value)
    equals its rendering from the committed files; the pages on settings and results are among them."""
    pages = rendered_pages(REPO, FIG)
    names = {p.relative_to(REPO).as_posix() for p in pages}
    assert {"README.md", "docs/results.md", "docs/running.md", "docs/status.md", "docs/deviations.md"} <= names
    for path, text in pages.items():
        assert path.read_text() == text, f"{path.relative_to(REPO)} differs from its rendering: run `make docs`"


def test_a_stale_value_or_block_is_rendered_again_and_a_bad_one_refused():
    src = Sources(REPO, FIG)
    real = json.loads((FIG / "headline_results.json").read_text())["real_top1"]
    page = "top-1 <!-- value figures/headline_results.json:real_top1|.2% -->0.00<!-- /value --> %, lr "
    page += "<!-- value profile:cpu.instance.lr -->9<!-- /value -->, goal "
    page += "<!-- value claims:THRESHOLDS.p_exact_goal.cpu.14 -->1<!-- /value -->\n"
    page += "<!-- profiles:start (generated) -->\nold\n<!-- profiles:end -->\n"
    out = render_page(page, src)
    assert f"-->{100 * real:.2f}<!--" in out and "-->0.2<!--" in out and "-->0.75<!--" in out and "old" not in out
    assert render_page(out, src) == out
    quoted = "a block is `<!-- NAME:start -->` … `<!-- NAME:end -->`, a value `<!-- value S:P -->`…`<!-- /value -->`"
    assert render_page(quoted, src) == quoted
    with pytest.raises(KeyError, match="real_top_1"):
        render_page("<!-- value figures/headline_results.json:real_top_1 -->1<!-- /value -->", src)
    with pytest.raises(ValueError, match="no generated block is named 'nonsense'"):
        render_page("<!-- nonsense:start -->\n<!-- nonsense:end -->", src)


def test_the_committed_report_is_the_one_its_results_files_give():
    """figures/paper_vs_reproduction.md (notebook 99, which docs/results.md shows) against a report made again
    from the committed JSON with the profile they record: its goal rows included."""
    res = load_results(FIG)
    profile = get_profile(res["headline_results"]["profile"])
    assert json.loads((FIG / "results.json").read_text())["run"]["overrides"] == []
    md, rows = paper_vs_reproduction(res, profile)
    assert (FIG / "paper_vs_reproduction.md").read_text() == md, "run notebook 99 (make reproduce), then make docs"
    assert any(r["claim"].startswith("goal:") for r in rows)
    assert "goal: P(exact given Phase 2's class decision right)" in (REPO / "docs" / "results.md").read_text()


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
    """`make docs` on a copy of the committed pages gives every page back byte for byte, twice."""
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    pages = doc_pages(REPO)
    assert doc_pages(tmp_path) == pages
    for _ in range(2):
        written = update_docs(tmp_path, FIG)
        assert {p.relative_to(tmp_path).as_posix() for p in written} >= {"README.md", "docs/results.md"}
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


def test_no_page_types_a_number_of_a_run():
    """README.md and every page under docs/: each number is rendered by `make docs`, of a kind that is no result
    (``pages.ALLOWED``), or stated by the page's sources (a note's ledger files, the code a page on settings
    describes)."""
    assert stray_numbers(REPO) == [], "render these numbers (make docs), or link the page that states them"


@pytest.mark.parametrize(
    "page, typed, found",
    [
        ("README.md", "The real model reaches 63.2 % here.", ["63.2"]),  # a run's number in prose
        ("docs/status.md", "| ED | 41.7 |", ["41.7"]),  # in a table
        ("docs/status.md", "It took 1,163 s, 12 epochs.", ["1,163", "12"]),  # a page without sources
        ("docs/method.md", "Phase 2 gains 0.4321 on the test images.", ["0.4321"]),  # no setting of the code
        ("docs/measurements/warm_start_control_cpu_seed0.md", "The control reached 48.3 %.", ["48.3"]),
    ],
)
def test_a_number_typed_into_a_page_is_found(page, typed, found):
    """A number typed into a page is reported with its line; one its sources state, a rendered one, and the
    allowed kinds are not."""
    text = (REPO / page).read_text()
    lines = text.count("\n")
    assert page_strays(REPO, page, text) == []
    assert page_strays(REPO, page, text + typed + "\n") == [(lines + 1, n) for n in found]
    quiet = [
        "Measured on 2026-12-02 at 16:29 UTC with torch 2.14.1 (Cao et al., ICCV 2017), arXiv:2106.01487.",
        "ResNet50, ResNet-9, CIFAR-100, fp32, H100, AVX-512, top-1, `p2-lr0.2-2x`, [a](b_2026-12-01.md).",
        "Phase 2 of notebooks 02 and 06, seed 0, at 14 and 20 bits, 128-dim features; notebook 01 came first.",
        "<!-- value figures/headline_results.json:real_top1|.2% -->63.23<!-- /value --> %",
        "```\nmake reproduce --epochs 15\n```",
    ]
    assert page_strays(REPO, page, text + "\n".join(quiet) + "\n") == []


def test_a_note_may_quote_only_its_ledger_files():
    """A measurement note's sources are the results, scripts and printed logs of its ledger entries, and the
    recipes and goals of the code; a number is stated at the decimals the page writes, a fraction may be
    written as a percentage."""
    note = "docs/measurements/warm_start_control_cpu_seed0.md"
    sources = page_sources(REPO, note)
    assert "docs/measurements/warm_start_control_cpu_seed0.json" in sources
    assert "docs/measurements/logs/warm_start_control_2026-12-05.log" in sources
    assert "llc_lib/config/profiles.py" in sources and "figures/seeds.json" not in sources
    values = _values("0.4797 1163.0 629.9 5e-4 x1.32")
    assert all(stated(n, values) for n in ("47.97", "48.0", "48", "0.480", "1,163", "630", "5e-4", "1.32"))
    assert not any(stated(n, values) for n in ("47.9", "0.47", "1,164", "629.8", "1.4", "0.005"))
    assert all(p not in GENERATED for p in ("README.md", note))
    # a note's code blocks quote what its runs printed, and are read too; elsewhere code holds commands
    printed = "\n    python docs/measurements/logs/warm_start_control.py\n    control: 0.9876 points\n"
    for page, found in ((note, ["0.9876"]), ("docs/status.md", [])):
        text = (REPO / page).read_text()
        assert page_strays(REPO, page, text + printed) == [(text.count("\n") + 3, n) for n in found]


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
