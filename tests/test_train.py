"""Image-network training: it learns, and a resumed run is the same run."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image

from steadystyle.atomic import OutputError
from steadystyle.losses import LossWeights
from steadystyle.models import load_model, save_model
from steadystyle.networks import TransformNet
from steadystyle.paintings import painting_path
from steadystyle.training import ImageTrainer, TrainConfig, VideoTrainConfig, train_style


@pytest.fixture(scope="module")
def content_dir(tmp_path_factory) -> Path:
    """A few real photographs from the scikit-image wheel."""
    import skimage.data

    folder = tmp_path_factory.mktemp("content")
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        Image.fromarray(getattr(skimage.data, name)()).resize((128, 96)).save(folder / f"{name}.jpg")
    return folder


def _config(content_dir: Path, steps: int) -> TrainConfig:
    return TrainConfig(style=str(painting_path("starry_night")), content=str(content_dir), size=64,
                       style_size=96, batch=2, steps=steps, lr=3e-3, weights=LossWeights(style=30.0, tv=1e3),
                       checkpoint_every=3, sample_every=1000, log_every=1)


@pytest.mark.slow
def test_training_lowers_the_loss_and_writes_a_model(content_dir, tmp_path):
    trainer = ImageTrainer(_config(content_dir, 40), tmp_path / "m.safetensors", progress=False)
    batch = trainer.stills.batch(10_000, 4)  # a fixed batch never trained on

    def loss() -> float:
        with torch.no_grad():
            return trainer.loss(trainer.net(batch), trainer.loss.content_targets(batch))["total"].item()

    before = loss()
    out = trainer.run()
    assert loss() < before / 2
    model = load_model(out)
    assert not model.recurrent and model.style == "starry_night"
    assert model.meta["training"]["steps_done"] == 40
    start, *rows = map(json.loads, (tmp_path / "m-train" / "log.jsonl").read_text().splitlines())
    assert start["event"] == "start" and start["world_size"] == 1 and start["global_batch"] == 2
    assert [row["step"] for row in rows] == list(range(1, 41)) and "style" in rows[-1]
    assert list((tmp_path / "m-train" / "samples").glob("*.jpg"))


@pytest.mark.slow
def test_deep_steps_count_relu4_3_first_then_drop_it_and_a_resumed_run_does_the_same(content_dir, tmp_path):
    config = replace(_config(content_dir, 6), deep_steps=3)
    layers = []

    def note(trainer, terms) -> None:
        layers.append(trainer.loss.weights.style_layers)

    straight = ImageTrainer(config, tmp_path / "a.safetensors", progress=False, on_step=note)
    straight.run()
    deep, late = (*config.weights.style_layers, "relu4_3"), config.weights.style_layers
    assert layers == [deep] * 3 + [late] * 3
    ImageTrainer(replace(config, steps=4), tmp_path / "b.safetensors", progress=False).run()
    resumed = ImageTrainer(config, tmp_path / "b.safetensors", resume=True, progress=False)
    resumed.run()
    a, b = straight.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_model(tmp_path / "a.safetensors").meta["training"]["deep_steps"] == 3


@pytest.mark.slow
def test_resume_round_trips_exactly(content_dir, tmp_path):
    straight = ImageTrainer(_config(content_dir, 6), tmp_path / "a.safetensors", progress=False)
    straight.run()
    first = ImageTrainer(_config(content_dir, 3), tmp_path / "b.safetensors", progress=False)
    first.run()
    resumed = ImageTrainer(_config(content_dir, 6), tmp_path / "b.safetensors", resume=True,
                           progress=False)
    assert resumed.step == 3
    resumed.run()
    a, b = straight.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_resume_refuses_other_settings(content_dir, tmp_path):
    ImageTrainer(_config(content_dir, 3), tmp_path / "c.safetensors", progress=False).run()
    other = _config(content_dir, 6)
    other.lr = 1e-4
    with pytest.raises(ValueError, match="other settings"):
        ImageTrainer(other, tmp_path / "c.safetensors", resume=True, progress=False)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        ImageTrainer(other, tmp_path / "d.safetensors", resume=True, progress=False)
    with pytest.raises(OutputError, match="--resume"):  # a fresh start would overwrite the run's checkpoint
        ImageTrainer(_config(content_dir, 3), tmp_path / "c.safetensors", progress=False)
    bookkeeping = _config(content_dir, 6)
    bookkeeping.checkpoint_every, bookkeeping.sample_every, bookkeeping.checkpoint_minutes = 1, 2, 1.0
    bookkeeping.device = "cpu"  # a checkpoint made on one device continues on another
    assert ImageTrainer(bookkeeping, tmp_path / "c.safetensors", resume=True, progress=False).step == 3


def _train_until_logged(content_dir: Path, out: Path, *extra: str):
    """A `train image` process that has logged at least 20 steps."""
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "steadystyle", "train", "image", "--style", str(painting_path("wave")),
           "--content", str(content_dir), "--size", "64", "--style-size", "96", "--steps", "100000",
           "--checkpoint-every", "100000", "-o", str(out), "-q", *extra]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    log = out.with_name(out.stem + "-train") / "log.jsonl"
    deadline = time.time() + 600  # generous: the CPU may be shared with trainings
    def steps_logged() -> int:  # rows of loss terms, not the run's start event
        return sum('"event"' not in line for line in log.read_text().splitlines()) if log.is_file() else 0

    while steps_logged() < 2 and time.time() < deadline:
        assert proc.poll() is None, f"training exited early: {proc.communicate()[1]}"
        time.sleep(0.2)
    return proc


@pytest.mark.slow
def test_kill_during_training_saves_a_checkpoint(content_dir, tmp_path):
    """SIGTERM (or Ctrl-C) mid-run: a checkpoint at the current step, and a clear exit code."""
    import json
    import signal

    out = tmp_path / "k.safetensors"
    proc = _train_until_logged(content_dir, out)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "--resume" in err
    state = torch.load(tmp_path / "k-train" / "checkpoint.pt", weights_only=True)
    assert state["step"] >= 20 and not out.exists()
    log = tmp_path / "k-train" / "log.jsonl"
    assert json.loads(log.read_text().splitlines()[-1])["step"] <= state["step"]


@pytest.mark.slow
def test_a_killed_run_keeps_a_recent_checkpoint(content_dir, tmp_path):
    """SIGKILL runs no handler: only the timed checkpoints (here: every 6 ms, so every step) are there to resume from."""
    import signal

    out = tmp_path / "k9.safetensors"
    proc = _train_until_logged(content_dir, out, "--checkpoint-minutes", "0.0001")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    state = torch.load(tmp_path / "k9-train" / "checkpoint.pt", weights_only=True)
    assert state["step"] >= 19 and not out.exists()


@pytest.mark.slow
def test_train_style_runs_both_stages_and_continues_an_unfinished_one(content_dir, tmp_path, capsys):
    from steadystyle.cli import main

    out, per_frame = tmp_path / "s.safetensors", tmp_path / "s-per-frame.safetensors"
    argv = ["train", "style", "--style", str(painting_path("wave")), "-o", str(out),
            "--content", str(content_dir), "--clips", "none", "--size", "64", "--style-size", "96",
            "--image-steps", "3", "--video-steps", "2", "-q"]
    assert main(argv) == 0
    stable, image = load_model(out), load_model(per_frame)
    assert stable.recurrent and not image.recurrent
    assert stable.meta["training"]["init"] == str(per_frame)
    assert image.meta["training"]["steps_done"] == 3 and stable.meta["training"]["steps_done"] == 2
    capsys.readouterr()

    # stage 2 left unfinished: its checkpoint is there, its model is not
    out.unlink()
    assert main([*argv[:-2], "4", "-q"]) == 0  # --video-steps 4
    printed = capsys.readouterr().out
    assert "stage 1: " in printed and "exists" in printed and "continuing" in printed
    assert load_model(out).meta["training"]["steps_done"] == 4
    assert load_model(per_frame).meta["training"]["steps_done"] == 3  # stage 1 was not run again


@pytest.mark.slow
def test_the_full_network_goes_through_both_stages_to_an_exported_model(content_dir, tmp_path):
    """Johnson et al.'s network (the "classic" layout) as well as the default: trained, stable, run, exported."""
    from steadystyle.export import export_onnx, onnx_difference
    from steadystyle.stylize import StylizeOptions, stylize_frames

    style = str(painting_path("udnie"))
    common = dict(style=style, content=str(content_dir), size=32, batch=1, steps=2, sample_every=1000)
    out = train_style(style, tmp_path / "full.safetensors", TrainConfig(style_size=48, arch="full", **common),
                      VideoTrainConfig(clips="none", seq_len=2, **common), progress=False)
    model = load_model(out)
    assert model.recurrent and model.net.arch.layout == "classic" and model.net.arch.width == 32
    assert model.meta["training"]["arch"] == "full" and model.meta["training"]["steps_done"] == 2
    frames = [torch.rand(3, 36, 44) for _ in range(3)]
    stylized = list(stylize_frames(frames, model, StylizeOptions(precision="fp32")))
    assert [y.shape for y in stylized] == [(3, 36, 44)] * 3
    assert not torch.equal(stylized[1], stylized[2])
    onnx = export_onnx(model, tmp_path / "full.onnx")
    assert onnx_difference(model, onnx, frames) < 1e-4


