"""The ``mam`` command line.

Each sub-command lives in its own module of this package and defines
``register(subparsers)``, which adds an ``argparse`` parser whose ``func`` default is the
function to run (it receives the parsed ``argparse.Namespace`` and returns an exit code).
Modules are discovered automatically, so adding a command never touches this file.

Errors that users can fix (a missing file, a bad prompt, an unreadable checkpoint, an output that
would replace an input) are raised as :class:`mam_lib.errors.MamError` and printed as one line,
``mam COMMAND: error: …``, without a traceback; the exit status is then 2, as for a malformed
command line. A file-system error that no check caught (``OSError``) is printed the same way.
``MAM_DEBUG=1`` shows the traceback as well. Exit statuses: 0 success, 1 a command that ran but
produced nothing (``mam predict-benchmark`` with no prediction), 2 a user error, 3 ``mam eval
--strict`` with files not evaluated or ``mam matte DIR`` with images that failed (the others are
written), 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from typing import Sequence

from ..errors import MamError

#: Exit status of an error the user can fix (argparse uses 2 for malformed command lines too).
USER_ERROR = 2


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def build_parser() -> argparse.ArgumentParser:
    """Return the ``mam`` parser with every sub-command module of this package registered."""
    parser = argparse.ArgumentParser(
        prog="mam",
        description="Matting Anything workbench: promptable alpha matting with SAM + M2M.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mam`` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except MamError as err:
        if os.environ.get("MAM_DEBUG"):
            raise
        print(f"mam {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return USER_ERROR
    except OSError as err:
        if os.environ.get("MAM_DEBUG"):
            raise
        from ..io.outputs import describe_os_error

        print(f"mam {args.command}: error: {_one_line(describe_os_error(err))}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print(f"mam {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
