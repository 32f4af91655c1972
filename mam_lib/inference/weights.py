"""Where weights come from and where they are kept.

Every download goes through :func:`download` and is driven by :data:`REGISTRY`, a table of
``(file name, URL, SHA-256)``. Files land in one cache folder:

* ``$MAM_CACHE_DIR`` when set, otherwise ``~/.cache/mam_lib/checkpoints``.

A download shows a progress bar, resumes a partial ``.part`` file with an HTTP ``Range``
request, checks the SHA-256 and only then renames the file into place, so the cache never holds
a truncated checkpoint under its real name.

The MAM (M2M) checkpoints of the original release are published in a shared Google Drive folder
(linked from the Matting-Anything README), which cannot be fetched by a plain URL: download
``mam_vitb.pth`` (and, if wanted, ``mam_vitl.pth`` / ``mam_vith.pth``) by hand and put them in the
cache folder under those names. :func:`find_checkpoint` then finds them, and
:func:`resolve_weights_path` accepts a path, a registry name or such a cached file name.

Grounding DINO (the text-prompt detector, :mod:`mam_lib.inference.text`) is published as Hugging
Face model repositories of several files. Their entries name a ``repo_id``; :func:`download`
fetches them with ``huggingface_hub.snapshot_download`` (installed with the ``text`` extra) into a
folder of the same cache, ``<cache>/grounding-dino-tiny/`` (``config.json``, ``model.safetensors``,
the processor's and tokenizer's files), and resumes an interrupted download when run again. A folder
with those files copied in by hand works the same.
"""
from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import CheckpointError, DownloadError, MissingExtraError


@dataclass(frozen=True)
class WeightFile:
    """One published weight file."""

    filename: str  # name in the cache folder
    url: str | None  # direct download URL; None when it must be fetched by hand
    sha256: str | None  # expected SHA-256 of the whole file (None: not published)
    size: int | None = None  # bytes, when known
    note: str = ""  # what it is / how to get it
    repo_id: str | None = None  # a Hugging Face model repository (several files): ``filename`` is then a folder
    revision: str | None = None  # the repository's branch, tag or commit (None: its default branch)

    @property
    def is_folder(self) -> bool:
        """True for a model repository kept as a folder of files (fetched with ``huggingface_hub``)."""
        return self.repo_id is not None


REGISTRY: dict[str, WeightFile] = {
    "sam_vit_b": WeightFile(
        "sam_vit_b_01ec64.pth", "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
        "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", 375_042_383,
        "SAM ViT-B (the encoder MAM's published M2M was trained with)"),
    "sam_vit_l": WeightFile(
        "sam_vit_l_0b3195.pth", "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_l_0b3195.pth",
        "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622", 1_249_524_607, "SAM ViT-L"),
    "sam_vit_h": WeightFile(
        "sam_vit_h_4b8939.pth", "https://dl.fbaipublicfiles.com/segment_anything/sam_vit_h_4b8939.pth",
        "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e", None, "SAM ViT-H"),
    "mam_vitb": WeightFile("mam_vitb.pth", None, None, None,
                           "MAM M2M decoder for SAM ViT-B; from the Matting-Anything release's shared drive, by hand"),
    "mam_vitl": WeightFile("mam_vitl.pth", None, None, None,
                           "MAM M2M decoder for SAM ViT-L; from the Matting-Anything release's shared drive, by hand"),
    "mam_vith": WeightFile("mam_vith.pth", None, None, None,
                           "MAM M2M decoder for SAM ViT-H; from the Matting-Anything release's shared drive, by hand"),
    "grounding-dino-tiny": WeightFile(
        "grounding-dino-tiny", None, None, None,
        "Grounding DINO Swin-T (text prompts → boxes; the model MAM uses), Hugging Face repository",
        repo_id="IDEA-Research/grounding-dino-tiny"),
    "grounding-dino-base": WeightFile(
        "grounding-dino-base", None, None, None,
        "Grounding DINO Swin-B (text prompts → boxes; larger, slower), Hugging Face repository",
        repo_id="IDEA-Research/grounding-dino-base"),
}

#: The M2M checkpoint that goes with each SAM variant.
M2M_FOR_SAM = {"vit_b": "mam_vitb", "vit_l": "mam_vitl", "vit_h": "mam_vith"}

#: The text-prompt detectors of the registry, in the order a default is looked for in the cache.
TEXT_DETECTORS = ("grounding-dino-tiny", "grounding-dino-base")

