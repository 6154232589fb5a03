"""The public API end to end, on real small data: what a script, or a front end like the studio, would write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data

import steadystyle as ss
from steadystyle.video import open_video, sidecar_path

from videos import make_clip

FRAMES = 5


@pytest.fixture(scope="module")
def pan() -> list[np.ndarray]:
    """A camera panning 3 px a frame over a real photograph (scikit-image's astronaut), 96x72 RGB uint8."""
    photo = skimage.data.astronaut()[::4, ::4]  # 128x128
    return [np.ascontiguousarray(photo[24:96, 3 * t:96 + 3 * t]) for t in range(FRAMES)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=FRAMES, width=64, height=48)


def test_importing_the_package_gives_the_whole_api():
    assert {"load_model", "stylize_video", "train_style", "evaluate_videos", "analyze", "export_onnx",
            "painting_path", "Cancelled"} <= set(ss.__all__)
    assert all(hasattr(ss, name) for name in ss.__all__)


def test_a_shipped_style_by_name_on_frames_of_a_photo(pan):
    assert {"wave", "wave-per-frame"} <= set(ss.shipped_styles())
    stable = ss.load_model("wave")
    assert isinstance(stable, ss.Model) and stable.recurrent
    outputs = list(ss.stylize_frames(pan, stable))  # default options: the stable mode of a recurrent model
    assert len(outputs) == FRAMES
    for frame, y in zip(pan, outputs):
        x = ss.stylize.as_tensor(frame)
        assert y.shape == (3, 72, 96) and 0 <= y.min() and y.max() <= 1
        assert (y - x).abs().mean() > 0.05  # the style is there: not the photo

    image = ss.stylize.as_tensor(pan[0])
    small = ss.stylize_image(ss.load_model("wave-per-frame"), image, ss.StylizeOptions(max_side=48))
    assert small.shape == (3, 36, 48)
    same = ss.stylize_image(ss.load_model("wave-per-frame"), image, ss.StylizeOptions(strength=0))
    assert (same - image).abs().max() < 1e-6


@pytest.mark.slow
def test_a_video_reports_progress_and_a_raise_in_the_callback_cancels(clip, tmp_path):
    model = ss.load_model("wave")
    seen: list[tuple[int, int | None]] = []
    out = tmp_path / "out.mp4"
    summary = ss.stylize_video(clip, model, out, on_frame=lambda done, total: seen.append((done, total)),
                               progress=False)
    assert seen == [(i, FRAMES) for i in range(1, FRAMES + 1)]
    assert summary.frames == FRAMES and len(list(open_video(out))) == FRAMES and sidecar_path(out).is_file()

    class Stop(Exception):
        pass

    def stop_at_two(done: int, total: int | None) -> None:
        if done == 2:
            raise Stop

    cancelled = tmp_path / "cancelled.mp4"
    with pytest.raises(Stop):
        ss.stylize_video(clip, model, cancelled, on_frame=stop_at_two, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "out.mp4.json"]  # nothing of the cancelled run


@pytest.mark.slow
def test_evaluate_and_analyze(clip, tmp_path, content_photo):
    out = tmp_path / "wave.mp4"
    ss.stylize_video(clip, ss.load_model("wave"), out, progress=False)
    evaluation = ss.evaluate_videos(clip, {"wave": out}, style=ss.painting_path("wave"),
                                    settings=ss.EvaluateSettings(size=64), progress=False)
    assert evaluation.frames == FRAMES and evaluation.methods[0].name == "wave"
    assert evaluation.methods[0].warping_error > 0 and evaluation.methods[0].style_loss > 0

    settings = ss.AnalysisSettings(trace_size=64, content_size=32, iters=2)
    result = ss.analyze([ss.painting_path("udnie")], content=content_photo, settings=settings, progress=False)
    row = result["styles"][0]
    assert row["name"] == "udnie" and row["traces"]["total"] > 0 and row["instability"] > 0


@pytest.mark.slow
def test_train_style_stops_with_a_checkpoint_and_continues(content_photo, tmp_path):
    small = dict(content=str(content_photo.parent), size=64, style_size=96, sample_every=1000)  # one real photo
    image = ss.TrainConfig(style="", steps=4, **small)
    video = ss.VideoTrainConfig(style="", steps=2, clips="none", **small)
    out, per_frame = tmp_path / "wave.safetensors", tmp_path / "wave-per-frame.safetensors"

    def stop_at_two(trainer, losses: dict[str, float]) -> None:
        assert losses["total"] > 0
        if trainer.step == 2:
            raise ss.Cancelled

    with pytest.raises(ss.Cancelled):
        ss.train_style(ss.painting_path("wave"), out, image, video, progress=False, on_step=stop_at_two)
    assert (tmp_path / "wave-per-frame-train" / "checkpoint.pt").is_file() and not per_frame.exists()

    stages: list[tuple[int, str]] = []
    ss.train_style(ss.painting_path("wave"), out, image, video, progress=False,
                   on_stage=lambda number, model, state: stages.append((number, state)))
    assert stages == [(1, "continuing"), (2, "training")]
    assert ss.load_model(per_frame).meta["training"]["steps_done"] == 4
    stable = ss.load_model(out)
    assert stable.recurrent and stable.meta["training"]["init"] == str(per_frame)
