"""The studio in a real browser (Debian's chromium, driven by Playwright) on the real shipped models.

The app runs in this process on a free localhost port, with its own studio folder; each test does what
a user would do on the page and checks what the user would get.
"""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import av
import pytest
import skimage.data
import torch
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from steadystyle.images import to_uint8
from steadystyle.models import ANY_STYLE_VARIABLE, PER_FRAME_SUFFIX, load_model, shipped_styles
from steadystyle.paintings import painting_path
from steadystyle.studio import start
from steadystyle.studio._jobs import JobQueue, Report
from steadystyle.studio._live import LiveSession
from steadystyle.studio._styles import StyleLibrary
from steadystyle.studio._stylize import BOTH, StylizeRequest
from steadystyle.stylize import StylizeOptions, stylize_frames
from videos import make_clip, picture

CHROMIUM = "/usr/bin/chromium"  # Debian's package (`apt-get install chromium`); Playwright's download cannot work here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run",
                 # A camera for the Live tab: Chromium's built-in test pattern, allowed without asking.
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
PATIENCE_MS = 300_000  # the machine may be busy with other work: generous, so that only a broken page fails
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*(no_silent_downcasting|copy keyword)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory) -> str:
    port = free_port()
    app = start("127.0.0.1", port, folder=tmp_path_factory.mktemp("studio"))
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def browser() -> Browser:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser with `apt-get install -y chromium`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, studio_url: str) -> Page:
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 1000}, permissions=["camera"])
    page.set_default_timeout(PATIENCE_MS)
    expect.set_options(timeout=PATIENCE_MS)
    page.goto(studio_url)
    expect(page.locator("#styles img").first).to_be_visible()
    yield page
    page.close()


def upload(page: Page, component: str, file: Path) -> None:
    page.locator(f"#{component} input[type=file]").set_input_files(file)
    expect(page.locator(f"#{component}").get_by_label(file.name)).to_be_visible()


@pytest.mark.slow
def test_gallery_lists_every_shipped_style(page: Page):
    names = {stem.removesuffix(PER_FRAME_SUFFIX) for stem in shipped_styles()}
    assert names, "no shipped styles in this installation"
    gallery = page.locator("#styles")
    for name in sorted(names):
        expect(gallery.get_by_text(name, exact=True)).to_be_attached()
    assert gallery.locator("img").count() == len(names)


@pytest.mark.slow
def test_stylized_clip_downloads_as_mp4_with_sound_and_every_frame(page: Page, tmp_path: Path):
    clip = make_clip(tmp_path / "clip.mp4", frames=12, audio="aac")
    upload(page, "source", clip)
    page.locator("#styles button", has_text="udnie").click()
    expect(page.locator("#chosen-style")).to_contain_text("udnie")
    page.locator("#stylize-button").click()

    row = page.locator("#downloads tr").filter(has=page.get_by_label("clip-udnie-stable.mp4"))
    with page.expect_download() as download:
        row.get_by_role("link").click()
    result = tmp_path / download.value.suggested_filename
    download.value.save_as(result)

    assert result.read_bytes()[4:8] == b"ftyp", "not an MP4 file"
    with av.open(str(result)) as video:
        assert "mp4" in video.format.name
        assert len(video.streams.audio) == 1, "the sound of the source was lost"
        assert sum(1 for _ in video.decode(video=0)) == 12
    expect(page.locator("#result-video video")).to_be_attached()

    with page.expect_download() as from_job_list:  # the job list links to the same result
        page.locator("#jobs").get_by_role("link", name="clip-udnie-stable.mp4").click()
    assert Path(from_job_list.value.path()).read_bytes() == result.read_bytes()


@pytest.mark.slow
def test_any_picture_becomes_a_style_at_once(page: Page, tmp_path: Path, paintings: Path, trained: Path, monkeypatch):
    """Stylize tab: upload a picture as the style, stylize a photo with it; the Live tab offers it too."""
    monkeypatch.setenv(ANY_STYLE_VARIABLE, str(trained))  # the studio runs in this process
    page.get_by_text("Any picture as the style").click()
    page.locator("#style-picture input[type=file]").set_input_files(paintings / "grass.png")  # taken, then cleared
    expect(page.locator("#chosen-style")).to_contain_text("picture-grass")
    expect(page.locator("#styles").get_by_text("picture-grass", exact=True)).to_be_attached()
    photo = tmp_path / "photo.png"
    Image.fromarray(skimage.data.chelsea()[::3, ::3]).save(photo)
    upload(page, "source", photo)
    page.locator("#stylize-button").click()
    expect(page.locator("#result-image img")).to_be_visible()
    expect(page.locator("#downloads").get_by_label("photo-picture-grass-stable.png")).to_be_attached()
    page.get_by_role("tab", name="Live").click()
    page.locator("#live-style input").click()
    expect(page.get_by_role("option", name="picture-grass")).to_be_attached()


