"""Clicks during a computation, without a browser and without depending on speed.

The predictor here (``widget_testing.GatedPredictor``) blocks in ``predict`` until the test
releases it, so each test acts at a known point: while a computation is running, or after it.
They check what the issue asks of the widget: the click's marker is drawn before the computation
ends and the status says it is computing; clicks made during a computation are merged into one
more computation, of the latest prompt; a result for a prompt that changed meanwhile is never
shown; and Undo, Reset or New object pressed during a computation leave history, state and the
pictures in agreement.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

from mam_lib.widget import MattingSession, render
from mam_lib.widget.app import MattingWidget
from widget_testing import HANG_S, W, Browser, GatedPredictor, click, decode, sample_image, settle


@pytest.fixture
def gated():
    predictor = GatedPredictor()
    yield predictor
    predictor.open()  # nothing stays blocked, whatever the test did


@pytest.fixture
def app(gated):
    widget = MattingWidget(gated, image=sample_image(), display_size=W)  # shown at scale 1
    yield widget
    gated.open()
    settle(widget)
    widget.close()


def _marker_at(app, x: int, y: int, color=render.FOREGROUND_COLOR) -> bool:
    """Whether the prompts picture has a point marker of ``color`` at image pixel (x, y) (sampled
    off its white +/− glyph)."""
    return int(np.abs(decode(app.canvas.value)[y - 2, x - 2].astype(int) - color).sum()) < 40


def _status(app) -> str:
    return app.status.value


def _shows_current_matte(app) -> bool:
    """The right picture is the current object's matte (alpha view), not a placeholder."""
    expected = render.png_bytes(render.alpha_view(app.session.alpha(), app._scale))
    return bytes(app.matte.value) == expected and "mam-pending" not in app.matte._dom_classes


def _assert_view_agrees(app) -> None:
    """Status line, Undo button and pictures say what the session holds."""
    s = app.session
    sm = s.summary()
    status = _status(app)
    for attr in (f"data-object='{sm.name}'", f"data-points='{sm.n_points}'", f"data-box='{int(sm.has_box)}'",
                 f"data-objects='{sm.n_objects}'", f"data-computing='{int(sm.computing)}'",
                 f"data-coverage='{sm.coverage:.6f}'", f"data-pending='{len(s.pending)}'"):
        assert attr in status, (attr, status)
    assert app.undo_button.disabled == (not s.can_undo)
    assert list(app.objects.options) == s.object_names and app.objects.value == sm.name
    for x, y in s.current.prompts.points:
        assert _marker_at(app, int(x), int(y))
    if s.has_matte() and not s.is_pending():
        assert _shows_current_matte(app)


def test_the_marker_is_drawn_and_the_status_says_computing_before_the_matte_exists(app, gated):
    click(app, 80, 60)
    assert gated.next_start()["points"] == [(80.0, 60.0)]  # the computation runs, blocked
    s = app.session
    assert s.current.prompts.points == ((80.0, 60.0),) and s.current.result is None and s.is_pending()
    assert _marker_at(app, 80, 60)
    status = _status(app)
    assert "data-points='1'" in status and "data-computing='1'" in status and "computing the matte" in status
    assert "mam-spinner" in app.busy.value and "Computing the matte" in app.busy.value
    assert "mam-pending" in app.matte._dom_classes
    assert not app.wait(timeout=0)  # the worker is still busy

    gated.release()
    settle(app)
    assert s.current.result is not None and not s.is_pending()
    assert "data-computing='0'" in _status(app) and app.busy.value == ""
    assert _shows_current_matte(app)
    _assert_view_agrees(app)


def test_clicks_during_a_computation_become_one_computation_of_the_latest_prompt(app, gated):
    click(app, 80, 60)
    gated.next_start()
    for x, y in ((60, 50), (100, 70), (90, 40)):  # three more clicks while the first computes
        click(app, x, y)
    points = [(80.0, 60.0), (60.0, 50.0), (100.0, 70.0), (90.0, 40.0)]
    assert list(app.session.current.prompts.points) == points
    assert all(_marker_at(app, int(x), int(y)) for x, y in points)  # each drawn at once
    assert "data-points='4'" in _status(app) and "data-computing='1'" in _status(app)
    assert len(gated.starts) == 1

    gated.release()  # the first computation ends: its prompt is no longer current ...
    assert gated.next_start()["points"] == points  # ... the next computation is of the latest prompt
    s = app.session
    assert s.current.result is None and not s.alpha().any()  # the first result is not shown
    assert "data-computing='1'" in _status(app) and "mam-pending" in app.matte._dom_classes

    gated.release()
    settle(app)
    assert len(gated.starts) == 2  # four clicks, two computations: the first and the latest
    np.testing.assert_allclose(s.current.result.points, points)
    (latency,) = s.latencies  # one latency: of the last prompt
    assert not latency.cached
    _assert_view_agrees(app)
    # the first result was kept: Undo back to that prompt shows it without computing (the three
    # presses are made under the session's lock, so the worker cannot start on the states between)
    with s.lock:
        for _ in range(3):
            app.undo_button.click()
    settle(app)
    assert s.current.prompts.points == ((80.0, 60.0),) and s.current.result is not None and not s.is_pending()
    assert len(gated.starts) == 2
    _assert_view_agrees(app)


