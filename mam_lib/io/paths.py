"""Path helpers shared by the writers: real paths, writable parents, readable file-system errors."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import OutputError


def real_path(path: "str | os.PathLike") -> Path:
    """``path`` with ``~``, symbolic links and ``..`` resolved (the file it would really name)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of ``path`` (or ``path`` itself) that exists."""
    p = path
    while not os.path.lexists(p):
        if p.parent == p:
            break
        p = p.parent
    return p


def check_parent(path: "str | os.PathLike", what: str = "output") -> Path:
    """Raise :class:`OutputError` when the file ``path`` cannot be created: a parent that is a
    file, or a folder that cannot be written. Returns ``path`` as a ``Path``."""
    p = Path(path).expanduser()
    anc = _existing_ancestor(p.absolute().parent)
    if not anc.is_dir():
        raise OutputError(f"cannot write {what} {str(p)!r}: {str(anc)!r} is a file, not a folder; "
                          "choose another location")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {what} {str(p)!r}: the folder {str(anc)!r} is not writable "
                          "(read-only or no permission); choose another location")
    return p


def describe_os_error(err: OSError) -> str:
    """A one-line description of a file-system error, with what to check."""
    name = f" {str(err.filename)!r}" if err.filename is not None else ""
    reason = err.strerror or str(err)
    fix = {errno.EACCES: "check its permissions", errno.EPERM: "check its permissions",
           errno.EROFS: "the file system is read-only; choose another location",
           errno.ENOSPC: "the disk is full; free some space",
           errno.EISDIR: "it is a folder; give a file name", errno.ENOTDIR: "a part of the path is a file",
           errno.ENOENT: "check the path"}.get(err.errno, "check the path")
    return f"{reason}:{name}; {fix}"