@pytest.mark.slow
def test_bad_upload_shows_a_readable_error(page: Page, tmp_path: Path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("meeting notes, not a video\n")
    upload(page, "source", fake)
    page.locator("#stylize-button").click()

    expect(page.get_by_text("notes.mp4: not a readable video")).to_be_visible()
    text = page.locator("body").inner_text()
    assert "Traceback" not in text
    assert "/gradio/" not in text, "the message shows the server's upload folder instead of the file's name"


@pytest.mark.slow
def test_measure_takes_the_files_of_a_trimmed_both_job(page: Page, tmp_path: Path):
    """A "both" job of the first second of a 2-second clip is measured over that second, A and B apart."""
    clip = make_clip(tmp_path / "walk.mp4", frames=16, fps=8)
    upload(page, "source", clip)
    page.locator("#styles button", has_text="udnie").click()
    page.locator("#mode").get_by_label("both, side by side").check()
    page.locator("#seconds input").fill("1")
    page.locator("#stylize-button").click()
    expect(page.locator("#downloads").get_by_label("walk-udnie-both.mp4")).to_be_visible()

    page.get_by_role("tab", name="Measure").click()
    page.locator("#measure-job input").click()
    page.get_by_role("option", name=re.compile(r"walk\.mp4 · udnie · both · first 1 s")).click()
    expect(page.locator("#measure-a").get_by_label("walk-udnie-stable.mp4")).to_be_visible()
    expect(page.locator("#measure-b").get_by_label("walk-udnie-per-frame.mp4")).to_be_visible()
    page.locator("#measure-button").click()

    table = page.locator("#measure-table")
    expect(table).to_contain_text("source (reference)")
    expect(table).to_contain_text("A: stable")
    expect(table).to_contain_text("B: per-frame")
    # How each result was made is in its sidecar, beside the job's own file: the job's files were measured.
    expect(table).to_contain_text("stylize udnie-per-frame.safetensors per-frame")
    expect(page.get_by_text("8 frames of source.mp4")).to_be_visible()
    text = page.locator("body").inner_text()
    assert "/gradio/" not in text and "/jobs/" not in text


@pytest.mark.slow
def test_measure_speaks_to_the_user_about_uploads(page: Page, tmp_path: Path):
    """Uploads of other lengths get a message without server paths or command flags, which goes away;
    uploads that fit are measured, without the speed and origin columns they have no values for."""
    source = make_clip(tmp_path / "holiday.mp4", frames=8)
    short = make_clip(tmp_path / "holiday-starry-per-frame.mp4", frames=6)
    page.get_by_role("tab", name="Measure").click()
    upload(page, "measure-source", source)
    upload(page, "measure-a", make_clip(tmp_path / "holiday-starry-stable.mp4", frames=8))
    upload(page, "measure-b", short)
    page.locator("#measure-button").click()
    message = page.get_by_text("the source has 8 frames, A has 8 and B 6")
    expect(message).to_be_visible()
    toast = page.locator(".toast-body").inner_text()
    assert "--" not in toast and "/tmp" not in toast
    expect(message).to_be_hidden(timeout=60_000)  # it closes by itself

    page.locator("#measure-b button[aria-label='Clear']").click()
    upload(page, "measure-b", make_clip(short, frames=8))
    page.locator("#measure-button").click()
    table = page.locator("#measure-table")
    expect(table).to_contain_text("A: stable")
    expect(table).to_contain_text("B: per-frame")
    assert "FPS when made" not in table.inner_text() and "unknown" not in table.inner_text()


@pytest.mark.slow
def test_cancel_stops_the_job_just_started_without_error_badges(page: Page, tmp_path: Path):
    upload(page, "source", make_clip(tmp_path / "long.mp4", frames=400, width=320, height=240))
    page.locator("#styles button", has_text="udnie").click()
    page.locator("#stylize-button").click()
    expect(page.locator("#job-id input")).to_have_value(re.compile(r"^\d{8}-\d{6}-"))
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#status")).to_contain_text("was cancelled")
    expect(page.locator("#jobs")).to_contain_text("cancelled; nothing was written")
    assert page.get_by_text("Error", exact=True).count() == 0
    assert "no job" not in page.locator("body").inner_text()


@pytest.mark.slow
def test_train_tab_says_when_the_curve_comes_and_how_long_is_left(page: Page):
    page.get_by_role("tab", name="Train").click()
    page.locator("#painting input[type=file]").set_input_files(painting_path("wave"))
    page.get_by_label("Style name").fill("quick")
    page.get_by_text("Training length").click()
    page.get_by_label("Stage 1 steps (per-frame network)").fill("30")
    page.get_by_role("button", name="Start training").click()
    status = page.locator("#train-status")
    expect(status).to_contain_text("The loss curve appears at step 20")
    expect(page.locator("#loss")).to_be_hidden()
    expect(status).to_contain_text(re.compile(r"step \d+ of 30; (about \d+ min|less than a minute) left"))
    expect(page.locator("#loss")).to_be_visible()
    expect(status).not_to_contain_text("The loss curve appears")
    page.get_by_role("button", name="Stop (keeps a checkpoint)").click()
    expect(status).to_contain_text(re.compile("stopped|finished"))


@pytest.mark.slow
@pytest.mark.parametrize("tab, control", [("Live", "#camera"), ("Train", "#painting"), ("Measure", "#measure-button")])
def test_each_tab_opens(page: Page, tab: str, control: str):
    page.get_by_role("tab", name=tab).click()
    expect(page.locator(control)).to_be_visible()


@pytest.mark.slow
def test_live_tab_stylizes_the_camera(page: Page):
    page.get_by_role("tab", name="Live").click()
    page.get_by_text("Click to Access Webcam").click()
    page.locator("#camera").get_by_text("Record").click()
    expect(page.locator("#live-output img")).to_be_visible()


@pytest.mark.slow
def test_live_session_carries_the_recurrent_state_like_a_video():
    """Frame by frame, as the webcam sends them, gives what the same frames give as one stream."""
    frames = [picture(i, 96, 64) for i in range(3)]
    model_file = shipped_styles()["udnie"]
    opts = StylizeOptions(mode="stable", max_side=64)
    live = LiveSession(("udnie",), load_model(model_file), opts)
    stepped = [live.step(frame) for frame in frames]
    streamed = [to_uint8(y) for y in stylize_frames(frames, load_model(model_file), opts)]
    fresh = [to_uint8(next(stylize_frames([frame], load_model(model_file), opts))) for frame in frames]
    for got, want in zip(stepped, streamed):
        assert torch.equal(torch.from_numpy(got), torch.from_numpy(want))
    assert not torch.equal(torch.from_numpy(stepped[2]), torch.from_numpy(fresh[2])), "the recurrence was not used"


def test_jobs_cancel_and_a_restart_marks_unfinished_ones_interrupted(tmp_path: Path):
    started, release = threading.Event(), threading.Event()

    def slow(folder: Path, report) -> list[Path]:
        started.set()
        while not release.wait(0.01):
            report(0.5, "working")
        return []

    jobs = JobQueue(tmp_path)
    cancelled = jobs.submit("to cancel", slow)
    assert started.wait(30)
    jobs.cancel(cancelled.id)
    assert jobs.wait(cancelled.id, lambda job: None, every=0.01).status == "cancelled"

    started.clear()
    stuck = jobs.submit("cut short by a restart", slow)
    assert started.wait(30)
    after_restart = JobQueue(tmp_path)
    assert after_restart.get(stuck.id).status == "interrupted"
    assert after_restart.get(cancelled.id).status == "cancelled"
    release.set()


@pytest.mark.slow
def test_a_cancelled_stylize_job_leaves_no_files(tmp_path: Path):
    """Cancelled in its second network's pass, a 'both' job keeps neither the first pass's video nor a part."""
    clip = make_clip(tmp_path / "clip.mp4", frames=12)
    studio = tmp_path / "studio"
    request = StylizeRequest(clip, StyleLibrary(studio).get("udnie"), BOTH)
    jobs = JobQueue(studio)

    def cancelled_midway(folder: Path, report: Report) -> list[Path]:
        def press_cancel(fraction: float, note: str) -> None:
            if note.startswith("per-frame network: frame 3 "):
                jobs.cancel(folder.name)  # what the Cancel button does, at a known moment
            report(fraction, note)

        return request.run(folder, press_cancel)

    job = jobs.wait(jobs.submit(request.title, cancelled_midway).id, lambda job: None, every=0.05)
    assert (job.status, job.note) == ("cancelled", "cancelled; nothing was written")
    assert [p.name for p in (jobs.root / job.id).iterdir()] == ["job.json"]
