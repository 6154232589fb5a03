"""The studio in a real browser (Debian's chromium, driven by Playwright) on the real shipped models.

The app runs in this process on a free localhost port, with its own studio folder; each test does what
a user would do on the page and checks what the user would get.
"""

from __future__ import annotations

import socket
from pathlib import Path

import av
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from steadystyle.models import PER_FRAME_SUFFIX, shipped_styles
from steadystyle.studio import start
from videos import make_clip

CHROMIUM = "/usr/bin/chromium"  # Debian's package (`apt-get install chromium`); Playwright's download cannot work here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
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
    page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(PATIENCE_MS)
    expect.set_options(timeout=PATIENCE_MS)
    page.goto(studio_url)
    expect(page.locator("#styles img").first).to_be_visible()
    yield page
    page.close()


def upload(page: Page, component: str, file: Path) -> None:
    page.locator(f"#{component} input[type=file]").set_input_files(file)
    expect(page.locator(f"#{component}").get_by_label(file.name)).to_be_visible()


def test_gallery_lists_every_shipped_style(page: Page):
    names = {stem.removesuffix(PER_FRAME_SUFFIX) for stem in shipped_styles()}
    assert names, "no shipped styles in this installation"
    gallery = page.locator("#styles")
    for name in sorted(names):
        expect(gallery.get_by_text(name, exact=True)).to_be_attached()
    assert gallery.locator("img").count() == len(names)


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


def test_bad_upload_shows_a_readable_error(page: Page, tmp_path: Path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("meeting notes, not a video\n")
    upload(page, "source", fake)
    page.locator("#stylize-button").click()

    expect(page.get_by_text("notes.mp4: not a readable video")).to_be_visible()
    text = page.locator("body").inner_text()
    assert "Traceback" not in text
    assert "/gradio/" not in text, "the message shows the server's upload folder instead of the file's name"


@pytest.mark.parametrize("tab, control", [("Live", "#camera"), ("Train", "#painting"), ("Measure", "#measure-button")])
def test_each_tab_opens(page: Page, tab: str, control: str):
    page.get_by_role("tab", name=tab).click()
    expect(page.locator(control)).to_be_visible()
