"""The downloader against servers that misbehave (a local HTTP server on 127.0.0.1, never the internet)."""
from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mam_lib.errors import DownloadError, OutputError
from mam_lib.inference import weights

BLOB = bytes(range(256)) * 1024  # 256 KiB


class CutHandler(BaseHTTPRequestHandler):
    """Serves ``BLOB`` with Range support; the first ``cuts`` answers stop half-way and close cleanly."""

    cuts = 0
    send_length = True
    ranges: list = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}")
        else:
            self.send_response(200)
        CutHandler.ranges.append(start)
        body = BLOB[start:]
        if CutHandler.send_length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if CutHandler.cuts > 0:
            CutHandler.cuts -= 1
            body = body[: len(body) // 2]
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture()
def url():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), CutHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    CutHandler.ranges, CutHandler.cuts, CutHandler.send_length = [], 0, True
    yield f"http://127.0.0.1:{httpd.server_address[1]}/blob.pth"
    httpd.shutdown()
    httpd.server_close()


def _register(monkeypatch, sha256, size):
    monkeypatch.setitem(weights.REGISTRY, "test_blob", weights.WeightFile("blob.pth", "http://127.0.0.1:1/x", sha256, size))


@pytest.mark.parametrize("send_length, size", [(True, None), (False, len(BLOB))])
def test_a_connection_closed_early_keeps_the_part_file_and_resumes(tmp_path, url, monkeypatch, send_length, size):
    _register(monkeypatch, hashlib.sha256(BLOB).hexdigest(), size)
    CutHandler.cuts, CutHandler.send_length = 1, send_length
    with pytest.raises(DownloadError, match="resume"):  # was: "checksum mismatch" and the part deleted
        weights.download("test_blob", tmp_path, url=url, progress=False)
    part = tmp_path / "blob.pth.part"
    assert part.stat().st_size == len(BLOB) // 2 and not (tmp_path / "blob.pth").exists()
    path = weights.download("test_blob", tmp_path, url=url, progress=False)
    assert path.read_bytes() == BLOB and CutHandler.ranges == [0, len(BLOB) // 2]


def test_without_a_checksum_a_truncated_file_never_gets_the_final_name(tmp_path, url, monkeypatch):
    _register(monkeypatch, None, None)
    CutHandler.cuts = 1
    with pytest.raises(DownloadError, match="closed the connection|resume"):
        weights.download("test_blob", tmp_path, url=url, progress=False)
    assert not (tmp_path / "blob.pth").exists()  # was: saved under the final name, returned next time
    assert weights.download("test_blob", tmp_path, url=url, progress=False).read_bytes() == BLOB


def test_a_short_file_of_known_size_is_fetched_again(tmp_path, url, monkeypatch):
    _register(monkeypatch, None, len(BLOB))
    (tmp_path / "blob.pth").write_bytes(BLOB[:1000])
    assert weights.download("test_blob", tmp_path, url=url, progress=False).read_bytes() == BLOB


def test_a_download_folder_that_is_a_file_is_named(tmp_path, url, monkeypatch):
    _register(monkeypatch, None, None)
    (tmp_path / "weights").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        weights.download("test_blob", tmp_path / "weights", url=url, progress=False)
