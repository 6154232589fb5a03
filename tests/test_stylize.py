"""Stylizing streams of frames: per-frame and recurrent loops, cuts, and the video command end to end."""

from __future__ import annotations

import copy

import av
import numpy as np
import pytest
import torch
from videos import audio_info, make_audio_only, make_clip, make_empty_video

from steadystyle.cli import main
from steadystyle.models import Model, save_model
from steadystyle.networks import FAST, SLIM, TransformNet, recurrent_from_image
from steadystyle.stylize import StylizeOptions, is_cut, stylize_frames
from steadystyle.video import open_video


@pytest.fixture(scope="module")
def image_model() -> Model:
    torch.manual_seed(0)
    return Model(TransformNet(FAST).eval(), "test")


def _with_history(net: TransformNet) -> TransformNet:
    """Weights on the history inputs made non-zero, so the previous frame and output change the result."""
    with torch.no_grad():
        first = net.trunk.enc[0][0].weight
        first[:, 3:] = torch.randn_like(first[:, 3:]) * first[:, :3].std()
    return net


@pytest.fixture(scope="module")
def recurrent_model(image_model) -> Model:
    return Model(_with_history(recurrent_from_image(image_model.net)).eval(), "test")


@pytest.fixture(scope="module")
def two_shots() -> list[np.ndarray]:
    """Three frames of one photo panning slowly, then three of another: a hard cut at index 3."""
    import skimage.data

    a, b = skimage.data.astronaut()[100:164, 100:196], skimage.data.coffee()[100:164, 200:296]
    return [np.roll(a, i, axis=1) for i in range(3)] + [np.roll(b, i, axis=1) for i in range(3)]


def _run(frames, model, **opts) -> list[torch.Tensor]:
    return list(stylize_frames(frames, model, StylizeOptions(**opts)))


def test_classic_recurrent_files_still_run(two_shots):
    """Model files of the classic layout (styles trained before the fast one) load and run as before."""
    torch.manual_seed(0)
    image = TransformNet(SLIM).eval()
    stable = _run(two_shots, Model(recurrent_from_image(image).eval(), "old"), mode="stable", cut_threshold=None,
                  precision="fp32")
    per_frame = _run(two_shots, Model(image, "old"), mode="per-frame", precision="fp32")
    assert all(torch.equal(a, b) for a, b in zip(stable, per_frame))


@pytest.mark.slow
def test_compiled_network_gives_the_same_frames(recurrent_model, two_shots):
    eager = _run(two_shots, recurrent_model, mode="stable", precision="fp32")
    compiled = _run(two_shots, recurrent_model, mode="stable", compile=True, precision="fp32")
    assert len(compiled) == len(eager)
    assert max((a - b).abs().max().item() for a, b in zip(compiled, eager)) < 1e-3  # well below one 8-bit step


def test_a_network_is_made_once_for_the_same_options_and_weights(image_model, two_shots):
    """A worker stylizing piece after piece (or a program calling again) casts and compiles the network once;
    other options, or weights changed in place, make it anew, and the frames follow the new weights."""
    from steadystyle.stylize import _network

    model = Model(copy.deepcopy(image_model.net), "test")
    eager, compiled = StylizeOptions(precision="fp32"), StylizeOptions(precision="fp32", compile=True)
    first = _network(model, eager)
    assert _network(model, eager) is first and _network(Model(model.net, "same net"), eager) is first
    assert _network(model, compiled) is not first
    before = _run(two_shots[:1], model, precision="fp32")
    with torch.no_grad():
        model.net.trunk.enc[0][0].weight.mul_(2)
    assert _network(model, eager) is not first
    assert not torch.equal(_run(two_shots[:1], model, precision="fp32")[0], before[0])


def test_cut_restarts_the_recurrence(recurrent_model, two_shots):
    assert not is_cut(torch.from_numpy(two_shots[0]).permute(2, 0, 1) / 255,
                      torch.from_numpy(two_shots[1]).permute(2, 0, 1) / 255, 0.2)
    with_cuts = _run(two_shots, recurrent_model, mode="stable")
    without = _run(two_shots, recurrent_model, mode="stable", cut_threshold=None)
    fresh_start = _run(two_shots[3:], recurrent_model, mode="stable")
    assert torch.equal(with_cuts[3], fresh_start[0])  # first frame after the cut == a fresh start
    assert not torch.allclose(without[3], fresh_start[0], atol=1e-3)  # otherwise the old shot bleeds in
    assert all(torch.equal(a, b) for a, b in zip(with_cuts[:3], without[:3]))
    # The recurrence matters: frame 1 is not what a fresh start on it gives.
    assert not torch.allclose(with_cuts[1], _run(two_shots[1:2], recurrent_model, mode="stable")[0], atol=1e-3)


def test_a_paused_frame_stream_leaves_gradients_on_for_its_caller(recurrent_model, two_shots):
    """Training code may run between two frames of a stream (a studio job beside a training, a test)."""
    frames = stylize_frames(two_shots, recurrent_model, StylizeOptions(mode="stable"))
    next(frames)
    assert torch.is_grad_enabled()
    assert next(frames).requires_grad is False  # and the frames themselves carry no graph


