"""The committed results pages are generated from the committed results files, never typed by hand."""
from conftest import REPO
from llc_lib.pages import readme_with_headline, results_page

FIG = REPO / "figures"


def test_results_page_and_readme_headline_match_the_committed_figures():
    assert (REPO / "docs" / "results.md").read_text() == results_page(FIG), "run `make docs`"
    readme = (REPO / "README.md").read_text()
    assert readme == readme_with_headline(readme, FIG), "run `make docs`"
