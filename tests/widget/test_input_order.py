"""The browser's input, put back in the browser's order: ``mam_lib.widget.ordering.InputOrder``.

The kernel may handle the page stream (button clicks, the pointer's moves) and the picture stream
(presses, releases, the picture's edge) on different threads, so either may reach the widget
first. These tests deliver the two streams in every kind of interleaving, each in its own order
as a comm keeps it, and check that the widget is given the actions in the order they were made.
"""
from __future__ import annotations

import random
import threading

import pytest

from mam_lib.widget.ordering import InputOrder

PICTURE = "lm-Widget jupyter-widgets widget-image mam-image"


def page_move(t, on_picture=True, buttons=0):
    return {"type": "mousemove", "timeStamp": t, "buttons": buttons,
            "target": {"tagName": "IMG" if on_picture else "DIV", "className": PICTURE if on_picture else "mam-panel"}}


def page_click(t, css="mam-undo"):
    return {"type": "click", "timeStamp": t,
            "target": {"tagName": "BUTTON", "className": f"jupyter-button widget-button {css}"}}


def picture(kind, t, **extra):
    return {"type": kind, "timeStamp": t, "button": 0, "buttons": 1 if kind == "mousedown" else 0, **extra}


class Recorder:
    def __init__(self, **kw):
        self.got: list[tuple[str, float]] = []
        self.order = InputOrder(lambda e: self.got.append((e["type"], e["timeStamp"])),
                                lambda css: self.got.append((css, None)), click_classes={"mam-undo", "mam-reset"}, **kw)


def browser_session(rng: random.Random, steps: int = 40):
    """A random valid sequence of what the browser sends: (page events, picture events, the actions
    in the order they were made). The pointer starts off the picture or, now and then, on it."""
    page, pic, actions = [], [], []
    t = 0.0
    inside = rng.random() < 0.2  # on the picture since the app was shown: no mouseenter
    if inside:  # but it moves there at least once (leaving it in the very first move is not ordered)
        page.append(page_move(t))
    pressed = False
    for _ in range(steps):
        t += rng.choice([0.1, 0.5, 3.0, 16.0])
        if not inside:
            if rng.random() < 0.35:
                css = rng.choice(["mam-undo", "mam-reset"])
                page.append(page_click(t, css))
                actions.append((css, None))
            else:  # the pointer comes onto the picture: both streams see it, in the same native move
                pic.append(picture("mouseenter", t))
                page.append(page_move(t))
                inside = True
            continue
        r = rng.random()
        if not pressed and r < 0.35:
            pic.append(picture("mousedown", t))
            actions.append(("mousedown", t))
            pressed = True
        elif pressed and r < 0.6:
            pic.append(picture("mouseup", t))
            actions.append(("mouseup", t))
            pressed = False
        elif r < 0.8:
            page.append(page_move(t, buttons=int(pressed)))
        else:  # off the picture (a held press ends there)
            pic.append(picture("mouseleave", t))
            actions.append(("mouseleave", t))
            inside = pressed = False
    return page, pic, actions


def effective(seq):
    """The steps that change something: clicks, presses, and the release or leave that ends a press
    (a leave or release with nothing pressed changes nothing, so its place does not matter)."""
    out, held = [], False
    for kind, t in seq:
        if kind == "mousedown":
            held = True
        elif kind in ("mouseup", "mouseleave"):
            if not held:
                continue
            held = False
        out.append((kind, t))
    return out


def deliver_interleaved(order: InputOrder, page, pic, rng: random.Random) -> None:
    """Each stream in its own order, the two merged at random (one stream may run far ahead)."""
    i = j = 0
    bias = rng.random()
    while i < len(page) or j < len(pic):
        if j >= len(pic) or (i < len(page) and rng.random() < bias):
            order.page_event(page[i])
            i += 1
        else:
            order.picture_event(pic[j])
            j += 1


@pytest.mark.parametrize("seed", range(300))
def test_any_interleaving_of_the_two_streams_gives_the_browsers_order(seed):
    rng = random.Random(seed)
    page, pic, actions = browser_session(rng)
    rec = Recorder()
    deliver_interleaved(rec.order, page, pic, rng)
    assert effective(rec.got) == effective(actions)
    assert sorted(rec.got, key=str) == sorted(actions, key=str)  # and nothing lost or made up
    assert rec.order.waiting == 0


