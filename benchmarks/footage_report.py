"""real_footage.py's figures as Markdown: per-clip tables, the held-out motion summary, the probes, and its
row in the benchmarks table. Kept apart from the computation, which is slow, so a saved --json can be
re-rendered."""

from __future__ import annotations

from footage import HELD_OUT_MOTION, STILL_CONTRAST

STABLE_RUNS = {"flow": "stable", "none": "stable-none"}  # a clip row's key for each motion of the stable net


def _f(v: float | None, fmt: str = ".3g") -> str:
    return "-" if v is None else format(v, fmt)


def figure(row: dict, motion: str, key: str) -> float | None:
    """A style's `key` ("kept_flicker", "style_ratio") on one clip with the stable net's history warped by flow
    or not; None where that run was not scored."""
    run = row if motion == "flow" else row.get(STABLE_RUNS[motion], {})  # the default path's sit at the top
    return run.get(key)


def worst(rows: dict[str, dict], motion: str, key: str) -> float | None:
    """The highest `key` of one style's clip rows over the held-out motion clips that move (not the static
    contrast shots); None when none of them has it."""
    values = [figure(row, motion, key) for n, row in rows.items() if n in HELD_OUT_MOTION and n not in STILL_CONTRAST]
    return max((v for v in values if v is not None), default=None)


def motion_summary(results: dict) -> list[str]:
    """Per style, the worst flicker kept and style ratio over the moving held-out clips, with and without flow."""
    clips = results.get("clips", {})
    moving = [n for n in clips if n in HELD_OUT_MOTION and n not in STILL_CONTRAST]
    if not moving:
        return []
    out = [f"### held-out motion clips, worst over {len(moving)} moving clips ({', '.join(moving)})", "",
           "| style | flicker kept, flow | flicker kept, no flow | style ratio, flow | style ratio, no flow | "
           "flicker kept, flow, scored by Farneback's flow |", "|---|---|---|---|---|---|"]
    for s in results["styles"]:
        rows = {n: c["styles"][s] for n, c in clips.items()}
        out.append(f"| {s} | " + " | ".join(_f(worst(rows, m, k), fmt) for k, fmt in
                                              (("kept_flicker", ".0%"), ("style_ratio", ".2f")) for m in STABLE_RUNS)
                   + f" | {_f(worst(rows, 'flow', 'kept_flicker_farneback'), '.0%')} |")
    return out + [""]


def markdown(results: dict) -> str:
    out, clips, probe = [], results.get("clips", {}), results.get("noise_probe")
    styles = results["styles"]
    tables = [("E_warp x 1e3, per-frame -> stable (source in the 3rd column)",
               lambda r: f"{r['per-frame']['warping_error'] * 1e3:.3f} -> {r['stable']['warping_error'] * 1e3:.3f}"),
              ("kept flicker (E_st - E_src) / (E_pf - E_src): 0 = all removed", lambda r: _f(r["kept_flicker"], ".2f")),
              ("style loss ratio stable / per-frame", lambda r: _f(r["style_ratio"], ".2f"))]
    if any(STABLE_RUNS["none"] in c["styles"][s] for c in clips.values() for s in styles):
        tables += [("kept flicker without flow (history not warped, motion none)",
                    lambda r: _f(figure(r, "none", "kept_flicker"), ".2f")),
                   ("style loss ratio without flow", lambda r: _f(figure(r, "none", "style_ratio"), ".2f"))]
    for title, cell in (tables if clips else []):
        out += [f"### {title}", "", "| clip | frames | E_src x 1e3 | " + " | ".join(styles) + " |",
                "|---" * (len(styles) + 3) + "|"]
        out += [f"| {n} | {c['frames']} ({c['size'][1]}x{c['size'][0]}) | {c['source_warping_error'] * 1e3:.3f} | "
                + " | ".join(cell(c["styles"][s]) for s in styles) + " |" for n, c in clips.items()]
        out.append("")
    out += motion_summary(results)
    if probe:
        out += [f"### noise probe: mean |y_t - y_t-1| x 255, t = {probe['from']}..{probe['frames'] - 1} "
                f"(source: {probe['source']:.3f})", "", "| style | per-frame | stable |", "|---|---|---|"]
        out += [f"| {s} | {probe[s]['per-frame']:.3f} | {probe[s]['stable']:.3f} |" for s in styles]
        out.append("")
    if results.get("drift_probe"):
        out += drift_table(results["drift_probe"])
    if results.get("drift_handheld"):
        out += handheld_table(results["drift_handheld"])
    return "\n".join(out)


def drift_table(drift: dict) -> list[str]:
    a, b = drift["at"]
    out = [f"### drift probe, noisy still: stable output, frame {a} vs {b} of {drift['frames']}", "",
           f"| style | mean RGB {a} | mean RGB {b} | style loss {a} | style loss {b} | mean abs change x 255 |",
           "|---|---|---|---|---|---|"]
    for s, d in drift["styles"].items():
        fa, fb = d[f"frame_{a}"], d[f"frame_{b}"]
        out.append(f"| {s} | {fa['mean_rgb']} | {fb['mean_rgb']} | {_f(fa['style_loss'])} | "
                   f"{_f(fb['style_loss'])} | {d['mean_abs_change']:.3f} |")
    return out + [""]


def handheld_table(drift: dict) -> list[str]:
    a, b, again = *drift["at"], drift["same_content"]
    out = [f"### drift probe, hand-held ({drift['clip']} played forward and back, {drift['frames']} frames): "
           f"frame {b} against frame {a}, and frame {again} (frame {a}'s content again) against frame {a}", "",
           f"| output | sharpness {a} | sharpness {b} | change | mean RGB {a} | mean RGB {b} | worst colour change "
           f"| same content: sharpness change | same content: worst colour change |",
           "|---|---|---|---|---|---|---|---|---|"]
    for label, d in drift["outputs"].items():
        fa, fb, same = d[f"frame_{a}"], d[f"frame_{b}"], d["same_content"]
        out.append(f"| {label} | {fa['sharpness']:.2f} | {fb['sharpness']:.2f} | {d['sharpness_change']:+.1%} | "
                   f"{fa['mean_rgb']} | {fb['mean_rgb']} | {d['colour_change']:+.1%} | "
                   f"{same['sharpness_change']:+.1%} | {same['colour_change']:+.1%} |")
    return out + [f"(picture: {drift['picture']})", ""]


def table_cell(results: dict) -> str:
    """Per clip: how many times lower the stable networks' E_warp is than their per-frame twins', and the most
    flicker any of them keeps."""
    parts = []
    for clip, entry in results["clips"].items():
        scores = entry["styles"].values()
        ratios = [s["per-frame"]["warping_error"] / s["stable"]["warping_error"] for s in scores]
        parts.append(f"{clip}: per-frame E_warp {min(ratios):.1f}-{max(ratios):.1f}x the stable network's, at most "
                     f"{max((s['kept_flicker'] for s in scores if s['kept_flicker'] is not None), default=0):.0%} of the "
                     f"flicker kept")
    return f"`{results['command']}`, {len(results['styles'])} styles: " + "; ".join(parts)