def test_modes_must_fit_the_model(image_model, recurrent_model, two_shots):
    with pytest.raises(ValueError, match="per-frame"):
        _run(two_shots, image_model, mode="stable")
    with pytest.raises(ValueError, match="recurrent"):
        _run(two_shots, recurrent_model, mode="per-frame")


@pytest.fixture(scope="module")
def model_files(tmp_path_factory, image_model, recurrent_model):
    folder = tmp_path_factory.mktemp("models")
    return {"per-frame": save_model(image_model.net, folder / "image.safetensors", "test"),
            "stable": save_model(recurrent_model.net, folder / "stable.safetensors", "test")}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["per-frame", "stable"])
def test_video_keeps_frames_rate_duration_and_audio(tmp_path, model_files, mode):
    src = make_clip(tmp_path / "in.mp4", frames=20, fps=20, width=64, height=48, audio="aac")
    out = tmp_path / "out.mp4"
    assert main(["stylize", str(src), "-s", str(model_files[mode]), "-o", str(out), "-q"]) == 0
    a, b = open_video(src), open_video(out)
    assert (b.fps, b.width, b.height) == (a.fps, a.width, a.height)
    assert len(list(b)) == 20 and b.duration == pytest.approx(a.duration, abs=0.06)
    codec_in, seconds_in, packets_in = audio_info(src)
    codec_out, seconds_out, packets_out = audio_info(out)
    assert codec_out == codec_in and seconds_out == pytest.approx(seconds_in, abs=0.07)
    assert packets_out == packets_in  # copied, not re-encoded


@pytest.mark.slow
def test_odd_size_trim_and_frame_folders(tmp_path, model_files):
    src = make_clip(tmp_path / "odd.mov", frames=25, fps=25, width=65, height=49, codec="png", pix_fmt="rgb24")
    frames_out = tmp_path / "frames"
    assert main(["stylize", str(src), "-s", str(model_files["stable"]), "-o", str(frames_out), "-q",
                 "--start", "0.2", "--duration", "0.4"]) == 0
    pngs = sorted(frames_out.glob("*.png"))
    assert len(pngs) == 10
    # A folder of frames is an input too.
    out = tmp_path / "from_frames.mp4"
    assert main(["stylize", str(frames_out), "-s", str(model_files["per-frame"]), "-o", str(out), "-q"]) == 0
    assert len(list(open_video(out))) == 10


def test_bad_videos_fail_clearly_with_no_output(tmp_path, model_files, capsys):
    good = make_clip(tmp_path / "good.mp4", frames=30)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    cases = {"audio only": make_audio_only(tmp_path / "sound.m4a"), "zero frames": make_empty_video(tmp_path / "empty.mkv"),
             "corrupt": corrupt, "truncated": truncated, "missing": tmp_path / "missing.mp4"}
    for why, bad in cases.items():
        out = tmp_path / f"out_{bad.stem}.mp4"
        code = main(["stylize", str(bad), "-s", str(model_files["stable"]), "-o", str(out), "-q"])
        err = capsys.readouterr().err
        assert code == 2 and "error" in err and bad.name in err, why
        assert not out.exists(), why
        assert not list(tmp_path.glob(".out_*")), why  # no temporary file left either


def test_unwritable_output_fails_before_any_work(tmp_path, model_files, capsys):
    src = make_clip(tmp_path / "in.mp4", frames=5)
    code = main(["stylize", str(src), "-s", str(model_files["stable"]), "-o", str(tmp_path / "nope" / "out.mp4")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code = main(["stylize", str(src), "-s", str(model_files["stable"]), "-o", str(tmp_path / "out.avi")])
    assert code == 2 and ".mp4" in capsys.readouterr().err


def test_interrupted_video_leaves_no_file(tmp_path, model_files, interrupt_after):
    src = make_clip(tmp_path / "in.mp4", frames=10)
    out = tmp_path / "out.mp4"
    import steadystyle.stylize as stylize_module

    interrupt_after(stylize_module, 3)  # before the first checkpoint: nothing to resume, nothing left
    assert main(["stylize", str(src), "-s", str(model_files["stable"]), "-o", str(out), "-q"]) == 130
    assert not out.exists() and not list(tmp_path.glob(".out*"))
    assert av.open  # PyAV still usable after the aborted write


def test_webcam_loop_runs_headless_on_a_file_source(tmp_path, model_files, capsys):
    src = make_clip(tmp_path / "camera.mp4", frames=12)
    record = tmp_path / "live.mp4"
    code = main(["stylize", "webcam", "--source", str(src), "-s", str(model_files["stable"]), "--frames", "8",
                 "--no-window", "--record", str(record)])
    assert code == 0
    assert "8 frames" in capsys.readouterr().out
    assert len(list(open_video(record))) == 8
    # A camera that is not there fails clearly.
    assert main(["stylize", "webcam:97", "-s", str(model_files["stable"]), "--no-window", "--frames", "1"]) == 2
    assert "cannot open camera 97" in capsys.readouterr().err
