"""The widget's status line: the current object, its prompt and coverage, and the latencies.

The ``data-*`` attributes of its outer ``<div>`` carry the session's state for pages and tests:
the current object's prompt counts (``data-points``, ``data-foreground``, ``data-background``,
``data-box``), ``data-coverage``, ``data-objects``, ``data-encodes``, ``data-guidance``,
``data-computing`` (1 while the current object's matte is being computed; its coverage then reads 0)
and ``data-pending`` (how many objects' mattes are still to be computed).
"""
from __future__ import annotations

from . import render
from .session import MattingSession
from .style import esc

#: the status line before any image is loaded
NO_IMAGE_STATUS = "<div class='mam-statusbar' data-objects='0'><div class='mam-details'>no image loaded</div></div>"


def status_html(session: MattingSession) -> str:
    """The status line of a session that has an image (read under the session's lock, so it agrees with itself)."""
    with session.lock:
        return _status_html(session)


def _status_html(s: MattingSession) -> str:
    sm = s.summary()
    color = "#%02x%02x%02x" % render.object_color(s.current_index)
    h, w_ = s.size
    chips = [
        f"<span class='mam-chip mam-obj' style='background:{color}'>{esc(sm.name)}</span>",
        f"<span class='mam-chip'>{esc(sm.prompt)}</span>",
    ]
    if sm.computing:
        chips.append("<span class='mam-chip mam-computing'>computing the matte…</span>")
    elif sm.error is not None:
        chips.append(f"<span class='mam-chip mam-failed'>the matte could not be computed: {esc(sm.error)}</span>")
    else:
        chips.append(f"<span class='mam-chip'>α coverage <b>{100 * sm.coverage:.1f}%</b></span>")
    if sm.iou is not None and sm.iou == sm.iou:  # NaN: the mask did not come from SAM's decoder
        chips.append(f"<span class='mam-chip'>SAM IoU <b>{sm.iou:.2f}</b></span>")
    elif sm.iou is not None:
        chips.append("<span class='mam-chip'>mask not from SAM</span>")
    details = [f"<span class='mam-action'>{esc(sm.last_action)}</span>"]
    if sm.latency is not None:
        lat = sm.latency
        if lat.cached:
            details.append("prompt → α: cached result")
        else:
            waited = f", waited {esc(_secs(lat.queued))} for the previous computation" if lat.queued >= 10 else ""
            details.append(f"prompt → α <b>{esc(_secs(lat.total))}</b> (SAM decoder {esc(_secs(lat.sam))}, "
                           f"M2M {esc(_secs(lat.m2m))}, refinement {esc(_secs(lat.refine))}{waited})")
    if s.encode_ms is not None:
        details.append(f"image encoder {s.encode_ms / 1000:.2f} s, once for this {w_}×{h} image")
    data = (f"data-object='{esc(sm.name)}' data-points='{sm.n_points}' data-foreground='{sm.n_foreground}' "
            f"data-background='{sm.n_background}' data-box='{int(sm.has_box)}' "
            f"data-coverage='{sm.coverage:.6f}' data-objects='{sm.n_objects}' "
            f"data-encodes='{s.encode_count}' data-guidance='{esc(s.refinement.guidance)}' "
            f"data-computing='{int(sm.computing)}' data-pending='{len(s.pending)}'")
    return (f"<div class='mam-statusbar' {data}><div class='mam-chips'>{''.join(chips)}</div>"
            f"<div class='mam-details'>{' · '.join(details)}</div></div>")


def _secs(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"
