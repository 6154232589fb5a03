"""The benchmark scripts still run against today's API, and the docs' figures are the ones their results hold.

Benchmarks are run by hand and rarely, so an API change can break one unnoticed for weeks (compare_methods
once imported a function that had moved); asking each for --help imports it and builds its parser.
"""

from __future__ import annotations

import importlib
import sys

import pytest

from conftest import BENCHMARKS

SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py") if 'if __name__ == "__main__":' in p.read_text())
pytestmark = pytest.mark.usefixtures("benchmarks_importable")


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_imports_and_explains_itself(script, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [f"{script}.py", "--help"])
    with pytest.raises(SystemExit) as exit:
        importlib.import_module(script).main()
    assert exit.value.code == 0
    assert capsys.readouterr().out.startswith("usage:")


def test_styles_table_in_the_docs_is_generated_from_the_evaluations():
    import evaluate_styles
    from readme_tables import table_in
    from style_cards import evaluated_styles, load_evaluation, readme_table

    expected = readme_table({n: load_evaluation(n) for n in evaluated_styles()})  # from the JSON files
    assert len(expected.splitlines()) == 2 + len(evaluated_styles()) > 2
    assert table_in(evaluate_styles.PAGE, evaluate_styles.TABLE) == expected, \
        "run `python benchmarks/evaluate_styles.py --docs`"


@pytest.mark.parametrize("script", ["bench_video", "bench_arch", "arch_look", "fine_tune", "benchmarks_table"])
def test_docs_tables_are_generated_from_the_results_files(script):
    from readme_tables import PAGES, table_in

    module = importlib.import_module(script)
    assert module.PAGE.parent == PAGES
    assert table_in(module.PAGE, module.TABLE) == module.table_body(), f"run `python benchmarks/{script}.py --docs`"


def test_a_table_whose_markers_are_missing_is_named_with_its_file(tmp_path):
    from readme_tables import rewrite_table, table_in

    page = tmp_path / "page.md"
    page.write_text("# A page\n\n<!-- some-table:start -->\n| a |\n<!-- some-table:end -->\n")
    rewrite_table(page, "some-table", "| b |")
    assert table_in(page, "some-table") == "| b |"
    with pytest.raises(SystemExit, match=r"page\.md needs exactly one '<!-- other-table:start -->'"):
        table_in(page, "other-table")


def test_the_readme_holds_no_generated_table():
    readme = (BENCHMARKS.parent / "README.md").read_text()
    assert ":start -->" not in readme and len(readme.splitlines()) <= 150
