"""The download function, against a local HTTP server on 127.0.0.1 (never the internet)."""
from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mam_lib.inference import weights
from mam_lib.errors import DownloadError

BLOB = bytes(range(256)) * 4096  # 1 MiB


class RangeHandler(BaseHTTPRequestHandler):
    served: list = []

    def do_GET(self):  # noqa: N802 (http.server's naming)
        data = self.server.payload
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        # recorded before the body goes out: once the client has read it, the test may look
        RangeHandler.served.append((self.path, start))
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.payload = BLOB
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.served = []
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def entry(monkeypatch):
    e = weights.WeightFile("blob.pth", "http://127.0.0.1:1/unused", hashlib.sha256(BLOB).hexdigest(), len(BLOB))
    monkeypatch.setitem(weights.REGISTRY, "test_blob", e)
    return e


def url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/blob.pth"


def test_download_checks_and_renames(server, entry, tmp_path):
    path = weights.download("test_blob", tmp_path, url=url(server), progress=False)
    assert path == tmp_path / "blob.pth" and path.read_bytes() == BLOB
    assert not (tmp_path / "blob.pth.part").exists()
    assert weights.find_checkpoint("test_blob", tmp_path) == path
    # a second call finds the verified file and does not download again
    weights.download("test_blob", tmp_path, url=url(server), progress=False)
    assert len(RangeHandler.served) == 1


def test_download_resumes_a_partial_file(server, entry, tmp_path):
    (tmp_path / "blob.pth.part").write_bytes(BLOB[:300_000])
    path = weights.download("test_blob", tmp_path, url=url(server), progress=False)
    assert path.read_bytes() == BLOB
    assert RangeHandler.served == [("/blob.pth", 300_000)]


def test_checksum_mismatch_deletes_and_explains(server, entry, tmp_path, monkeypatch):
    monkeypatch.setitem(weights.REGISTRY, "test_blob", weights.WeightFile("blob.pth", None, "0" * 64))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        weights.download("test_blob", tmp_path, url=url(server), progress=False)
    assert not (tmp_path / "blob.pth").exists() and not (tmp_path / "blob.pth.part").exists()


def test_unreachable_server_and_by_hand_files_are_explained(tmp_path, entry):
    with pytest.raises(DownloadError, match="resume"):
        weights.download("test_blob", tmp_path, url="http://127.0.0.1:9/blob.pth", progress=False, timeout=2)
    with pytest.raises(DownloadError, match="by hand"):
        weights.download("mam_vitb", tmp_path)
    with pytest.raises(DownloadError, match="unknown weight file"):
        weights.download("sam_vit_z", tmp_path)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MAM_CACHE_DIR", str(tmp_path))
    assert weights.cache_dir() == tmp_path
    assert weights.REGISTRY["sam_vit_b"].url.startswith("https://dl.fbaipublicfiles.com/segment_anything/")
