import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from lmlib.data import shakespeare as data
from lmlib.data.shakespeare import CharDataset, DataError, RemoteFile, fetch, get_batch

BODY = b"First Citizen:\nBefore we proceed any further, hear me speak.\n" * 50


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1 serving BODY at /good and a broken body at /bad."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path not in ("/good", "/bad"):
                self.send_error(404)
                return
            body = BODY if self.path == "/good" else BODY[:-10] + b"XXXXXXXXXX"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def remote(url: str) -> RemoteFile:
    return RemoteFile("corpus.txt", url, hashlib.sha256(BODY).hexdigest(), len(BODY))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_download_into_cache_then_reuse(server, cache):
    path = fetch(remote(server + "/good"))
    assert path == cache / "corpus.txt" and path.read_bytes() == BODY
    # the second call must not touch the network: a dead URL still works from the cache
    assert fetch(remote("http://127.0.0.1:9/unreachable")) == path


def test_wrong_checksum_leaves_no_file(server, cache):
    with pytest.raises(DataError, match="sha256"):
        fetch(remote(server + "/bad"))
    assert not any(cache.iterdir())  # neither the file nor a partial download


def test_unreachable_server_says_how_to_work_offline(server, cache):
    with pytest.raises(DataError, match=data.DATA_ENV):
        fetch(remote(server + "/missing"))
    assert not any(cache.iterdir())


def test_corrupt_cached_copy_is_replaced(server, cache):
    cache.mkdir(parents=True)
    (cache / "corpus.txt").write_bytes(b"truncated")
    assert fetch(remote(server + "/good")).read_bytes() == BODY


def test_local_data_dir_is_used_and_verified(tmp_path, monkeypatch):
    (tmp_path / "corpus.txt").write_bytes(BODY)
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert fetch(remote("http://127.0.0.1:9/never")) == tmp_path / "corpus.txt"
    (tmp_path / "corpus.txt").write_bytes(BODY + b"!")
    with pytest.raises(DataError, match="sha256"):
        fetch(remote("http://127.0.0.1:9/never"))
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="no corpus.txt"):
        fetch(remote("http://127.0.0.1:9/never"))


def test_tiny_shakespeare_from_local_copy():
    if not data.os.environ.get(data.DATA_ENV):
        pytest.skip("LMLIB_DATA_DIR not set (the test command sets it)")
    ds = data.tiny_shakespeare()
    assert ds.tokenizer.vocab_size == 65
    assert len(ds.train) + len(ds.val) == data.TINY_SHAKESPEARE.size  # ASCII: 1 byte per char
    assert ds.tokenizer.decode(ds.train[:14]) == "First Citizen:"


def test_batches_are_shifted_windows():
    ids = torch.arange(100)
    g = torch.Generator().manual_seed(0)
    x, y = get_batch(ids, batch_size=5, context=8, generator=g)
    assert x.shape == y.shape == (5, 8)
    assert torch.equal(y, x + 1)  # y is x one step ahead
    assert torch.equal(x[:, 1:] - x[:, :-1], torch.ones(5, 7, dtype=torch.long))
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(get_batch(ids, 5, 8, g2)[0], x)  # same seed, same batch


def test_batch_errors():
    with pytest.raises(ValueError, match="context=8"):
        get_batch(torch.arange(8), 2, 8)
    with pytest.raises(ValueError, match="1-D"):
        get_batch(torch.zeros(4, 4, dtype=torch.long), 2, 2)


def test_dataset_split():
    ds = CharDataset.from_text("abcdefghij" * 10, val_fraction=0.1)
    assert len(ds.train) == 90 and len(ds.val) == 10
    with pytest.raises(ValueError):
        CharDataset.from_text("abc", val_fraction=1.5)


def test_importing_lmlib_reads_no_data(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", "import lmlib"], capture_output=True, text=True, check=True
    )
    assert out.stdout == "" and not any(Path(tmp_path).iterdir())
