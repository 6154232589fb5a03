"""Where training runs: the device (`--device`), and several processes under torchrun that train exactly
what one process trains on the same global batch."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image

from steadystyle.device import DeviceError, resolve_device, training_precision
from steadystyle.models import load_model
from steadystyle.paintings import painting_path
from steadystyle.training import ImageTrainer, TrainConfig, VideoTrainConfig, VideoTrainer
from steadystyle.training._datasets import ContentImages, SequenceBatches
from steadystyle.training._distributed import Cluster
from steadystyle.vgg import to_torchvision_state

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def content(content_photo, tmp_path_factory) -> Path:
    """Three small views of a real photograph."""
    folder = tmp_path_factory.mktemp("content")
    photo = Image.open(content_photo)
    for i, box in enumerate(((0, 0, 320, 240), (320, 0, 640, 240), (160, 187, 480, 427))):
        photo.crop(box).resize((48, 40)).save(folder / f"view{i}.png")
    return folder


def test_shards_of_the_processes_make_up_the_global_batch(content):
    stills = ContentImages(content, 32, seed=3)
    sequences = SequenceBatches(None, stills, 32, 2, seed=3, progress=False, nuisance_fraction=0.5)
    whole, clips = stills.batch(7, 3), sequences.batch(7, 3)
    shards = [Cluster(CPU, rank, 2).shard(3) for rank in range(2)]
    assert [list(s) for s in shards] == [[0, 2], [1]]
    for shard in shards:
        assert torch.equal(stills.batch(7, shard), whole[list(shard)])
        assert torch.equal(sequences.batch(7, shard).frames, clips.frames[list(shard)])
    # Each process's loss counts by its share of the batch: DDP's average then is the global batch's gradient.
    assert [Cluster(CPU, rank, 2).loss_scale(3) for rank in range(2)] == pytest.approx([4 / 3, 2 / 3])
    with pytest.raises(ValueError, match="--batch 4 or more"):
        Cluster(CPU, 0, 4).shard(2)


def test_devices_resolve_or_say_what_to_use():
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if torch.cuda.is_available():
        assert resolve_device("cuda").type == "cuda"
    else:
        with pytest.raises(DeviceError, match="no CUDA GPU.*--device cpu"):
            resolve_device("cuda")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    assert training_precision(CPU, False).dtype is None


@pytest.mark.parametrize("native", [True, False])
def test_training_takes_bf16_only_where_the_cpu_computes_it(monkeypatch, native):
    """Emulated on AVX2 alone, bf16 convolutions train 17x slower than fp32 ones."""
    import steadystyle.device

    monkeypatch.setattr(steadystyle.device, "native_bf16", lambda: native)
    assert training_precision(CPU, True).dtype == (torch.bfloat16 if native else None)
    assert not training_precision(CPU, True).scaler().is_enabled()


# What each torchrun process runs: both stages, as `steadystyle train style` does.
WORKER = """
import json, sys
from steadystyle.training import TrainConfig, VideoTrainConfig, train_style

job = json.loads(open(sys.argv[1]).read())
train_style(job["style"], job["out"], TrainConfig.from_dict(job["image"]), VideoTrainConfig.from_dict(job["video"]),
            vgg_weights=job["vgg"], progress=False)
"""


def _losses(work: Path) -> list[dict[str, float]]:
    rows = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("step", "seconds")} for row in rows if "event" not in row]


def _starts(work: Path) -> list[dict]:
    rows = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    return [row for row in rows if row.get("event") == "start"]


def _assert_same_losses(ours: list[dict[str, float]], reference: list[dict[str, float]]) -> None:
    assert len(ours) == len(reference)
    for mine, theirs in zip(ours, reference):
        assert mine.keys() == theirs.keys()
        assert [mine[k] for k in mine] == pytest.approx([theirs[k] for k in mine], rel=1e-4)


@pytest.mark.slow
def test_two_processes_train_what_one_does_and_resume_on_one(content, vgg_weights, tmp_path):
    vgg = tmp_path / "vgg16.pth"  # the real weights, in a file each process reads in a moment
    torch.save(to_torchvision_state(vgg_weights), vgg)
    style = str(painting_path("wave"))
    # Adam's first steps move every weight by about lr whatever the size of its gradient, so rounding
    # differences flip some weights' steps: small rates keep that well below the tolerance. Stage 2 needs
    # the smaller one: there, even one process computing its batch in two parts (2 + 1 items, as the two
    # processes do) has gradients 1e-3 apart, where the previous output is clamped before it is fed back.
    common = dict(style=style, content=str(content), size=32, batch=3, bf16=False, device="cpu", log_every=1)
    image = TrainConfig(style_size=48, steps=3, lr=3e-5, **common)
    video = VideoTrainConfig(steps=2, lr=1e-5, clips="none", seq_len=2, **common)

    job = tmp_path / "job.json"
    out = tmp_path / "two" / "s.safetensors"
    out.parent.mkdir()
    job.write_text(json.dumps({"style": style, "out": str(out), "image": image.as_dict(), "video": video.as_dict(),
                               "vgg": str(vgg)}))
    (tmp_path / "worker.py").write_text(WORKER)
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(tmp_path / "worker.py"), str(job)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    per_frame_work, stable_work = tmp_path / "two" / "s-per-frame-train", tmp_path / "two" / "s-train"
    for work in (per_frame_work, stable_work):
        assert _starts(work) == [{"event": "start", "step": 0, "device": "cpu", "world_size": 2, "backend": "gloo",
                                  "global_batch": 3}]
        assert not list(work.glob(".*part*"))  # rank 0 alone wrote, atomically
    per_frame = load_model(tmp_path / "two" / "s-per-frame.safetensors").meta["training"]
    assert (per_frame["world_size"], per_frame["backend"], per_frame["global_batch"]) == (2, "gloo", 3)
    assert set(per_frame["final_losses"]) == {"style", "content", "tv", "total"}

    # The stage-2 checkpoint continues in one process, two more steps.
    state = torch.load(stable_work / "checkpoint.pt", weights_only=True)
    stage2 = replace(VideoTrainConfig.from_dict(state["config"]), steps=4)
    VideoTrainer(stage2, out, vgg_weights=vgg, resume=True, progress=False).run()
    assert [s["world_size"] for s in _starts(stable_work)] == [2, 1]
    assert load_model(out).meta["training"]["world_size"] == 1

    # One process, the same global batches, each stage from the same start (stage 2 from the same stage-1 model).
    one = tmp_path / "one"
    one.mkdir()
    ImageTrainer(image, one / "s-per-frame.safetensors", vgg_weights=vgg, progress=False).run()
    VideoTrainer(stage2, one / "s.safetensors", vgg_weights=vgg, progress=False).run()
    _assert_same_losses(_losses(per_frame_work), _losses(one / "s-per-frame-train"))
    _assert_same_losses(_losses(stable_work), _losses(one / "s-train"))