#: Files fetched of a model repository: configs, safetensors weights, tokenizer vocabularies (not
#: the duplicate ``pytorch_model.bin`` most repositories also hold).
SNAPSHOT_PATTERNS = ("*.json", "*.safetensors", "*.txt")
#: What a model folder needs to be loadable: a config, weights and a tokenizer.
_SNAPSHOT_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
_SNAPSHOT_TOKENIZER = ("tokenizer.json", "vocab.txt")

#: The pip command that installs the text-prompt packages (Hugging Face ``transformers``).
TEXT_EXTRA_HINT = ("install the optional 'text' extra: pip install -e '.[text]' in the project folder (or "
                   "pip install 'transformers>=4.40'); conda users: conda env update -f environment.yml")


def is_complete_snapshot(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a loadable model repository: ``config.json``, weights and a tokenizer."""
    p = Path(folder)
    return ((p / "config.json").is_file() and any((p / f).is_file() for f in _SNAPSHOT_WEIGHTS)
            and any((p / f).is_file() for f in _SNAPSHOT_TOKENIZER))


def cache_dir() -> Path:
    """The checkpoint cache folder (``$MAM_CACHE_DIR`` or ``~/.cache/mam_lib/checkpoints``)."""
    env = os.environ.get("MAM_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mam_lib" / "checkpoints"


def find_checkpoint(name: str, folder: str | os.PathLike | None = None) -> Path | None:
    """Path of registry entry ``name`` in the cache (or ``folder``) if the file is there, else None."""
    entry = _entry(name)
    path = Path(folder) / entry.filename if folder is not None else cache_dir() / entry.filename
    if entry.is_folder:  # a model repository: its folder, once it holds everything needed to load it
        return path if path.is_dir() and is_complete_snapshot(path) else None
    return path if path.is_file() else None


def resolve_weights_path(value: str | os.PathLike | None, what: str) -> Path | None:
    """A checkpoint given as a path, a registry name (``mam_vitb``) or a file name in the weights cache."""
    if value is None or str(value) == "":
        return None
    p = Path(value).expanduser()
    if p.is_file():
        return p
    name = str(value)
    for key, entry in REGISTRY.items():
        if name in (key, entry.filename):
            cached = cache_dir() / entry.filename
            if cached.is_file():
                return cached
    raise CheckpointError(f"{what} {name!r} is neither a file nor a downloaded registry entry "
                          f"(looked in {cache_dir()}); see the README section 'Weights'")


def _entry(name: str) -> WeightFile:
    if name not in REGISTRY:
        raise DownloadError(f"unknown weight file {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _total_size(response, have: int, status: int) -> int | None:
    """The whole file's size from the response headers (Content-Range, else Content-Length), or None."""
    content_range = response.headers.get("Content-Range") or ""
    if status == 206 and "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        if total.isdigit():
            return int(total)
    length = response.headers.get("Content-Length")
    if length is not None and length.strip().isdigit():
        return int(length) + (have if status == 206 else 0)
    return None


def download(name: str, folder: str | os.PathLike | None = None, *, url: str | None = None,
             progress: bool = True, timeout: float = 60.0) -> Path:
    """Fetch registry entry ``name`` into the cache (or ``folder``) and return its path.

    An existing file with the right checksum (or, for an entry without one, the right size) is
    returned at once. A ``.part`` file left by an interrupted download is resumed. ``url``
    overrides the registry's URL (mirrors, tests). The file gets its final name only once it is
    complete: as long as the server announced (or the registry knows), and with the right SHA-256
    when one is published.

    Raises :class:`~mam_lib.errors.DownloadError` on network errors, a server that refuses, a
    connection that ends early (the ``.part`` file is kept: the next call resumes it) or a
    checksum mismatch of a complete file (the bad file is deleted so the next try starts clean).

    An entry with a ``repo_id`` (a Hugging Face model repository) is fetched by
    :func:`download_snapshot` instead and its folder is returned.
    """
    import http.client

    from ..io.outputs import check_output_dir

    entry = _entry(name)
    source = url or entry.url
    dest_dir = Path(folder).expanduser() if folder is not None else cache_dir()
    dest = dest_dir / entry.filename
    if entry.is_folder:
        return download_snapshot(name, folder)  # huggingface_hub shows its own progress bars
    if source is None:
        raise DownloadError(
            f"{entry.filename} cannot be downloaded automatically ({entry.note}). Fetch it by hand and put it at "
            f"{dest} (see the README section 'Weights').")
    if dest.is_file():
        if entry.sha256 is not None and sha256_of(dest) == entry.sha256:
            return dest
        if entry.sha256 is None and (entry.size is None or dest.stat().st_size == entry.size):
            return dest
    check_output_dir(dest_dir, what="download folder")
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if entry.size is not None and have > entry.size:  # longer than the file can be: start over
        part.unlink()
        have = 0
    expected = entry.size
    request = urllib.request.Request(source, headers={"Range": f"bytes={have}-"} if have else {})
    resume_hint = (f"Run the same command again to resume ({entry.filename}.part is kept), or fetch the file by "
                   f"hand into {dest_dir}.")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = getattr(response, "status", 200)
            if have and status != 206:  # server ignored the range: start over
                have = 0
            announced = _total_size(response, have, status)
            if announced is not None:
                expected = announced
            mode = "ab" if have else "wb"
            with open(part, mode) as out, tqdm(total=expected, initial=have, unit="B", unit_scale=True,
                                               unit_divisor=1024, desc=entry.filename, disable=not progress) as bar:
                while True:
                    block = response.read(1 << 20)
                    if not block:
                        break
                    out.write(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # range beyond the end: the part file is already complete
            pass
        else:
            raise DownloadError(f"downloading {entry.filename} from {source} failed: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as err:
        got = part.stat().st_size if part.exists() else 0
        raise DownloadError(
            f"downloading {entry.filename} from {source} failed after {got} bytes "
            f"({type(err).__name__}{': ' + str(err) if str(err) else ''}). {resume_hint}") from None
    got = part.stat().st_size
    if expected is not None and got < expected:
        raise DownloadError(f"downloading {entry.filename} from {source}: the server closed the connection after "
                            f"{got} of {expected} bytes. {resume_hint}")
    if expected is not None and got > expected:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{entry.filename}: received {got} bytes but the file has {expected}; the partial file was "
                            "deleted, run the download again.")
    if entry.sha256 is not None:
        digest = sha256_of(part)
        if digest != entry.sha256:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{entry.filename}: checksum mismatch (expected {entry.sha256[:16]}…, got {digest[:16]}…); the file "
                "was deleted, run the download again.")
    os.replace(part, dest)
    return dest


def download_snapshot(name: str, folder: str | os.PathLike | None = None) -> Path:
    """Fetch the model repository of registry entry ``name`` into ``<cache or folder>/<entry.filename>/``.

    Uses ``huggingface_hub.snapshot_download`` (comes with the ``text`` extra) with ``local_dir`` in
    the cache folder and only the files of :data:`SNAPSHOT_PATTERNS`; files already there are not
    fetched again, so running it after an interruption resumes. Returns the folder. Raises
    :class:`~mam_lib.errors.MissingExtraError` without ``huggingface_hub`` and
    :class:`~mam_lib.errors.DownloadError` when the download fails or leaves an incomplete folder.
    """
    from ..io.outputs import check_output_dir

    entry = _entry(name)
    if not entry.is_folder:
        raise DownloadError(f"{name} is a single file, not a model repository; use download({name!r})")
    dest_dir = Path(folder).expanduser() if folder is not None else cache_dir()
    dest = dest_dir / entry.filename
    if dest.is_dir() and is_complete_snapshot(dest):
        return dest
    try:
        import huggingface_hub
    except ImportError:
        raise MissingExtraError(f"downloading {name} needs huggingface_hub: {TEXT_EXTRA_HINT}") from None
    check_output_dir(dest, what="download folder")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        huggingface_hub.snapshot_download(entry.repo_id, revision=entry.revision, local_dir=str(dest),
                                          allow_patterns=list(SNAPSHOT_PATTERNS))
    except Exception as err:  # network, HTTP, disk: huggingface_hub has many error types
        raise DownloadError(
            f"downloading {entry.repo_id} from the Hugging Face Hub into {dest} failed ({type(err).__name__}"
            f"{': ' + _first_line(err) if str(err) else ''}). Run the same command again to resume, or copy the "
            f"repository's files into {dest} by hand.") from None
    if not is_complete_snapshot(dest):
        raise DownloadError(f"{dest} lacks config.json, the weights or the tokenizer after downloading {entry.repo_id}; "
                            "run the download again")
    return dest


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else ""
