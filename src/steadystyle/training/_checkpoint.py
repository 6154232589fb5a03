"""A training run's `checkpoint.pt`: saved as plain data and read back as nothing but plain data.

Why: a work folder may be shared, copied or planted, and a pickle can run any code as it loads. The file
holds only tensors, dicts, lists, numbers and strings (the config as a JSON-shaped dict), so it loads with
`torch.load(weights_only=True)`, which refuses everything else before it runs; each field is then checked
before it is trusted, and a bad file is refused naming it.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch

from ..atomic import atomic_output

FIELDS = {"stage": str, "config": dict, "net": dict, "opt": dict, "scaler": dict, "step": int, "seconds": float}


class CheckpointError(ValueError):
    """A checkpoint that is damaged, from elsewhere, or holds more than plain data; it was not used."""


def save_checkpoint(path: Path, stage: str, config: dict, net: dict, opt: dict, scaler: dict, step: int,
                    seconds: float) -> None:
    """Write atomically (a kill while saving keeps the previous checkpoint)."""
    state = {"stage": stage, "config": json.loads(json.dumps(config)), "net": net, "opt": opt, "scaler": scaler,
             "step": step, "seconds": float(seconds)}
    with atomic_output(path) as tmp, tmp.open("wb") as f:  # a file object: a full disk is reported as such
        torch.save(state, f)


def load_checkpoint(path: Path, fix: str) -> dict:
    """The checkpoint's fields, checked; `fix` ends a refusal with how to start afresh."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{path}: refused, it holds more than tensors, numbers and text, which could run code "
                              f"({first}); nothing in it was run. {fix}") from None
    except Exception as e:  # a truncated or foreign file fails in many ways inside torch's reader
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e}). {fix}") from None
    problem = _problem(state)
    if problem:
        raise CheckpointError(f"{path}: damaged checkpoint ({problem}). {fix}")
    return state


def _problem(state: object) -> str:
    """What is wrong with a loaded checkpoint's fields, or ''."""
    if not isinstance(state, dict):
        return f"a {type(state).__name__} instead of a dict of fields"
    for name, kind in FIELDS.items():
        value = state.get(name)
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"field {name!r} is {type(value).__name__ if name in state else 'missing'}, expected {kind.__name__}"
    if state["step"] < 0 or not 0 <= state["seconds"] < float("inf"):
        return f"step {state['step']} or seconds {state['seconds']} out of range"
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state["net"].items()):
        return "the network's weights are not all named tensors"
    if not isinstance(state["opt"].get("state"), dict) or not isinstance(state["opt"].get("param_groups"), list):
        return "the optimiser's state lacks 'state' or 'param_groups'"
    return ""