@pytest.mark.slow
def test_train_style_from_a_trained_style_fine_tunes_both_networks(content_dir, tmp_path, capsys):
    """--from: stage 1 continues the given per-frame net, stage 2 takes its stable net's recurrent weights."""
    from steadystyle.cli import main
    from steadystyle.networks import SLIM, TransformNet, recurrent_from_image
    from steadystyle.training import suggest_temporal_weight

    torch.manual_seed(0)
    image = TransformNet(SLIM)
    stable = recurrent_from_image(image)
    with torch.no_grad():  # a "trained" stable net: its previous-output weights are no longer zero
        stable.trunk.encoder[0][1].weight[:, 3:].normal_(0, 0.1)
    save_model(image, tmp_path / "old-per-frame.safetensors", "old")
    save_model(stable, tmp_path / "old.safetensors", "old")
    out = tmp_path / "new.safetensors"
    assert main(["train", "style", "--style", str(painting_path("wave")), "-o", str(out), "--from",
                 str(tmp_path / "old.safetensors"), "--content", str(content_dir), "--clips", "none", "--size", "64",
                 "--style-size", "96", "--image-steps", "2", "--video-steps", "1", "-q"]) == 0
    tuned_image, tuned = load_model(tmp_path / "new-per-frame.safetensors"), load_model(out)
    assert tuned_image.net.arch == SLIM and tuned_image.meta["training"]["start"].endswith("old-per-frame.safetensors")
    first = "trunk.encoder.0.1.weight"
    moved = (tuned_image.net.state_dict()[first] - image.state_dict()[first]).abs().max()
    assert 0 < moved < 0.05  # trained on from the old weights (2 steps), not from a fresh start
    kept = tuned.net.state_dict()[first][:, 3:] - stable.state_dict()[first][:, 3:]
    assert kept.abs().max() < 0.05 and stable.state_dict()[first][:, 3:].abs().max() > 0.2  # the learned recurrence
    # the short stage 2 gets the fine-tuning multiple of the painting's suggested temporal weight for the start's
    # layout (no head, where a fresh run's default would have one), from the command line and from Python alike
    tuned_weight = suggest_temporal_weight("wave", SLIM.head, fine_tune=True).temporal_weight
    assert tuned.meta["training"]["temporal_weight"] == tuned_weight
    small = {"content": str(content_dir), "size": 64, "steps": 1}
    api = train_style(painting_path("wave"), tmp_path / "api.safetensors", TrainConfig(style="", style_size=96, **small),
                      VideoTrainConfig(style="", clips="none", **small), start_from=str(tmp_path / "old.safetensors"),
                      progress=False)
    assert load_model(api).meta["training"]["temporal_weight"] == tuned_weight

    assert main(["train", "style", "--style", str(painting_path("wave")), "-o", str(tmp_path / "x.safetensors"),
                 "--from", "no_such_style", "--content", str(content_dir), "-q"]) == 2
    assert "no_such_style" in capsys.readouterr().err and not (tmp_path / "x-per-frame-train").exists()