def test_three_quick_clicks_then_undo_with_the_picture_stream_behind():
    """The browser test's failure: Undo reached the kernel before the third click. It waits for it now."""
    rec = Recorder()
    o = rec.order
    pic = [picture("mouseenter", 100)]
    page = [page_move(100)]
    for k, t in enumerate((200, 300, 400)):
        page.append(page_move(t))
        pic += [picture("mousedown", t + 1), picture("mouseup", t + 2)]
    pic.append(picture("mouseleave", 450))
    page.append(page_click(500))
    for e in page:  # the whole page stream first: the picture's thread is busy
        o.page_event(e)
    assert rec.got == [] and o.waiting == 1  # Undo waits for the picture
    for e in pic[:-1]:
        o.picture_event(e)
    assert rec.got[-1] == ("mouseup", 402) and ("mam-undo", None) not in rec.got  # the pointer has not left yet
    o.picture_event(pic[-1])
    assert rec.got == [("mousedown", 201), ("mouseup", 202), ("mousedown", 301), ("mouseup", 302),
                       ("mousedown", 401), ("mouseup", 402), ("mouseleave", 450), ("mam-undo", None)]


def test_a_button_then_a_press_with_the_page_stream_behind():
    """Reset, then a click on the picture: the press waits until the page stream has handled Reset."""
    rec = Recorder()
    o = rec.order
    for e in (picture("mouseenter", 10), picture("mousedown", 11), picture("mouseup", 12), picture("mouseleave", 20),
              picture("mouseenter", 40), picture("mousedown", 41), picture("mouseup", 42)):
        o.picture_event(e)
    assert rec.got == []  # the first press waits too: the page has not seen the pointer on the picture yet
    for e in (page_move(10), page_move(15), page_click(30, "mam-reset"), page_move(40)):
        o.page_event(e)
    assert rec.got == [("mousedown", 11), ("mouseup", 12), ("mouseleave", 20), ("mam-reset", None),
                       ("mousedown", 41), ("mouseup", 42)]


def test_a_press_made_with_the_pointer_on_the_picture_since_it_was_shown_waits_for_nothing():
    rec = Recorder()
    rec.order.picture_event(picture("mousedown", 5))
    rec.order.picture_event(picture("mouseup", 6))
    assert rec.got == [("mousedown", 5), ("mouseup", 6)]
    rec.order.page_event(page_click(8))  # before the pointer was ever seen on the picture: at once
    assert rec.got[-1] == ("mam-undo", None)


def test_moves_draw_only_the_held_press_and_other_events_are_ignored():
    rec = Recorder()
    o = rec.order
    o.picture_event(picture("mousedown", 10))
    o.move_event(page_move(9, buttons=1))  # from before the press: dropped
    o.move_event(page_move(12, buttons=1))
    o.move_event(page_move(13, buttons=0))  # no button held: dropped
    o.picture_event(picture("mouseup", 14))
    o.move_event(page_move(15, buttons=1))  # after the release: dropped
    assert rec.got == [("mousedown", 10), ("mousemove", 12), ("mouseup", 14)]
    o.page_event(page_click(20, "mam-something-else"))  # not a button of the app
    o.page_event(page_move(21, on_picture=False))
    o.page_event({"type": "mousedown", "timeStamp": 22, "target": {"className": PICTURE}})
    o.picture_event({"type": "click", "timeStamp": 23})
    assert len(rec.got) == 3 and o.waiting == 0


def test_a_reloaded_page_starts_a_new_clock_and_nothing_waits_for_the_old_one():
    rec = Recorder()
    o = rec.order
    o.picture_event(picture("mouseenter", 90_000))
    o.page_event(page_move(90_000))
    o.picture_event(picture("mousedown", 90_001))
    o.picture_event(picture("mouseup", 90_002))
    o.page_event(page_move(90_010))
    # the page is reloaded: its clock starts again near 0; the old page's leave never comes
    o.page_event(page_click(1_200))
    o.picture_event(picture("mouseenter", 1_300))
    o.page_event(page_move(1_300))
    o.picture_event(picture("mousedown", 1_301))
    assert rec.got[-2:] == [("mam-undo", None), ("mousedown", 1_301)] and o.waiting == 0


@pytest.mark.parametrize("seed", range(5))
def test_two_threads_delivering_the_streams_keep_the_browsers_order(seed):
    """As in the kernel: each stream arrives on its own thread, at its own pace."""
    rng = random.Random(1000 + seed)
    page, pic, actions = browser_session(rng, steps=200)
    rec = Recorder()
    pauses = {"page": rng.random() * 0.002, "picture": rng.random() * 0.002}

    def feed(events, deliver, name):
        r = random.Random(seed)
        for e in events:
            if r.random() < 0.2:
                threading.Event().wait(pauses[name])
            deliver(e)

    threads = [threading.Thread(target=feed, args=(page, rec.order.page_event, "page")),
               threading.Thread(target=feed, args=(pic, rec.order.picture_event, "picture"))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads)
    assert effective(rec.got) == effective(actions) and rec.order.waiting == 0
