"""Atomic file writes: nothing a user keeps is ever left half-written.

Data is written to a temporary file in the destination folder (named ``.<name>.tmp-XXXXXXXX<suffix>``)
and moved into place with ``os.replace``, which is atomic on POSIX and Windows; on any error the
temporary file is removed and an existing destination is left untouched. A process killed while
writing leaves its temporary file behind; :func:`remove_temporaries` deletes those of a folder.

A destination that cannot be written (a folder in its place, a parent that is a file, a read-only
folder, a full disk) raises :class:`~mam_lib.errors.OutputError` naming it, not a raw ``OSError``.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from ..errors import OutputError
from .paths import check_parent, describe_os_error

#: The infix of temporary files: ``.<name>.tmp-<random><suffix>``.
TEMP_INFIX = ".tmp-"
#: Errors of writing a file that say something about the destination (space, permissions, size).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.tmp-[A-Za-z0-9_]{8}(\.[^.]*)?$")

_UMASK_LOCK = threading.Lock()


def _default_file_mode() -> int:
    """The mode a plainly created file would get (0o666 minus the umask); mkstemp uses 0o600."""
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    ``suffix`` defaults to the destination's suffix, so writers that infer a format from the file
    name (OpenCV, PIL, ``torch.save``) behave as they would on ``path`` itself.
    """
    dest = Path(path)
    if dest.is_dir():
        raise OutputError(f"cannot write {str(dest)!r}: it is a folder; give a file name")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}{TEMP_INFIX}",
                                   suffix=suffix if suffix is not None else dest.suffix, dir=dest.parent)
    except OSError as err:
        check_parent(dest, "file")  # the clearer message when it applies
        raise OutputError(f"cannot write {str(dest)!r}: {describe_os_error(err)}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as err:
            if err.errno not in _WRITE_ERRNOS:
                raise
            raise OutputError(f"cannot write {str(dest)!r}: {describe_os_error(err)}") from None
        os.chmod(tmp_path, _default_file_mode())
        try:
            os.replace(tmp_path, dest)
        except OSError as err:
            raise OutputError(f"cannot write {str(dest)!r}: {describe_os_error(err)}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def remove_temporaries(folder: str | os.PathLike, name_pattern: str = ".*") -> list[Path]:
    """Delete temporary files that :func:`atomic_path` left in ``folder`` when a process was killed
    mid-write (whose destination's name matches the regular expression ``name_pattern``).

    Call it only where no other process is writing (e.g. under a :class:`~mam_lib.io.outputs.RunLock`).
    Returns the files removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    wanted = re.compile(name_pattern)
    for p in folder.iterdir():
        m = _TEMP_RE.match(p.name)
        if m and wanted.fullmatch(m.group("name")) and p.is_file():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))
