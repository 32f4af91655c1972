"""Stand-in predictors and helpers shared by the widget tests.

* :class:`StubPredictor` has ``MattingPredictor``'s interface at almost no cost;
* :class:`GatedPredictor` is one whose ``predict`` blocks until the test lets it go, so a test can
  act *during* a computation, deterministically;
* :func:`events` sends the widget mouse events as ipyevents does; :func:`settle` waits for the
  widget's worker thread.

``HANG_S`` bounds every wait: it only turns a hang into a failure; no verdict depends on speed.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import replace

import cv2
import numpy as np
import torch

from mam_lib.inference.predictor import MattingResult
from mam_lib.inference.refinement import RefinementConfig, refine
from mam_lib.inference.sam import SamPrediction
from mam_lib.io.images import load_image

H, W = 120, 160
HANG_S = 120.0


class StubPredictor:
    """``MattingPredictor``'s interface at almost no cost: the mask is the box plus a disc of radius 12
    around each foreground point minus one around each background point; the three decoder outputs
    are blurred copies of it, and the real :func:`mam_lib.inference.refinement.refine` combines them."""

    description = "stub predictor"
    device = "cpu"

    def __init__(self) -> None:
        self.image = None
        self.encode_ms = 0.0
        self.refinement = RefinementConfig()
        self.encode_calls = 0
        self.predict_calls: list[dict] = []
        self.refine_calls = 0

    def set_image(self, image) -> None:
        self.image = load_image(image)
        self.encode_calls += 1
        self.encode_ms = 1.0

    def predict(self, box=None, points=None, labels=None, refinement=None, **_) -> MattingResult:
        self.predict_calls.append({"box": box, "points": points, "labels": labels})
        h, w = self.image.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        if box is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            mask[y0:y1, x0:x1] = 1
        for (x, y), lab in zip(points if points is not None else [], labels if labels is not None else []):
            cv2.circle(mask, (int(x), int(y)), 12, int(lab), -1)
        m = mask.astype(np.float32)
        outs = {k: np.clip(cv2.GaussianBlur(m, (0, 0), s), 0, 1) for k, s in
                (("alpha_os8", 3.0), ("alpha_os4", 1.5), ("alpha_os1", 0.7))}
        sam = SamPrediction(mask_lowres=torch.zeros(1, 1, 256, 256), mask=mask.astype(bool),
                            logits_lowres=torch.zeros(1, 256, 256), iou=0.9, index=0)
        result = MattingResult(alpha=m, mask=mask.astype(bool), start=m, after_os4=m, bands={}, sam=sam,
                               refinement=refinement or self.refinement, box=box, points=points, labels=labels,
                               timings={"sam": 1.0, "m2m": 2.0, "refine": 0.5, "total": 3.5}, **outs)
        return self._refined(result, refinement or self.refinement)

    def refine(self, result, refinement=None, guidance=None) -> MattingResult:
        self.refine_calls += 1
        return self._refined(result, refinement or result.refinement)

    @staticmethod
    def _refined(result, config) -> MattingResult:
        t = {k: torch.as_tensor(getattr(result, k))[None, None] for k in ("alpha_os8", "alpha_os4", "alpha_os1")}
        steps = refine(t["alpha_os8"], t["alpha_os4"], t["alpha_os1"], torch.as_tensor(result.mask)[None, None], config)
        return replace(result, alpha=steps.alpha[0, 0].numpy(), refinement=config)


class GatedPredictor(StubPredictor):
    """A :class:`StubPredictor` whose ``predict`` reports that it started, then blocks until
    :meth:`release` lets it finish. ``starts`` lists the prompts of every computation begun
    (``points`` as a list of ``(x, y)``); ``fail`` makes the released computations raise."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[dict] = []
        self.fail = False
        self._started: queue.Queue[dict] = queue.Queue()
        self._gate = threading.Semaphore(0)

    def predict(self, box=None, points=None, labels=None, refinement=None, **kw) -> MattingResult:
        start = {"points": [] if points is None else [tuple(map(float, p)) for p in points],
                 "box": None if box is None else tuple(map(float, box))}
        self.starts.append(start)
        self._started.put(start)
        if not self._gate.acquire(timeout=HANG_S):
            raise RuntimeError("the test never released this computation")
        if self.fail:
            raise RuntimeError("the predictor failed")
        return super().predict(box=box, points=points, labels=labels, refinement=refinement, **kw)

    def next_start(self) -> dict:
        """Wait until a computation has begun (it is then blocked); its prompt."""
        try:
            return self._started.get(timeout=HANG_S)
        except queue.Empty:
            raise AssertionError("no computation started") from None

    def release(self, n: int = 1) -> None:
        """Let ``n`` computations (running or to come) finish."""
        for _ in range(n):
            self._gate.release()

    def open(self) -> None:
        """Stop blocking at all (teardown: nothing stays stuck)."""
        self.release(10_000)