def test_undo_right_after_quick_clicks_takes_back_the_last_click_whichever_stream_comes_first(app, gated):
    """The browser test's failure, replayed: the kernel got Undo before the third click, because the
    two came on comms handled by different threads. Undo now waits for the clicks made before it."""
    s = app.session
    browser = Browser(app)
    browser.enter(10, 10)
    browser.click(80, 60)
    browser.send_page()
    browser.send_picture()
    gated.next_start()
    for xy in ((40, 30), (100, 40), (60, 90)):  # three quick clicks, then Undo, during the computation
        browser.click(*xy)
    browser.leave(150, 5)
    browser.press(app.undo_button)
    browser.send_page()  # the page stream (with Undo) first: the picture's thread is behind
    assert s.current.prompts.points == ((80.0, 60.0),) and s.can_undo  # Undo waits for the three clicks
    browser.send_picture()
    assert s.current.prompts.points == ((80.0, 60.0), (40.0, 30.0), (100.0, 40.0))
    assert s.last_action == "undid foreground point (60, 90)"
    gated.open()
    settle(app)
    assert "undid foreground point (60, 90)" in _status(app)  # the status says what was done last
    assert "data-points='3'" in _status(app) and "data-computing='0'" in _status(app)
    _assert_view_agrees(app)

    # the other way round: Undo, then a click, with the page stream behind
    browser.enter(10, 10)
    browser.click(20, 20)
    browser.leave(150, 5)
    browser.press(app.undo_button)
    browser.enter(10, 10)
    browser.click(130, 100)
    browser.send_picture()
    # the page has not seen the pointer come back, so the clicks wait: a button may have come first
    assert s.current.prompts.points == ((80.0, 60.0), (40.0, 30.0), (100.0, 40.0))
    browser.send_page()
    assert s.current.prompts.points == ((80.0, 60.0), (40.0, 30.0), (100.0, 40.0), (130.0, 100.0))
    settle(app)
    _assert_view_agrees(app)


def test_a_buttons_own_click_message_is_not_used(app, gated):
    """The browser's clicks come through the page stream; the button's own message (which may be
    handled on another thread, out of order) would be a second Undo."""
    click(app, 80, 60)
    click(app, 60, 50)
    app.undo_button._handle_button_msg(None, {"event": "click"}, [])
    assert len(app.session.current.prompts.points) == 2
    app.undo_button.click()  # from Python: at once
    assert len(app.session.current.prompts.points) == 1


def test_undo_during_a_computation_shows_the_state_before_the_click(app, gated):
    click(app, 80, 60)
    gated.next_start()
    gated.release()
    settle(app)
    s = app.session
    first = s.alpha().copy()

    click(app, 60, 50)
    assert gated.next_start()["points"] == [(80.0, 60.0), (60.0, 50.0)]
    app.undo_button.click()  # during the computation of the second click
    assert s.current.prompts.points == ((80.0, 60.0),) and not s.is_pending()
    np.testing.assert_array_equal(s.alpha(), first)
    assert "undid foreground point (60, 50)" in _status(app)
    _assert_view_agrees(app)
    assert not _marker_at(app, 60, 50)

    gated.release()  # the computation for the undone click ends: nothing it gives is shown
    settle(app)
    assert s.current.prompts.points == ((80.0, 60.0),)
    np.testing.assert_array_equal(s.alpha(), first)
    assert len(gated.starts) == 2
    _assert_view_agrees(app)
    # the history is the first click and nothing else
    assert s.undo(wait=False) == "foreground point (80, 60)" and s.undo(wait=False) is None


def test_reset_during_a_computation_clears_the_view_and_undo_brings_back_the_computed_prompt(app, gated):
    click(app, 80, 60)
    gated.next_start()
    app.reset_button.click()
    s = app.session
    assert s.current.prompts.is_empty and not s.pending
    assert "data-points='0'" in _status(app) and "data-computing='0'" in _status(app)
    assert "mam-pending" not in app.matte._dom_classes
    assert not _marker_at(app, 80, 60)
    _assert_view_agrees(app)

    gated.release()
    settle(app)
    assert s.current.prompts.is_empty and s.current.result is None and not s.alpha().any()
    _assert_view_agrees(app)

    app.undo_button.click()  # the computation that ran during the reset is in the cache
    assert s.current.prompts.points == ((80.0, 60.0),) and s.current.result is not None and not s.is_pending()
    assert len(gated.starts) == 1 and not app._worker.busy
    _assert_view_agrees(app)


