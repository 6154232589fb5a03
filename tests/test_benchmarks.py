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


@pytest.mark.parametrize("script", ["bench_video", "bench_arch", "arch_look", "fine_tune", "look",
                                    "benchmarks_table", "motion_sources", "gate_probe",
                                    "motion_flow"])
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


def test_blind_pairs_hide_the_key_from_the_judge_and_the_tally_undoes_the_shuffle(tmp_path):
    import json

    import torch
    from look_pictures import blind_pairs, default_key, tally

    picture = torch.rand(3, 40, 60)
    pairs = [("wave", f"photo {i}", torch.rand(3, 50, 30), picture, picture, opponent, picture)
             for i in range(3) for opponent in ("peer", "Johnson")]
    folder = tmp_path / "pairs"
    with pytest.raises(SystemExit, match="which the judge sees"):
        blind_pairs(pairs, folder, folder / "key.json", seed=1)
    key = blind_pairs(pairs, folder, default_key(folder), seed=1)
    assert key.parent == tmp_path and sorted(p.name for p in folder.glob("*.png")) == \
        [f"pair_{i:03d}.png" for i in range(1, 7)]
    answers = json.loads(key.read_text())["pairs"]
    judged = json.loads((folder / "judgments.json").read_text())
    assert set(judged) == set(answers) and 0 < sum(a["A"] == "ours" for a in answers.values()) < len(answers)
    for name, answer in answers.items():  # ours wins against the peer, loses against Johnson
        ours = "A" if answer["A"] == "ours" else "B"
        other = "B" if ours == "A" else "A"
        winner = ours if "peer" in answer.values() else other
        judged[name] = {"winner": winner, ours: {"style": 6, "content": 8, "artifacts": 4},
                        other: {"style": 2, "content": None, "artifacts": 10}}
    (folder / "judgments.json").write_text(json.dumps(judged))
    counted = tally(folder / "judgments.json", key, "ours")
    assert "| peer | all styles | 3 | 3 (100%) | 6.0 / 8.0 / 4.0 | 2.0 / - / 10.0 |" in counted
    assert "| Johnson | all styles | 3 | 0 (0%) |" in counted and "6 of 6 pairs judged" in counted


def test_the_held_out_motion_set_is_apart_from_the_clips_decisions_use():
    """No tuning script may reach the held-out motion clips: they are not in CLIPS, which fine_tune.py and the
    styles' old column read, and each says where it ships and under what licence."""
    from footage import CLIPS, HELD_OUT_MOTION, STILL_CONTRAST

    assert set(CLIPS).isdisjoint(HELD_OUT_MOTION) and set(STILL_CONTRAST) < set(HELD_OUT_MOTION)
    assert len(set(HELD_OUT_MOTION) - set(STILL_CONTRAST)) >= 8
    assert all(c.licence and c.count <= 48 for c in HELD_OUT_MOTION.values())
    for script in ("fine_tune", "selection"):
        assert "HELD_OUT_MOTION" not in (BENCHMARKS / f"{script}.py").read_text()


def test_a_recording_s_jpeg_frames_are_cut_out_byte_for_byte(tmp_path):
    import json
    import struct

    from fetch_footage import cut_recording

    jpegs = [b"\xff\xd8\xff\xe0frame%d\xff\xd9" % i for i in range(3)]
    blob, index = b"", []
    for seq, jpeg in enumerate(jpegs):
        header = json.dumps({"rgb_format": "jpeg"}).encode()
        record = struct.pack("<I", len(header)) + header + b"depth\x00" + jpeg + b"\x00pad"
        index.append(json.dumps({"seq": seq, "offset": len(blob), "length": len(record)}))
        blob += record
    (tmp_path / "messages.bin").write_bytes(blob)
    (tmp_path / "index.jsonl").write_text("\n".join(index) + "\n")
    assert cut_recording(tmp_path, tmp_path / "frames") == 3
    assert [p.read_bytes() for p in sorted((tmp_path / "frames").iterdir())] == jpegs


def test_the_hand_held_drift_clip_plays_forward_then_back():
    from real_footage import bounce

    assert [bounce(t, 3) for t in range(7)] == [0, 1, 2, 1, 0, 1, 2]
    assert bounce(10, 351) == bounce(690, 351) == 10 and bounce(700, 351) == 0


def test_the_motion_figure_is_the_worst_moving_clip_with_flow_and_without():
    from footage_report import worst

    def row(flow: float, none: float) -> dict:
        return {"kept_flicker": flow, "stable-none": {"kept_flicker": none}}

    rows = {"diver": row(0.2, 0.5), "rocket": row(0.3, 0.4), "fastball": row(0.9, 0.9)}  # fastball: static contrast
    assert (worst(rows, "flow", "kept_flicker"), worst(rows, "none", "kept_flicker")) == (0.3, 0.5)
    assert worst({"diver": {"kept_flicker": 0.2}}, "none", "kept_flicker") is None