def events(app, *steps, **mods) -> None:
    """Send ``(kind, x, y)`` mouse events (displayed-picture pixels) to the widget as ipyevents does."""
    for kind, x, y in steps:
        app.handle_event({"type": kind, "dataX": x, "dataY": y, "button": 0, "buttons": 0 if kind == "mouseup" else 1,
                          "shiftKey": False, "altKey": False, **mods})


def click(app, x: float, y: float, **mods) -> None:
    events(app, ("mousedown", x, y), ("mouseup", x, y), **mods)


class Browser:
    """Sends the widget what the browser's three ipyevents streams carry (see
    ``mam_lib.widget.ordering``), with timestamps, but holds each stream back until the test lets it
    go. This is how the kernel can receive them: each stream in order, the streams not in step."""

    PICTURE = "lm-Widget jupyter-widgets widget-image mam-image"

    def __init__(self, app) -> None:
        self.app = app
        self.t = 1000.0
        self.page: list[dict] = []
        self.picture: list[dict] = []

    def _tick(self) -> float:
        self.t += 7.0
        return self.t

    def enter(self, x: float, y: float) -> None:
        t = self._tick()  # one native move: the picture's mouseenter and the page's mousemove over it
        self.picture.append({"type": "mouseenter", "timeStamp": t, "dataX": x, "dataY": y, "buttons": 0})
        self.page.append({"type": "mousemove", "timeStamp": t, "buttons": 0,
                          "target": {"tagName": "IMG", "className": self.PICTURE}})

    def click(self, x: float, y: float) -> None:
        t = self._tick()
        self.page.append({"type": "mousemove", "timeStamp": t, "buttons": 0,
                          "target": {"tagName": "IMG", "className": self.PICTURE}})
        for kind in ("mousedown", "mouseup"):
            self.picture.append({"type": kind, "timeStamp": self._tick(), "dataX": x, "dataY": y, "button": 0,
                                 "buttons": int(kind == "mousedown"), "shiftKey": False, "altKey": False})

    def leave(self, x: float, y: float) -> None:
        self.picture.append({"type": "mouseleave", "timeStamp": self._tick(), "dataX": x, "dataY": y, "buttons": 0})

    def press(self, button) -> None:
        """A click on one of the app's buttons (``app.undo_button``, …)."""
        self.page.append({"type": "click", "timeStamp": self._tick(),
                          "target": {"tagName": "BUTTON", "className": f"jupyter-button widget-button "
                                                                       f"{button.action_class}"}})

    def send_page(self) -> None:
        for event in self.page:
            self.app._order.page_event(event)
        self.page.clear()

    def send_picture(self) -> None:
        for event in self.picture:
            self.app._order.picture_event(event)
        self.picture.clear()


def settle(app) -> None:
    """Wait for the widget's worker thread to finish."""
    assert app.wait(HANG_S), "the widget's worker thread did not finish"


def decode(png: bytes) -> np.ndarray:
    """A widget picture (PNG bytes) as an ``(h, w, 3)`` RGB array."""
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def sample_image() -> np.ndarray:
    """The ``H×W`` picture the widget tests prompt on: an orange rectangle on grey noise."""
    rng = np.random.default_rng(1)
    img = np.full((H, W, 3), 70, np.uint8)
    img[30:90, 40:120] = (220, 140, 60)
    return np.clip(img + rng.integers(0, 20, img.shape), 0, 255).astype(np.uint8)
