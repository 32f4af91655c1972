"""Where outputs may go: the one policy every command and writer of the project follows.

* **Never over an input.** :func:`check_output` compares real paths (symbolic links and ``..``
  resolved), so an output that names an input of the same command — the photo being matted, a
  ground-truth file, a checkpoint being read — is refused, whatever ``overwrite`` says.
* **Never over an existing file by surprise.** An existing file is replaced only when the caller
  allows it (the CLI's ``--overwrite``) or when it is one the project wrote itself (the caller
  says how to recognise those: :func:`is_own_image` for the images this project writes, a
  header for CSV and TOML files, a marked folder for data sets).
* **A clear error, before any work, for a path that cannot be written**: a folder where a file is
  wanted (or the reverse), a parent that is a file, a folder without write permission.
* **Never delete a folder the project did not create.** Folders the project creates and may later
  replace carry a marker file (:func:`mark_folder`); :func:`remove_owned_tree` refuses any other.
* **One run per folder.** :class:`RunLock` holds a lock file with the process id and host of the
  run; a second run on the same folder is refused, and a lock left by a run that died (its process
  is gone) is taken over.

Everything is written atomically by :mod:`mam_lib.io.atomic`. Nothing here imports torch.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..errors import OutputError
from .atomic import atomic_write_text
from .paths import _is_within, check_parent, describe_os_error, real_path  # noqa: F401  (describe_os_error: for callers)

#: Name of the marker file in folders the project created (and so may replace or remove).
MARKER_NAME = ".mam_lib-folder.json"
#: Name of the lock file a run keeps in its folder while it runs.
LOCK_NAME = ".mam_lib.lock"
#: Text stored in the images this project writes (PNG/TIFF "Software", JPEG comment).
SOFTWARE_TAG = "mam_lib"


def check_output(path: "str | os.PathLike", *, inputs: Iterable["str | os.PathLike | None"] = (),
                 overwrite: bool = False, ours: Callable[[Path], bool] | None = None,
                 what: str = "output", hint: str = "pass --overwrite to replace it") -> Path:
    """Check that the file ``path`` may be written; return it as a ``Path``.

    Raises :class:`OutputError` when ``path`` is one of ``inputs`` (always, even with
    ``overwrite``), is a folder, cannot be created (see :func:`check_parent`), or exists and neither
    ``overwrite`` is set nor ``ours(path)`` says the project wrote it. ``hint`` tells the user how to
    allow overwriting.
    """
    p = Path(path).expanduser()
    if str(path) == "":
        raise OutputError(f"the {what} path is empty; give a file name")
    real = real_path(p)
    for inp in inputs:
        if inp is None:
            continue
        if real == real_path(inp):
            raise OutputError(f"{what} {str(p)!r} is also an input of this command ({str(inp)!r}); writing it "
                              "would replace the input: choose another file name")
    if p.is_dir():
        raise OutputError(f"{what} {str(p)!r} is a folder; give a file name inside it, e.g. "
                          f"{str(p / ('out' + (p.suffix or '.png')))!r}")
    check_parent(p, what)
    if os.path.lexists(p) and not overwrite and not (ours is not None and _safely(ours, p)):
        raise OutputError(f"{what} {str(p)!r} already exists; {hint}, or choose another name")
    return p


def _safely(predicate: Callable[[Path], bool], path: Path) -> bool:
    try:
        return bool(predicate(path))
    except Exception:  # an unreadable file is not one we recognise
        return False


def check_distinct(named: dict[str, "str | os.PathLike | None"]) -> None:
    """Raise :class:`OutputError` when two of the named outputs are the same file."""
    seen: dict[Path, str] = {}
    for name, path in named.items():
        if path is None:
            continue
        real = real_path(path)
        if real in seen:
            raise OutputError(f"{seen[real]} and {name} name the same file {str(path)!r}; give each its own name")
        seen[real] = name


def check_output_dir(path: "str | os.PathLike", *, inputs: Iterable["str | os.PathLike | None"] = (),
                     what: str = "output folder") -> Path:
    """Check that files may be written into the folder ``path`` (created later if missing).

    Raises :class:`OutputError` when ``path`` is a file, cannot be created or written, or is (or
    lies inside) one of the ``inputs`` folders, whose files it could replace. Returns the ``Path``.
    """
    p = Path(path).expanduser()
    if str(path) == "":
        raise OutputError(f"the {what} path is empty; give a folder")
    real = real_path(p)
    for inp in inputs:
        if inp is None:
            continue
        r = real_path(inp)
        if _is_within(real, r):
            rel = "is" if real == r else "lies inside"
            raise OutputError(f"{what} {str(p)!r} {rel} the input folder {str(inp)!r}; its files could be "
                              "replaced: choose a folder outside the inputs")
    if os.path.lexists(p) and not p.is_dir():
        raise OutputError(f"{what} {str(p)!r} is a file, not a folder; choose another path")
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write into {what} {str(p)!r}: it is not writable (read-only or no "
                              "permission); choose another folder")
    else:
        check_parent(p, what)
    return p


def make_dir(path: "str | os.PathLike", what: str = "output folder") -> Path:
    """``mkdir -p`` with the errors of :func:`check_output_dir` instead of raw ``OSError``."""
    p = check_output_dir(path, what=what)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create {what} {str(p)!r}: {err.strerror or err}; choose another location") from None
    return p


# ------------------------------------------------------------------------ files the project wrote


def is_own_image(path: "str | os.PathLike") -> bool:
    """True for an image file this project wrote (it carries :data:`SOFTWARE_TAG`)."""
    from .images import _pil_open

    with _pil_open(Path(path)) as img:
        info = dict(img.info)
        tag = getattr(img, "tag_v2", None)
        if tag is not None and tag.get(305) == SOFTWARE_TAG:
            return True
    comment = info.get("comment", b"")
    if isinstance(comment, bytes):
        comment = comment.decode("latin-1", "replace")
    return info.get("Software") == SOFTWARE_TAG or comment == SOFTWARE_TAG


def starts_with(prefix: str) -> Callable[[Path], bool]:
    """A predicate for :func:`check_output`'s ``ours``: the file's text starts with ``prefix``."""

    def check(path: Path) -> bool:
        with open(path, "rb") as fh:
            return fh.read(len(prefix.encode())).decode("utf-8", "replace") == prefix

    return check


# ------------------------------------------------------------------------ folders the project made


def mark_folder(path: "str | os.PathLike", kind: str, **info) -> Path:
    """Write the marker of a folder the project created (``kind`` says what it holds)."""
    record = {"created_by": SOFTWARE_TAG, "kind": kind, **info}
    return atomic_write_text(Path(path) / MARKER_NAME, json.dumps(record, indent=1) + "\n")


def read_marker(path: "str | os.PathLike") -> dict | None:
    """The marker of a folder the project created, or None when there is none."""
    marker = Path(path) / MARKER_NAME
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("created_by") == SOFTWARE_TAG else None


def is_marked(path: "str | os.PathLike", kind: str | None = None) -> bool:
    """True when ``path`` is a folder the project created (of ``kind``, when given)."""
    record = read_marker(path)
    return record is not None and (kind is None or record.get("kind") == kind)


def remove_owned_tree(path: "str | os.PathLike", kind: str | None = None) -> None:
    """Delete the folder ``path`` — only when it carries the project's marker (of ``kind``).

    An empty folder is removed too (nothing is lost). Any other folder raises
    :class:`OutputError` and is left as it is.
    """
    p = Path(path)
    if not os.path.lexists(p):
        return
    if p.is_symlink() or not p.is_dir():
        raise OutputError(f"{str(p)!r} is not a folder the project created; it is left alone. Remove it yourself "
                          "or choose another location")
    if is_marked(p, kind):
        shutil.rmtree(p)
        return
    try:
        p.rmdir()  # empty: nothing to lose
    except OSError:
        raise OutputError(f"the folder {str(p)!r} holds files and was not created by {SOFTWARE_TAG} (it has no "
                          f"{MARKER_NAME}); it is left alone. Choose another location, or empty it yourself") from None


# ------------------------------------------------------------------------ one run per folder


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


_HELD: set[Path] = set()  # lock files held by RunLock objects of this process
_HELD_LOCK = threading.Lock()


class RunLock:
    """A lock file in ``folder`` that keeps a second run out while this one runs.

    Use as a context manager or with :meth:`acquire` / :meth:`release`. The file holds the process id,
    the host name and the start time. A lock whose process no longer runs on this host (the run
    crashed or was killed) is stale and is taken over; any other raises :class:`OutputError` naming
    the run that holds it.
    """

    def __init__(self, folder: "str | os.PathLike", what: str = "run") -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.what = what
        self.held = False

    def _holder(self) -> dict | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def _stale(self, holder: dict) -> bool:
        if not holder:  # unreadable or half-written: its writer died while writing it
            try:
                return time.time() - self.path.stat().st_mtime > 10.0
            except FileNotFoundError:
                return True
        if holder.get("host") != socket.gethostname():
            return False
        pid = int(holder.get("pid", -1))
        if pid == os.getpid():
            with _HELD_LOCK:
                return real_path(self.path) not in _HELD
        return not pid_alive(pid)

    def acquire(self) -> "RunLock":
        if self.held:
            return self
        make_dir(self.folder, f"{self.what} folder")
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                             "what": self.what})
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is None:
                    continue  # released in between: try again
                if not self._stale(holder):
                    who = (f"process {holder.get('pid')} on {holder.get('host')}" if holder
                           else "another process")
                    raise OutputError(f"another {self.what} ({who}) is using {str(self.folder)!r}; wait for it to end "
                                      f"or use another folder (if no such run exists, delete {str(self.path)!r})") from None
                # take the stale lock over: move it aside first, so that two runs never both take it
                aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}")
                with contextlib.suppress(FileNotFoundError):
                    os.replace(self.path, aside)
                    aside.unlink()
                continue
            except OSError as err:
                raise OutputError(f"cannot create the lock file {str(self.path)!r}: {err.strerror or err}; "
                                  "choose a writable folder") from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(record)
            self.held = True
            with _HELD_LOCK:
                _HELD.add(real_path(self.path))
            return self
        raise OutputError(f"could not take the lock {str(self.path)!r}: other runs keep taking it; try again")

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        with _HELD_LOCK:
            _HELD.discard(real_path(self.path))
        with contextlib.suppress(FileNotFoundError):
            holder = self._holder()
            if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
                self.path.unlink()

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


@contextlib.contextmanager
def run_lock(folder: "str | os.PathLike", what: str = "run") -> Iterator[RunLock]:
    """``with run_lock(folder):`` — :class:`RunLock` as a context manager."""
    lock = RunLock(folder, what)
    with lock:
        yield lock