def test_new_object_during_a_computation_keeps_the_first_objects_result(app, gated):
    click(app, 80, 60)
    gated.next_start()
    app.add_object_button.click()
    s = app.session
    assert s.current.name == "object 2" and s.pending == ["object 1"]
    status = _status(app)
    assert "data-object='object 2'" in status and "data-computing='0'" in status and "data-pending='1'" in status
    assert "Computing the matte" in app.busy.value
    _assert_view_agrees(app)

    gated.release()  # object 1's prompt did not change: its result is its matte
    settle(app)
    assert s.current.name == "object 2" and not s.pending
    assert s.get("object 1").result is not None and s.get("object 1").prompts.points == ((80.0, 60.0),)
    assert "data-pending='0'" in _status(app) and app.busy.value == ""
    _assert_view_agrees(app)
    assert s.undo(wait=False) == "add object"
    assert s.current.name == "object 1" and _shows_current_matte(app)
    _assert_view_agrees(app)


def test_a_refinement_change_during_a_computation_refines_the_result_instead_of_showing_it(app, gated):
    click(app, 80, 60)
    gated.next_start()
    app.guidance.value = "mask"
    assert "data-guidance='mask'" in _status(app)
    gated.release()
    settle(app)
    s = app.session
    assert s.current.result.refinement.guidance == "mask"  # not the result made at α guidance
    assert len(gated.starts) == 1 and gated.refine_calls == 1  # no second SAM + M2M run
    _assert_view_agrees(app)


def test_a_failed_computation_is_reported_and_not_retried(app, gated):
    gated.fail = True
    click(app, 80, 60)
    gated.next_start()
    gated.release()
    settle(app)
    s = app.session
    assert "RuntimeError" in app.message and "the predictor failed" in app.message
    assert "RuntimeError: the predictor failed" in app.last_error
    assert not s.is_pending() and s.failure() == "RuntimeError: the predictor failed"
    assert "data-computing='0'" in _status(app) and "could not be computed" in _status(app)
    assert app.busy.value == ""
    assert len(gated.starts) == 1 and not app._worker.busy  # not retried by itself
    gated.fail = False
    click(app, 60, 50)  # a new prompt is computed
    gated.release()
    settle(app)
    assert s.current.result is not None and len(gated.starts) == 2
    _assert_view_agrees(app)


def test_the_session_computes_only_the_latest_state(gated):
    """The same without the widget: ``wait=False`` changes, ``compute_pending`` on another thread."""
    s = MattingSession(gated)
    s.set_image(sample_image())
    s.add_point(80, 60, wait=False)
    assert s.pending == ["object 1"] and s.current.result is None
    counts = []
    worker = threading.Thread(target=lambda: counts.append(s.compute_pending()))
    worker.start()
    gated.next_start()
    s.add_point(60, 50, wait=False)
    s.set_box([30, 20, 130, 100], wait=False)
    gated.release()
    assert gated.next_start() == {"points": [(80.0, 60.0), (60.0, 50.0)], "box": (30.0, 20.0, 130.0, 100.0)}
    assert s.current.result is None  # the first result is for a prompt that changed since
    gated.release()
    worker.join(HANG_S)
    assert counts == [2] and not s.pending
    np.testing.assert_allclose(s.current.result.box, [30, 20, 130, 100])
    gated.release()
    assert s.add_point(70, 70).result is not None  # the synchronous call returns with the matte
    assert len(gated.starts) == 3 and gated.starts[-1]["points"][-1] == (70.0, 70.0)


def test_computing_while_holding_the_session_lock_is_refused(gated):
    gated.open()
    s = MattingSession(gated)
    s.set_image(sample_image())
    with s.lock:
        s.add_point(80, 60, wait=False)  # a change alone is fine
        with pytest.raises(RuntimeError, match="session.lock"):
            s.compute_pending()
        with pytest.raises(RuntimeError, match="session.lock"):
            s.add_point(60, 50)
    assert s.compute_pending() == 1 and s.current.prompts.points == ((80.0, 60.0),)


def test_a_widget_shown_on_a_session_with_pending_mattes_computes_them(gated):
    gated.open()
    s = MattingSession(gated)
    s.set_image(sample_image())
    s.add_point(80, 60, wait=False)
    app = MattingWidget(session=s, display_size=W)
    settle(app)
    assert s.current.result is not None and not s.pending
    _assert_view_agrees(app)
    app.close()
