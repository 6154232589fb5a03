"""Recurrent (stability) training: sequence data with flow, and the unrolled loop with its temporal loss."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from steadystyle.flow import warp_torch
from steadystyle.losses import LossWeights, temporal_loss
from steadystyle.models import load_model, save_model
from steadystyle.networks import FAST, SLIM, Previous, TransformNet
from steadystyle.paintings import painting_path
from steadystyle.training import VideoTrainConfig, VideoTrainer
from steadystyle.training._datasets import ContentImages, SequenceBatches, clip_motion
from steadystyle.video import Encoding, VideoWriter


@pytest.fixture(scope="module")
def stills(tmp_path_factory) -> Path:
    import skimage.data

    folder = tmp_path_factory.mktemp("stills")
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(getattr(skimage.data, name)()).resize((96, 72)).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="module")
def panning_clip(tmp_path_factory) -> Path:
    """A real photo panned 2 px per frame: the estimated flow must find that motion."""
    import skimage.data

    photo = skimage.data.astronaut()[::4, ::4]  # 128 x 128
    path = tmp_path_factory.mktemp("clips") / "pan.mp4"
    with VideoWriter(path, 10, encoding=Encoding(crf=8)) as writer:
        for i in range(6):
            writer.write(np.ascontiguousarray(photo[20:84, 2 * i:2 * i + 96]))
    return path


def test_clip_flow_is_cached_and_warps_the_previous_frame(panning_clip, tmp_path, monkeypatch):
    monkeypatch.setenv("STEADYSTYLE_CACHE", str(tmp_path))
    motion = clip_motion(panning_clip, 64, progress=False)
    assert motion["flows"].dtype == np.float16 and list((tmp_path / "clip-motion").glob("pan-*.npz"))
    # The window moves 2 px right per frame, so frame t's pixel x shows what frame t-1 had at x + 2.
    assert np.median(motion["flows"][..., 0]) == pytest.approx(2.0, abs=0.2)
    assert np.median(np.abs(motion["flows"][..., 1])) < 0.2
    frames = torch.from_numpy(motion["frames"]).permute(0, 3, 1, 2).float() / 255
    flows = torch.from_numpy(motion["flows"].astype(np.float32)).permute(0, 3, 1, 2)
    masks = torch.from_numpy(motion["masks"].astype(np.float32))[:, None]
    warped = warp_torch(frames[:-1], flows)
    err = temporal_loss(frames[1:], warped, masks).item()
    assert err < 0.1 * (frames[1:] - frames[:-1]).pow(2).mean().item()
    again = clip_motion(panning_clip, 64, progress=False)  # from the cache, identical
    assert np.array_equal(again["flows"], motion["flows"])


def test_sequence_batches_are_reproducible_and_shaped(panning_clip, stills, tmp_path, monkeypatch):
    monkeypatch.setenv("STEADYSTYLE_CACHE", str(tmp_path))
    data = SequenceBatches(panning_clip, ContentImages(stills, 48), 48, 3, synthetic_fraction=0.5, progress=False)
    a, b = data.batch(5, 4), data.batch(5, 4)
    assert a.frames.shape == (4, 3, 3, 48, 48) and a.flows.shape == (4, 2, 2, 48, 48) and a.masks.shape == (4, 2, 1, 48, 48)
    assert torch.equal(a.frames, b.frames) and torch.equal(a.flows, b.flows)
    with pytest.raises(ValueError, match="at least 2"):
        SequenceBatches(panning_clip, None, 48, 1, progress=False)


@pytest.mark.slow
def test_recurrent_training_lowers_the_temporal_term(stills, tmp_path):
    torch.manual_seed(0)
    init = save_model(TransformNet(SLIM), tmp_path / "image.safetensors", "test")
    config = VideoTrainConfig(style=str(painting_path("wave")), content=str(stills), size=48,
                              style_size=64, batch=2, steps=50, lr=2e-3, init=str(init), clips="none",
                              temporal_weight=1e9, weights=LossWeights(style=30.0), checkpoint_every=1000,
                              sample_every=1000, log_every=1)
    trainer = VideoTrainer(config, tmp_path / "stable.safetensors", progress=False)
    probe = trainer.sequences.batch(99_999, 4)  # never trained on

    def temporal() -> float:
        with torch.no_grad():
            x0, x1 = probe.frames[:, 0], probe.frames[:, 1]
            y0 = trainer.net(x0)
            y1 = trainer.net(x1, Previous(x0, y0.clamp(0, 1)))
            return temporal_loss(y1, warp_torch(y0, probe.flows[:, 0]), probe.masks[:, 0]).item()

    before = temporal()
    first = trainer.train_step()
    assert set(first) == {"style", "content", "tv", "temporal", "total"} and first["temporal"] > 0
    out = trainer.run()
    assert temporal() < before / 2  # 30 steps reached 0.56x on an AMD EPYC (bf16 kernels differ by CPU), 50 reach 0.29x
    model = load_model(out)
    assert model.recurrent and model.meta["training"]["stage"] == "video"


@pytest.mark.slow
def test_a_resumed_run_keeps_its_temporal_weight_whatever_is_suggested_now(stills, tmp_path):
    """A weight left open continues as the checkpoint has it (the suggestion moves when shipped styles change);
    a different number given is refused, naming the setting."""
    init = save_model(TransformNet(SLIM), tmp_path / "image.safetensors", "test")
    config = VideoTrainConfig(style=str(painting_path("wave")), content=str(stills), size=32, style_size=48,
                              steps=1, init=str(init), clips="none", temporal_weight=123e6, sample_every=1000)
    VideoTrainer(config, tmp_path / "stable.safetensors", progress=False).run()
    open_weight = replace(config, temporal_weight=None, steps=2)
    resumed = VideoTrainer(open_weight, tmp_path / "more.safetensors", tmp_path / "stable-train", resume=True,
                           progress=False)
    assert resumed.step == 1 and resumed.config.temporal_weight == 123e6
    resumed.release()  # a trainer holds its work folder until it has run, or until released
    with pytest.raises(ValueError, match=r"other settings \(temporal_weight\)"):
        VideoTrainer(replace(config, temporal_weight=2e8), tmp_path / "other.safetensors", tmp_path / "stable-train",
                     resume=True, progress=False)


@pytest.mark.slow
def test_train_more_carries_a_stable_model_on_with_the_hold(stills, tmp_path, capsys):
    """`train more` starts from the model's whole network and step count, with its recorded settings, and
    adds the hold; asking for no more steps than it has had is an error that says so."""
    from steadystyle.cli import main

    init = save_model(TransformNet(FAST), tmp_path / "image.safetensors", "test")
    config = VideoTrainConfig(style=str(painting_path("wave")), content=str(stills), size=32, style_size=48,
                              steps=2, init=str(init), clips="none", temporal_weight=1e8, sample_every=1000, log_every=1)
    first = VideoTrainer(config, tmp_path / "stable.safetensors", progress=False).run()
    old = load_model(first)
    old_model = TransformNet(replace(old.net.arch, hold=False))  # what the file was before the hold existed
    old_model.load_state_dict(old.net.state_dict())
    pre_hold = save_model(old_model, tmp_path / "pre-hold.safetensors", "test", old.meta["training"])
    assert main(["train", "more", str(pre_hold), "-o", str(tmp_path / "more.safetensors"), "--steps", "4", "-q"]) == 0
    more = load_model(tmp_path / "more.safetensors")
    training = more.meta["training"]
    assert more.net.arch.hold and training["steps_done"] == 4 and training["temporal_weight"] == 1e8
    assert training["cpu_seconds"] > old.meta["training"]["cpu_seconds"]  # the time counts on
    logged = [json.loads(line) for line in (tmp_path / "more-train" / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logged if "event" not in row] == [3, 4]
    assert any((a - b).abs().max() > 0 for a, b in zip(more.net.state_dict().values(), old.net.state_dict().values()))
    assert main(["train", "more", str(first), "-o", str(tmp_path / "none.safetensors"), "--steps", "2", "-q"]) == 2
    assert "has had 2 stage-2 steps already" in capsys.readouterr().err
    assert not (tmp_path / "none.safetensors").exists()


@pytest.mark.slow
def test_the_temporal_term_compares_with_the_history_warped_once(stills, tmp_path):
    """With the history shown moved along the motion (--motion flow), the temporal loss still warps the output
    as it was: a 'network' that returns its frame is perfectly consistent on exact synthetic motion."""

    class Frame(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x: torch.Tensor, previous: Previous | None = None) -> torch.Tensor:
            return x + 0 * self.unused

    init = save_model(TransformNet(SLIM), tmp_path / "image.safetensors", "test")
    config = VideoTrainConfig(style=str(painting_path("wave")), content=str(stills), size=64, style_size=64,
                              batch=2, steps=1, init=str(init), clips="none", nuisance=0.0, temporal_weight=1.0,
                              motion="flow", checkpoint_every=1000, sample_every=1000)
    trainer = VideoTrainer(config, tmp_path / "stable.safetensors", progress=False)
    trainer.train_net = Frame()
    assert trainer.train_step()["temporal"] < 1e-3
