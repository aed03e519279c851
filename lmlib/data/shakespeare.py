"""The tiny Shakespeare corpus, found locally or downloaded once, and (B, T) batches from it.

Lookup order for ``tinyshakespeare.txt``: $LMLIB_DATA_DIR, then the user cache
($LMLIB_CACHE_DIR, default ~/.cache/lmlib), then a download from the canonical URL into the cache.
Every copy is checked against its sha256; a bad download leaves no file behind.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from lmlib.data.tokenizer import CharTokenizer
from lmlib.runtime.files import atomic_write

DATA_ENV = "LMLIB_DATA_DIR"
CACHE_ENV = "LMLIB_CACHE_DIR"


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    sha256: str
    size: int


TINY_SHAKESPEARE = RemoteFile(
    name="tinyshakespeare.txt",
    url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    size=1_115_394,
)


class DataError(RuntimeError):
    """A data file is missing, unreachable or corrupt; the message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lmlib")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(remote: RemoteFile, dest: Path, timeout: float = 60.0) -> Path:
    """Fetch `remote` to `dest` atomically: the file appears only once its sha256 matches."""
    try:
        with atomic_write(dest) as out, urllib.request.urlopen(remote.url, timeout=timeout) as r:
            digest = hashlib.sha256()
            while block := r.read(1 << 16):
                out.write(block)
                digest.update(block)
            got = digest.hexdigest()
            if got != remote.sha256:  # raising here discards the download
                raise DataError(
                    f"{remote.url} has sha256 {got}, expected {remote.sha256}; nothing was saved. "
                    f"Check the URL, or put a good copy in ${DATA_ENV}."
                )
    except OSError as e:  # URLError is an OSError
        raise DataError(
            f"could not download {remote.name} from {remote.url} ({e}). Offline? Put a copy of "
            f"{remote.name} in a directory and set {DATA_ENV} to it."
        ) from e
    return dest


def fetch(remote: RemoteFile = TINY_SHAKESPEARE) -> Path:
    """A verified local path to `remote`, downloading it into the cache only if needed."""
    local_dir = os.environ.get(DATA_ENV)
    if local_dir:
        path = Path(local_dir) / remote.name
        if not path.is_file():
            raise DataError(
                f"{DATA_ENV}={local_dir} has no {remote.name}; fix the path or unset it"
            )
        if sha256_of(path) != remote.sha256:
            raise DataError(f"{path} does not match sha256 {remote.sha256}; replace the file")
        return path
    path = cache_dir() / remote.name
    if path.is_file():
        if sha256_of(path) == remote.sha256:
            return path
        path.unlink()  # a corrupt cached copy is replaced, never used
    return download(remote, path)


@dataclass
class CharDataset:
    """A corpus encoded once: tokenizer plus train and validation id tensors (90/10 split)."""

    tokenizer: CharTokenizer
    train: torch.Tensor
    val: torch.Tensor

    @classmethod
    def from_text(cls, text: str, val_fraction: float = 0.1) -> CharDataset:
        if not 0 < val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
        tok = CharTokenizer.from_text(text)
        ids = tok.encode(text)
        n = int(len(ids) * (1 - val_fraction))
        return cls(tok, ids[:n], ids[n:])


def tiny_shakespeare() -> CharDataset:
    """The tiny Shakespeare corpus as a CharDataset (about 1M train and 110K val characters)."""
    return CharDataset.from_text(fetch(TINY_SHAKESPEARE).read_text(encoding="utf-8"))


def get_batch(
    data: torch.Tensor,
    batch_size: int,
    context: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    rows: slice | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of `data`: x (B, T) and y (B, T) with y shifted one token ahead of x.

    `rows` keeps only those rows of the batch (a data-parallel rank's share): the random draw is
    the whole batch's, so the shares of all ranks put together are the batch one process gets.
    """
    if data.dim() != 1:
        raise ValueError(f"data must be a 1-D tensor of ids, got shape {tuple(data.shape)}")
    if len(data) <= context:
        raise ValueError(f"data has {len(data)} tokens, need more than context={context}")
    starts = torch.randint(len(data) - context, (batch_size,), generator=generator)
    if rows is not None:
        starts = starts[rows]
    windows = data.unfold(0, context + 1, 1)[starts]  # (B, T + 1)
    x, y = windows[:, :-1], windows[:, 1:]
    device = torch.device(device)
    if device.type == "cuda":  # pinned host memory lets the copy overlap compute
        return (
            x.pin_memory().to(device, non_blocking=True),
            y.pin_memory().to(device, non_blocking=True),
        )
    return x.to(device), y.to(device)
