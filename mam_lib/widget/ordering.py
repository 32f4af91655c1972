"""The browser's input to the widget, handled in the order the browser sent it.

Why this is needed
------------------
Every widget talks to the kernel over its own comm, and the kernel does not handle all comms on
one thread. With ipykernel 7 and JupyterLab 4.4 or later (setting *Kernel comms over subshells*,
default "one subshell per comm target"), one comm's messages may be handled on the kernel's main
thread and another's on a subshell thread. Which thread it is depends on the comm's history (ipykernel
7.4 routes a comm's messages to the thread that last sent on it). Each comm's messages stay in
order, but two comms' messages do not. Seen in the browser test: three quick clicks on the picture
(the picture's comm, main thread, busy) and then Undo (the button's comm, an idle subshell). The
kernel handled Undo before the third click, so Undo took back the second click and the third one
stayed.

How the order is restored
-------------------------
The app takes its input from three ipyevents streams. Each stream is one comm, so it arrives in order:

* the **page** stream, one ``Event`` on the whole app: button clicks, and the pointer's moves
  (``mousemove`` bubbles up from every part of the app; only the moves over the picture are kept);
* the **picture** stream, an ``Event`` on the picture: ``mousedown``, ``mouseup``,
  ``mouseenter``, ``mouseleave``. It keeps its presses from the page (see the widget), so the page
  stream never sees them;
* the **move** stream, a throttled ``mousemove`` on the picture. It only draws the box being
  dragged, so it needs no order: a move is used only while its press is held, and only if it
  came after that press.

The pointer's path ties the page and picture streams together; timestamps (``timeStamp``, one clock
per page) say which event came first. To click a button, the pointer has to leave the picture after
its last move over it. So a click may be handled once the picture stream has handled a
``mouseleave`` no earlier than the page stream's latest move over the picture. Every press and
release on the picture before the click came before that leave, so by then they have all been
handled. In the same way, to press the picture after leaving it, the pointer has to move onto it
again. So a press may be handled once the page stream has handled a move over the picture no
earlier than the picture's last ``mouseleave``. Every click before the press came before that move.

Nothing here waits for a length of time: an event that must wait stays queued until the event it
waits for arrives, and then whichever thread brought that event handles both. So the order does not
depend on how busy either thread is.

Limits: the order holds for buttons clicked with the pointer. A button pressed from the keyboard
while the pointer is on the picture is ordered only against the pointer's earlier visits. So is a
click after the pointer rested on the picture from the moment the app was shown and left it in its
very first move: the page stream never saw it there. Value
controls (the point mode, the object list, sliders) send their own messages and take effect when
the kernel handles them. A Shift- or Alt-click carries its label with the click itself. Timestamps
are compared only within one page. When a stream's clock goes back (the page was reloaded), the
marks are cleared.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Iterable

#: a clock that goes back by more than this (ms) is a new page (a reload): the marks are cleared
CLOCK_SLACK_MS = 1.0


def _stamp(event: dict) -> float | None:
    """The event's ``timeStamp`` (ms since the page's time origin), or None if it has none."""
    try:
        stamp = float(event.get("timeStamp"))
    except (TypeError, ValueError):
        return None
    return stamp if stamp == stamp else None  # not NaN


def _classes(event: dict) -> set[str]:
    target = event.get("target") or {}
    name = target.get("className") if isinstance(target, dict) else None
    return set(name.split()) if isinstance(name, str) else set()


class InputOrder:
    """Puts the page stream and the picture stream back in the browser's order (see the module's docstring).

    Args:
        on_picture: called with each picture event (``mousedown``, ``mouseup``, ``mouseleave``, and
            the moves of a held press), in order.
        on_click: called with the CSS class of each button clicked, in order.
        picture_class: the picture's CSS class (how page events recognise it as their target).
        click_classes: the buttons' CSS classes. A click on anything else is ignored.

    The three ``*_event`` methods may be called from any thread. The callbacks run one at a time, on
    the thread that brought the event that made them due.
    """

    def __init__(self, on_picture: Callable[[dict], None], on_click: Callable[[str], None], *,
                 picture_class: str = "mam-image", click_classes: Iterable[str] = ()) -> None:
        self._on_picture = on_picture
        self._on_click = on_click
        self._picture_class = picture_class
        self._click_classes = frozenset(click_classes)
        self._lock = threading.Lock()
        self._page: deque[tuple[str, float | None, object]] = deque()
        self._picture: deque[tuple[str, float | None, dict]] = deque()
        self._move: dict | None = None
        self._draining = False
        self._clock = {"page": None, "picture": None}  # each stream's latest timestamp handled
        self._clear_marks()

    def _clear_marks(self) -> None:
        self._seen = None  # page stream: the latest move over the picture handled
        self._enter = self._leave = None  # picture stream: the latest mouseenter / mouseleave handled
        self._press: float | None = None  # the held press on the picture (its mousedown's timestamp)

    @property
    def waiting(self) -> int:
        """How many events are queued because they wait for the other stream (0 once in step)."""
        with self._lock:
            return len(self._page) + len(self._picture)

    # --- the three streams ----------------------------------------------------------------------

    def page_event(self, event: dict) -> None:
        """An event of the page stream (ipyevents on the whole app: ``click``, ``mousemove``)."""
        kind, classes = event.get("type"), _classes(event)
        if kind == "mousemove":
            if self._picture_class not in classes:
                return  # only the moves over the picture matter
            item = (kind, _stamp(event), None)
        elif kind == "click":
            names = sorted(classes & self._click_classes)
            if not names:
                return  # not one of the buttons (the picture, a tab, a toggle…)
            item = (kind, _stamp(event), names[0])
        else:
            return
        with self._lock:
            self._page.append(item)
        self._drain()

    def picture_event(self, event: dict) -> None:
        """An event of the picture stream (``mousedown``, ``mouseup``, ``mouseenter``, ``mouseleave``)."""
        kind = event.get("type")
        if kind not in ("mousedown", "mouseup", "mouseenter", "mouseleave"):
            return
        with self._lock:
            self._picture.append((kind, _stamp(event), event))
        self._drain()

    def move_event(self, event: dict) -> None:
        """A (throttled) ``mousemove`` on the picture. Only the latest one is kept: it only draws the box."""
        with self._lock:
            self._move = event
        self._drain()

    # --- putting them in order ------------------------------------------------------------------

    def _drain(self) -> None:
        """Handle every event that is due. One thread at a time does so, and the others leave their events to it."""
        with self._lock:
            if self._draining:
                return
            self._draining = True
        try:
            while True:
                with self._lock:
                    step = self._next()
                    if step is None:
                        self._draining = False
                        return
                step()
        except BaseException:
            with self._lock:
                self._draining = False
            raise

    def _next(self) -> Callable[[], None] | None:
        """The next due event's handling (marks updated), or None. Called with the lock held."""
        while True:
            if self._page and self._page_due(self._page[0]):
                kind, stamp, name = self._page.popleft()
                self._tick("page", stamp)
                if kind == "click":
                    return lambda: self._on_click(name)
                if stamp is not None:  # a move without a time cannot be ordered against anything
                    self._seen = stamp
                continue
            if self._picture and self._picture_due(self._picture[0]):
                kind, stamp, event = self._picture.popleft()
                self._tick("picture", stamp)
                if kind == "mouseenter":
                    self._enter = stamp if stamp is not None else self._enter
                    continue
                if kind == "mouseleave":
                    self._leave = stamp if stamp is not None else self._leave
                    self._press = None
                elif kind == "mousedown":
                    self._press = stamp if event.get("button", 0) == 0 else None
                else:  # mouseup
                    self._press = None
                return lambda: self._on_picture(event)
            if self._move is not None:
                move, self._move = self._move, None
                stamp = _stamp(move)
                held = self._press is not None and stamp is not None and stamp > self._press
                if held and int(move.get("buttons") or 0) & 1:
                    return lambda: self._on_picture(move)
                continue  # a move that belongs to no held press: dropped
            return None

    def _page_due(self, item) -> bool:
        if item[0] != "click" or self._seen is None:
            return True  # moves wait for nothing; nor does a click before the pointer was ever on the picture
        # the pointer left the picture after its move at self._seen to reach the button: that leave first
        return self._leave is not None and self._leave >= self._seen

    def _picture_due(self, item) -> bool:
        if item[0] != "mousedown" or self._enter is None:
            return True  # edge crossings and releases wait for nothing; nor does a press made with
            # the pointer on the picture since the app was shown
        # the pointer came back onto the picture after self._leave: the page must have seen it there
        return self._seen is not None and (self._leave is None or self._seen >= self._leave)

    def _tick(self, stream: str, stamp: float | None) -> None:
        """Note a stream's clock; a clock that went back is a new page, whose times cannot be compared
        with the old page's, so the marks are cleared."""
        if stamp is None:
            return
        last = self._clock[stream]
        if last is not None and stamp < last - CLOCK_SLACK_MS:
            self._clear_marks()
            self._clock = {"page": None, "picture": None}
        self._clock[stream] = stamp
