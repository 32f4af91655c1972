"""One background thread that runs a job on request, merging the requests made while it runs.

The widget gives it :meth:`MattingSession.compute_pending
<mam_lib.widget.session.MattingSession.compute_pending>` and calls :meth:`ComputeWorker.request`
after every change. The UI thread therefore never waits for SAM or M2M, and since the job reads the
session's state only when it runs, any number of clicks made during a computation lead to one
more run, which computes the latest state only::

    worker = ComputeWorker(session.compute_pending, on_error=print)
    worker.request()          # returns at once; the job runs on the worker thread
    worker.request()          # while it runs: merged into one more run after it
    worker.wait(timeout=60)   # True once no run is due or in progress
"""
from __future__ import annotations

import threading
import traceback
from typing import Callable


class ComputeWorker:
    """A single daemon thread that runs ``job()`` whenever :meth:`request` was called since its last run.

    Args:
        job: what to run (no arguments); it should read the state it works on when it starts.
        on_error: called on the worker thread with any exception ``job`` raises; the thread goes on.
        name: the thread's name.
    """

    def __init__(self, job: Callable[[], object], on_error: Callable[[BaseException], None],
                 name: str = "mam-compute") -> None:
        self._job = job
        self._on_error = on_error
        self._name = name
        self._cond = threading.Condition()
        self._requested = False
        self._running = False
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """True while a run is due or in progress."""
        with self._cond:
            return self._requested or self._running

    def request(self) -> None:
        """Ask for a run; returns at once. Requests made before a run starts are one run."""
        with self._cond:
            if self._closed:
                raise RuntimeError("this worker was closed")
            self._requested = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no run is due or in progress; False if ``timeout`` (seconds) passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._requested or self._running), timeout)

    def close(self) -> None:
        """Stop the thread after the run in progress (if any); runs requested but not started are dropped."""
        with self._cond:
            self._closed = True
            self._requested = False
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._requested or self._closed)
                if self._closed:
                    self._cond.notify_all()
                    return
                self._requested, self._running = False, True
            try:
                self._job()
            except BaseException as err:  # noqa: BLE001 - reported; the thread must stay alive
                try:
                    self._on_error(err)
                except Exception:  # noqa: BLE001 - nothing else can report it
                    traceback.print_exc()
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()
