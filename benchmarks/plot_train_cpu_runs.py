"""Held-out SAD ratio against crops seen, for every ``bench_train_cpu.py`` run kept in results files.

    python benchmarks/plot_train_cpu_runs.py benchmarks/results/train_cpu.txt \
        benchmarks/results/train_cpu_variants.txt -o benchmarks/results/train_cpu_runs.png

Each run's report names its crop side (``crop C²``; hollow markers where it is not 128), its batch
and step count (``batch B, S steps``) and, if the budget cut it short, the steps it ran
(``training: ... after N steps``); crops seen = batch × completed steps. Runs whose simulated training
masks were binarised at one threshold (``threshold T-T``; reports before it was printed drew it in
[0.2, 0.8]) have filled markers with a black edge.
For each held-out set the run's ratio is the decoder's SAD over the mask's (unknown region). The
figure shows how the ratio falls with crops seen, next to the 0.7 target; the table is printed too.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

SETS = ("procedural backgrounds, precise mask", "photo backgrounds, precise mask",
        "procedural backgrounds, simulated mask", "photo backgrounds, simulated mask")
_HEADER = re.compile(r"batch (\d+), (\d+) steps")
_CROP = re.compile(r"^crop (\d+)²")
_THRESHOLD = re.compile(r"threshold ([\d.]+)-([\d.]+)\)")
_DONE = re.compile(r"^training: \w+ after (\d+) steps")
_ROW = re.compile(r"^\s+(" + "|".join(re.escape(s) for s in SETS) + r")\s+([\d.]+)\s+([\d.]+)\s")


def parse_runs(text: str) -> list[dict]:
    """The runs in one results text: ``{"crops": int, "label": str, set name: ratio, ...}`` each."""
    runs, run = [], None
    for line in text.splitlines():
        if (m := _HEADER.search(line)) and "cached" in line:
            crop = _CROP.match(line)
            run = {"batch": int(m.group(1)), "steps": int(m.group(2)), "done": int(m.group(2)),
                   "crop": int(crop.group(1)) if crop else 128, "fixed": None}
            if (t := _THRESHOLD.search(line)) and t.group(1) == t.group(2):
                run["fixed"] = float(t.group(1))
            runs.append(run)
        elif run is not None and (m := _DONE.search(line)):
            run["done"] = int(m.group(1))
        elif run is not None and (m := _ROW.match(line)):
            run[m.group(1)] = float(m.group(3)) / float(m.group(2))
    out = []
    for r in runs:
        if all(s in r for s in SETS[:2]):
            r["crops"] = r["batch"] * r["done"]
            r["label"] = (f"{r['done']}×{r['batch']}" + ("" if r["crop"] == 128 else f" of {r['crop']}²")
                          + ("" if r["fixed"] is None else f", t {r['fixed']:g}"))
            out.append(r)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("-o", "--output", type=Path, default=None, help="figure file (PNG); none: only the table")
    args = ap.parse_args(argv)
    runs = [r for path in args.results for r in parse_runs(path.read_text())]
    if not runs:
        raise SystemExit("no bench_train_cpu.py run found in " + ", ".join(map(str, args.results)))
    runs.sort(key=lambda r: r["crops"])
    print(f"{'run':>16} {'crops':>7}  " + "  ".join(s.replace(' backgrounds', '').replace(' mask', '')
                                                  for s in SETS))
    for r in runs:
        print(f"{r['label']:>16} {r['crops']:>7}  " + "  ".join(
            f"{r[s]:>{len(s.replace(' backgrounds', '').replace(' mask', ''))}.3f}" if s in r else " " * 5
            for s in SETS))
    if args.output is not None:
        import matplotlib  # noqa: PLC0415 (only for the figure)
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415

        fig, ax = plt.subplots(figsize=(11, 4.2))
        for (s, marker), colour in zip(zip(SETS, "osv^"), ("C0", "C1", "C2", "C3")):
            for crop, fixed in sorted({(r["crop"], r["fixed"]) for r in runs}, key=str, reverse=True):
                pts = [(r["crops"], r[s]) for r in runs if s in r and (r["crop"], r["fixed"]) == (crop, fixed)]
                if pts:  # 128² crops filled, other sizes hollow; masks binarised at one threshold: filled, black edge
                    label = s + ("" if crop == 128 else f", {crop}² crops") + \
                        ("" if fixed is None else f", masks binarised at {fixed:g}")
                    hollow = crop != 128 and fixed is None  # black-edged markers stay filled, to keep the colour
                    ax.plot(*zip(*pts), marker, color=colour, alpha=0.8, fillstyle="none" if hollow else "full",
                            markeredgecolor="k" if fixed is not None else colour,
                            markersize=8 if fixed is not None else 6, label=label)
        ax.axhline(0.7, color="k", ls="--", lw=1, label="target 0.7")
        ax.set_ylim(0.6, 0.9)  # the runs lie within 0.65-0.85; the axis does not start at 0
        ax.set_xlabel("crops seen in training (batch × steps)")
        ax.set_ylabel("SAD, trained M2M ÷ mask (unknown region)")
        ax.set_title("cpu-tiny runs: held-out SAD ratio against crops seen")
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the axes, off the points
        fig.tight_layout()
        args.output.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.output, dpi=110)
        print("figure saved to", args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
