"""Reports on the iterative refinement: what each step did, measured against a known alpha.

* :func:`step_metrics` — SAD / MSE / Grad after each step of one result (start, os4, os1), and of
  each decoder output used alone, as a :class:`MetricsTable`.
* :func:`config_grid`, :func:`refine_variants`, :func:`final_metrics` — re-run only the refinement
  of a result under several settings (guidance mode, band widths, one- or two-sided) and tabulate
  the final mattes.
* :func:`overwritten_foreground` — how many confident-foreground pixels the bands rewrote (always 0
  for the default one-sided bands; the two-sided variant's risk).
* :func:`stand_in_result` — decoder outputs made from a known alpha (soft at os8, sharper at os4,
  sharp but speckled inside solid regions at os1) and a SAM-like mask, so the steps can be seen
  and measured with meaning even when only random weights are available. They are a teaching
  aid, not a model: nothing is predicted.

Metrics come from :mod:`mam_lib.evaluation.metrics` (the Python evaluation-code conventions: SAD ÷ 1000,
MSE printed ×1e3, Grad ÷ 1000).
"""
from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..inference.refinement import HIGH, RefinementConfig
# the stand-ins live in the inference layer (the widget uses them too); re-exported here
from ..inference.stand_in import StandInConfig, stand_in_outputs, stand_in_result  # noqa: F401

#: Step names of a :class:`~mam_lib.inference.predictor.MattingResult`: attribute, band key, label.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("start", "os8", "start"),
    ("after_os4", "os4", "after os4"),
    ("alpha", "os1", "after os1 (final)"),
)

#: Every metric of :func:`compare_mattes`: (name in mam_lib.evaluation.metrics, header, printed scale).
ALL_METRIC_COLUMNS = (("sad", "SAD", 1.0), ("mse", "MSE×1e3", 1e3), ("mad", "MAD×1e3", 1e3), ("grad", "Grad", 1.0),
                      ("conn", "Conn", 1.0))

#: Metric columns: (name in mam_lib.evaluation.metrics, header, printed scale).
_METRIC_COLUMNS = (("sad", "SAD", 1.0), ("mse", "MSE×1e3", 1e3), ("grad", "Grad", 1.0))


@dataclass(repr=False)
class MetricsTable:
    """A small table that prints as text, Markdown or HTML (notebooks show the HTML).

    Attributes:
        columns: header of each column.
        rows: one tuple per row; floats are printed with ``digits`` decimals.
        title: optional caption.
        digits: decimals of float cells.
    """

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    title: str | None = None
    digits: int = 3

    def _cell(self, value: Any) -> str:
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.{self.digits}f}"
        return str(value)

    def column(self, name: str) -> list[Any]:
        """The values of one column, by header."""
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as ``{header: value}`` dicts."""
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table."""
        lines = [f"**{self.title}**", ""] if self.title else []
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|")
        lines += ["| " + " | ".join(self._cell(v) for v in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        cells = [list(self.columns)] + [[self._cell(v) for v in row] for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        fmt = [(lambda s, w=w: s.ljust(w)) if i == 0 else (lambda s, w=w: s.rjust(w)) for i, w in enumerate(widths)]
        lines = [self.title] if self.title else []
        lines.append("  ".join(f(c) for f, c in zip(fmt, cells[0])))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(f(c) for f, c in zip(fmt, r)) for r in cells[1:]]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:{'left' if i == 0 else 'right'}'>{html.escape(self._cell(v))}</td>"
                             for i, v in enumerate(row)) + "</tr>" for row in self.rows)
        caption = f"<caption style='caption-side:top'>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _metric_values(alpha: np.ndarray, gt_alpha: np.ndarray, region) -> list[float]:
    from ..evaluation.metrics import all_metrics  # the evaluation module; imported here so plotting never needs it

    values = all_metrics(np.clip(alpha, 0.0, 1.0), gt_alpha, region, metrics=[m for m, _, _ in _METRIC_COLUMNS])
    return [values[m] * scale for m, _, scale in _METRIC_COLUMNS]


def step_metrics(result, gt_alpha: np.ndarray, region: np.ndarray | None = None,
                 with_outputs: bool = True) -> MetricsTable:
    """SAD / MSE×1e3 / Grad of the estimate after each refinement step of ``result``.

    Args:
        result: a :class:`~mam_lib.inference.predictor.MattingResult`.
        gt_alpha: ``(H,W)`` float in [0,1] (or uint8), the known alpha.
        region: which pixels count: None (whole image), a bool mask, or a trimap (128 counts).
        with_outputs: also add one row per decoder output used alone (``alpha_os8`` …), to show
            what the band-by-band combination gains over any single head.

    Columns: ``step``, ``px set`` (the pixels that step wrote), ``SAD``, ``MSE×1e3``, ``Grad``.
    """
    columns = ("step", "px set") + tuple(h for _, h, _ in _METRIC_COLUMNS)
    table = MetricsTable(columns, title=f"after each step ({result.refinement.guidance} guidance, "
                                        f"{'two' if result.refinement.two_sided else 'one'}-sided bands)")
    for attr, band, label in STEPS:
        table.rows.append((label, int(result.bands[band].sum()), *_metric_values(getattr(result, attr), gt_alpha, region)))
    if with_outputs:
        for key in ("alpha_os8", "alpha_os4", "alpha_os1"):
            table.rows.append((f"{key} alone", "", *_metric_values(getattr(result, key), gt_alpha, region)))
    return table