def test_content_images_keep_memory_bounded_and_serve_the_same_crops(content_dir, monkeypatch):
    from steadystyle.training._datasets import ContentImages

    whole = ContentImages(content_dir, 48, seed=1)
    expected = [whole.batch(step, range(2)) for step in range(12)]
    assert len(whole._decoded) == len(whole) == 4
    monkeypatch.setattr(ContentImages, "IN_MEMORY", 2)
    bounded = ContentImages(content_dir, 48, seed=1)
    for step, batch in enumerate(expected):
        assert torch.equal(bounded.batch(step, range(2)), batch)
        assert len(bounded._decoded) <= 2


@pytest.mark.slow
def test_a_fast_run_begun_with_the_earlier_layout_resumes_with_it(tmp_path):
    """`--arch fast` built the earlier fast layout before fast2: such a run's checkpoint goes on with its own network."""
    import skimage.data

    from steadystyle.networks import EARLIER_FAST

    content = tmp_path / "content"
    content.mkdir()
    Image.fromarray(skimage.data.coffee()).resize((96, 64)).save(content / "coffee.png")
    config = TrainConfig(style=str(painting_path("wave")), content=str(content), size=32, style_size=32, steps=2,
                         arch="fast",
                         checkpoint_every=1, sample_every=1000)
    out = tmp_path / "earlier.safetensors"

    class Earlier(ImageTrainer):
        def build_net(self) -> TransformNet:
            return TransformNet(EARLIER_FAST)

    Earlier(replace(config, steps=1), out, progress=False).run()
    out.unlink()
    resumed = ImageTrainer(config, out, resume=True, progress=False)
    assert resumed.net.arch == EARLIER_FAST and resumed.step == 1
    assert load_model(resumed.run()).net.arch.layout == "fast"
