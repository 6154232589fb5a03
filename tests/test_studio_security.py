"""The studio against hostile requests: real HTTP to a studio running on 127.0.0.1, as a web page on another
site (through the user's browser), a DNS-rebinding domain or another local program would send them.

The studio runs with a password and a 1 MB upload limit; a finished job is in its folder before it starts.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from pathlib import Path

import pytest
from gradio.utils import get_upload_folder

from steadystyle.studio import start
from steadystyle.studio._guard import Door, split_host
from steadystyle.studio._jobs import JobQueue
from test_studio import free_port

USER, PASSWORD = "ann", "correct horse"
CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
RESULT = b"the stylized result\n"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def finished_job(folder: Path) -> tuple[str, Path]:
    """A job that wrote one result, run to the end by the studio's own queue (as a restart finds it)."""
    def work(job_folder: Path, report) -> list[Path]:
        (job_folder / "source.mp4").write_bytes(b"the user's upload\n")
        result = job_folder / "clip-udnie-stable.mp4"
        result.write_bytes(RESULT)
        return [result]

    jobs = JobQueue(folder)
    job = jobs.wait(jobs.submit("clip.mp4 · udnie · stable", work).id, lambda job: None, every=0.02)
    assert job.status == "done"
    return job.id, Path(job.results[0])


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio")
    job_id, result = finished_job(folder)
    (folder / "models" / "secret.work").mkdir(parents=True)
    (folder / "models" / "secret.work" / "checkpoint.pt").write_bytes(b"not for download\n")
    port = free_port()
    app = start("127.0.0.1", port, folder=folder, auth=(USER, PASSWORD), max_upload_mb=1)
    yield {"port": port, "folder": folder, "job": job_id, "result": result}
    app.close()


def ask(studio: dict, path: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
        host: str | None = None) -> tuple[int, bytes]:
    """One raw request: the path is sent as written (no normalising of '..'), the Host header as given."""
    connection = http.client.HTTPConnection("127.0.0.1", studio["port"], timeout=60)
    sent = {"Host": host or f"127.0.0.1:{studio['port']}", **CREDENTIALS, **(headers or {})}
    connection.request(method, path, body=body, headers={k: v for k, v in sent.items() if v is not None})
    response = connection.getresponse()
    status, data = response.status, response.read()
    connection.close()
    return status, data


def upload(studio: dict, size: int, **kwargs) -> tuple[int, bytes]:
    boundary = "steadystyle-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"clip.mp4\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode() + b"\0" * size + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", **kwargs.pop("headers", {})}
    return ask(studio, "/gradio_api/upload", "POST", headers, body, **kwargs)


def test_the_studio_answers_at_its_own_address(studio):
    port = studio["port"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, page = ask(studio, "/", host=host)
        assert status == 200 and b"<html" in page.lower()
    assert ask(studio, "/config", headers={"Origin": f"http://127.0.0.1:{port}"})[0] == 200


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1.nip.io:{port}", "127.0.0.1:80", "localhost",
                                  "evil.example"])
def test_a_foreign_host_header_is_refused(studio, host):
    """DNS rebinding: the attacker's domain resolves to 127.0.0.1, the browser still names that domain."""
    host = host.format(port=studio["port"])
    for path, method in (("/", "GET"), ("/config", "GET"), ("/gradio_api/info", "GET")):
        assert ask(studio, path, method, host=host)[0] == 403, (host, path)
    assert upload(studio, 10, host=host)[0] == 403


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:1", "http://127.0.0.1"])
def test_a_foreign_origin_is_refused(studio, origin):
    """A page on another site posting to the studio (cross-site upload) or reading its config."""
    assert upload(studio, 10, headers={"Origin": origin})[0] == 403
    assert ask(studio, "/config", headers={"Origin": origin})[0] == 403
    status, _ = ask(studio, "/gradio_api/queue/join", "POST", {"Origin": origin, "Content-Type": "application/json"},
                    b"{}")
    assert status == 403