def compare_mattes(alphas: Mapping[str, np.ndarray], gt_alpha: np.ndarray, region: np.ndarray | None = None,
                   title: str | None = None) -> MetricsTable:
    """Every metric of each named matte against a known alpha, one row per matte.

    Args:
        alphas: ``{name: (H,W) float in [0,1]}``, e.g. a final alpha and SAM's mask used as an alpha.
        gt_alpha: ``(H,W)`` float in [0,1] (or uint8), the known alpha.
        region: which pixels count: None (whole image), a bool mask, or a trimap (128 counts).

    Columns: ``matte``, ``SAD``, ``MSE×1e3``, ``MAD×1e3``, ``Grad``, ``Conn`` (the conventions of
    :mod:`mam_lib.evaluation.metrics`: SAD, Grad and Conn ÷ 1000; lower is better for all).
    """
    from ..evaluation.metrics import all_metrics

    table = MetricsTable(("matte",) + tuple(h for _, h, _ in ALL_METRIC_COLUMNS), title=title)
    for name, alpha in alphas.items():
        values = all_metrics(np.clip(np.asarray(alpha, np.float32), 0.0, 1.0), gt_alpha, region,
                             metrics=[m for m, _, _ in ALL_METRIC_COLUMNS])
        table.rows.append((name, *(values[m] * scale for m, _, scale in ALL_METRIC_COLUMNS)))
    return table


def rewritten_foreground_mask(result) -> np.ndarray:
    """``(H,W)`` bool: pixels the os4 or os1 band rewrote although the estimate before that step
    was confident foreground (α > 254/255). Always empty for the default one-sided bands."""
    return (result.bands["os4"] & (result.start > HIGH)) | (result.bands["os1"] & (result.after_os4 > HIGH))


def overwritten_foreground(result) -> int:
    """How many confident-foreground pixels the os4 and os1 bands rewrote (see
    :func:`rewritten_foreground_mask`; a pixel rewritten by both steps counts twice). One-sided
    bands exclude them by construction, so this is 0 for them."""
    before4 = result.start > HIGH
    before1 = result.after_os4 > HIGH
    return int((result.bands["os4"] & before4).sum() + (result.bands["os1"] & before1).sum())


def _label(key: str, value: Any) -> str:
    if key == "two_sided":
        return "two-sided" if value else "one-sided"
    if key == "guidance":
        return f"{value} guidance"
    if key == "widths":
        return f"widths {value[0]}/{value[1]}"
    return f"{key}={value}"


def config_grid(base: RefinementConfig | None = None, **choices: Sequence[Any]) -> dict[str, RefinementConfig]:
    """Every combination of the given field values, named for tables and figures.

    >>> config_grid(guidance=["alpha", "mask"])     # {"alpha guidance": ..., "mask guidance": ...}
    >>> config_grid(two_sided=[False, True], widths=[(20, 10), (60, 40)])
    ... # {"one-sided, widths 20/10": ..., "one-sided, widths 60/40": ..., "two-sided, widths 20/10": ..., ...}

    Keys are :class:`~mam_lib.inference.refinement.RefinementConfig` fields, plus ``widths`` for
    ``(width_os4, width_os1)`` pairs. Fields not given keep ``base``'s value (default: the
    published settings). The first key varies slowest.
    """
    base = base or RefinementConfig()
    keys = list(choices)
    out: dict[str, RefinementConfig] = {}
    for values in itertools.product(*(choices[k] for k in keys)):
        changes: dict[str, Any] = {}
        for k, v in zip(keys, values):
            if k == "widths":
                changes["width_os4"], changes["width_os1"] = (int(w) for w in v)
            else:
                changes[k] = v
        name = ", ".join(_label(k, v) for k, v in zip(keys, values)) or "default"
        out[name] = base.with_(**changes)
    return out


def refine_variants(predictor, result, configs: Mapping[str, RefinementConfig]) -> dict[str, Any]:
    """``{name: predictor.refine(result, config)}``: only the refinement re-runs (no SAM, no M2M)."""
    return {name: predictor.refine(result, cfg) for name, cfg in configs.items()}


def final_metrics(results: Mapping[str, Any], gt_alpha: np.ndarray, region: np.ndarray | None = None,
                  title: str | None = None) -> MetricsTable:
    """One row per named result: band sizes, confident foreground rewritten, SAD / MSE×1e3 / Grad."""
    columns = ("setting", "os4 px", "os1 px", "fg px rewritten") + tuple(h for _, h, _ in _METRIC_COLUMNS)
    table = MetricsTable(columns, title=title)
    for name, res in results.items():
        table.rows.append((name, int(res.bands["os4"].sum()), int(res.bands["os1"].sum()),
                           overwritten_foreground(res), *_metric_values(res.alpha, gt_alpha, region)))
    return table
