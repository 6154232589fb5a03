"""The benchmark scripts still run against today's API, and the README's figures are the ones their results hold.

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


def test_readme_styles_table_is_generated_from_the_evaluations():
    from readme_tables import table_in_readme
    from style_cards import evaluated_styles, load_evaluation, readme_table

    expected = readme_table({n: load_evaluation(n) for n in evaluated_styles()})
    assert table_in_readme("styles-table") == expected, "run `python benchmarks/evaluate_styles.py --readme`"


@pytest.mark.parametrize("script", ["bench_video", "bench_arch", "arch_look", "fine_tune", "benchmarks_table"])
def test_readme_tables_are_generated_from_the_results_files(script):
    from readme_tables import table_in_readme

    module = importlib.import_module(script)
    assert table_in_readme(module.TABLE) == module.readme_body(), f"run `python benchmarks/{script}.py --readme`"