def test_a_cross_site_fetch_without_origin_is_refused(studio):
    """<img>/<video> on another site send no Origin, but the browser says where they come from."""
    job = f"/results/{studio['job']}/{studio['result'].name}"
    assert ask(studio, job, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"})[0] == 403
    assert ask(studio, job, headers={"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"})[0] == 200


def test_own_upload_within_the_limit_is_accepted(studio):
    status, body = upload(studio, 1000, headers={"Origin": f"http://127.0.0.1:{studio['port']}"})
    assert status == 200 and json.loads(body)[0].endswith("clip.mp4")


def test_an_oversized_upload_is_refused(studio):
    status, body = upload(studio, 2**20 + 1)
    assert status == 413, body


def test_job_results_download_and_nothing_else(studio):
    folder, job = studio["folder"], studio["job"]
    status, data = ask(studio, f"/results/{job}/{studio['result'].name}")
    assert (status, data) == (200, RESULT)
    for name in ("job.json", "source.mp4", "..%2F..%2Fmodels%2Fsecret.work%2Fcheckpoint.pt"):
        assert ask(studio, f"/results/{job}/{name}")[0] == 404, name
    assert ask(studio, "/results/../models/secret.work/checkpoint.pt")[0] == 404
    studio_files = [folder / "models" / "secret.work" / "checkpoint.pt", folder / "jobs" / job / "job.json",
                    studio["result"], Path("/etc/passwd")]
    for file in studio_files:
        for route in ("/gradio_api/file=", "/gradio_api/file"):
            assert ask(studio, f"{route}{file}")[0] == 403, (route, file)
    cache = Path(json.loads(upload(studio, 10)[1])[0]).parent
    assert ask(studio, f"/gradio_api/file={cache}/../../..{folder}/models/secret.work/checkpoint.pt")[0] == 403
    assert ask(studio, "/gradio_api/file=https://example.com/")[0] == 403


def test_config_and_page_name_no_server_folder(studio):
    """Only Gradio's cache (where it keeps what it shows) may appear, as the file protocol needs it."""
    status, config = ask(studio, "/config")
    assert status == 200
    text = config.decode() + ask(studio, "/")[1].decode()
    for folder in (studio["folder"], Path.home(), Path.cwd(), Path(__file__).parents[1]):
        assert str(folder) not in text, folder
    paths = {p for p in re.findall(r'"path":\s*"([^"]+)"', text) if not p.startswith("http")}
    assert paths, "the gallery's pictures should be in the config"
    assert all(Path(p).is_relative_to(get_upload_folder()) for p in paths), paths


def test_monitoring_and_run_history_are_off(studio):
    for path in ("/monitoring", "/monitoring/summary", "/monitoring/anykey"):
        assert ask(studio, path)[0] == 403, path
    assert ask(studio, "/gradio_api/runs")[0] == 404


def test_the_password_is_asked_on_every_route(studio):
    job = f"/results/{studio['job']}/{studio['result'].name}"
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{USER}:guess".encode()).decode()}
    for path in ("/", "/config", job, "/gradio_api/info"):
        for headers in ({"Authorization": None}, wrong, {"Authorization": "Bearer x"}):
            assert ask(studio, path, headers=headers)[0] == 401, (path, headers)
    assert upload(studio, 10, headers={"Authorization": None})[0] == 401


def test_door_reads_host_headers():
    assert split_host("127.0.0.1:7860") == ("127.0.0.1", 7860)
    assert split_host("[::1]:7860") == ("::1", 7860)
    assert split_host("Example.COM") == ("example.com", None)
    everywhere = Door("0.0.0.0", 7860)
    assert everywhere.accepts_host("192.168.1.20:7860") and everywhere.accepts_host("localhost:7860")
    assert not everywhere.accepts_host("evil.example:7860") and not everywhere.accepts_host("192.168.1.20:7861")
    one = Door("192.168.1.20", 7860)
    assert one.accepts_host("192.168.1.20:7860") and not one.accepts_host("10.0.0.1:7860")


def test_auth_on_the_command_line_needs_a_user_and_a_password(monkeypatch):
    from steadystyle.cli import build_parser

    monkeypatch.delenv("STEADYSTYLE_STUDIO_AUTH", raising=False)
    assert build_parser().parse_args(["studio", "--auth", "ann:a:b"]).auth == ("ann", "a:b")
    assert build_parser().parse_args(["studio"]).auth is None
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["studio", "--auth", bad])
