"""The progress chart of a target's experiment log (matplotlib, imported only here), for
autoresearch.report: speed-ups over the first kernel per experiment, kept ones joined as a
frontier and labelled, discarded grey, failed as red crosses, epochs as dotted lines.

PNG and SVG; the SVG has no date and fixed element ids, so the same log gives the same bytes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

from autoresearch.harness.runlog import DECISIONS

EPOCH = DECISIONS[-1]  # not an experiment: the chain starts again at its commit, on the same kernel
FAILED = ("crash", "timeout", "fail", "refused")  # no timing: drawn as red crosses

# Chart layout.
LABEL_CHARS = 42  # longer descriptions are cut at a word boundary
LOG_SCALE_SPAN = 4.0  # a log y axis once the largest speed-up shown is this many times the least
FIG_SIZE = (12.0, 6.5)  # inches
FIG_DPI = 150
SVG_HASH_SALT = "lance-autoresearch"  # fixed element ids: the same log gives the same SVG
GREEN, GREY, RED, EPOCH_COLOR = "#1b7f3b", "#b0b0b0", "#d62728", "#5b6b8c"
STYLES = {  # scatter styles by decision
    "keep": {"s": 46, "color": GREEN, "edgecolor": "white", "linewidth": 0.8, "zorder": 5},
    "discard": {"s": 22, "color": GREY, "zorder": 2},
    # the gate could not decide (noisy machine): a ratio was measured but is not trusted
    "undecided": {"s": 22, "facecolor": "none", "edgecolor": GREY, "linewidth": 1.0, "zorder": 2},
    "failed": {"s": 34, "marker": "x", "color": RED, "linewidth": 1.6, "zorder": 4},
}
UNTIMED_ROW = 0.03  # height (fraction of the axes) of the row of experiments that have no timing


class NoMatplotlib(Exception):
    """The chart needs the optional extra `plot` (exit 3)."""


@dataclass(frozen=True)
class Point:
    """One experiment on the chart: its speed-up over the first kernel (NaN when not timed)."""

    number: int
    decision: str
    speedup: float
    frontier: float  # speed-up of the kept kernel after this experiment
    description: str


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def epochs_note(n: int) -> str:
    return f", {n} epoch{'s' if n > 1 else ''}" if n else ""


# ---------------------------------------------------------------------------
# The chart (matplotlib, imported only here)
# ---------------------------------------------------------------------------


def _import_pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise NoMatplotlib(str(exc)) from None
    return plt


def _times(value: float, _pos=None) -> str:
    return f"{value:.3g}×"


def draw_chart(target: str, points: list[Point], out_base: Path, source: str = "") -> list[Path]:
    """Write out_base.png and out_base.svg of `points` (report.progress: one per row of the log;
    `source`: the log, named in the footnote)."""
    plt = _import_pyplot()
    from matplotlib import ticker
    from matplotlib.lines import Line2D

    epochs = [p for p in points if p.decision == EPOCH]
    points = [p for p in points if p.decision != EPOCH]
    kept = [p for p in points if p.decision == "keep"]
    timed_rest = [p for p in points if p.decision != "keep" and not math.isnan(p.speedup)]
    untimed = [p for p in points if math.isnan(p.speedup)]  # failed, or discarded untimed
    last = points[-1].number
    final = points[-1].frontier

    with plt.rc_context({"svg.hashsalt": SVG_HASH_SALT, "font.size": 10}):
        fig, ax = plt.subplots(figsize=FIG_SIZE, dpi=FIG_DPI)
        shown = [1.0] + [p.speedup for p in kept + timed_rest]
        low, high = min(shown), max(shown)
        log_scale = high / low >= LOG_SCALE_SPAN
        if log_scale:
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_minor_formatter(ticker.NullFormatter())
            span = math.log(high / low)
            # Room below for the row of untimed experiments, above for the labels.
            ax.set_ylim(low * math.exp(-0.12 * span), high * math.exp(0.25 * span))
        else:
            span = max(high - low, 0.1)
            ax.set_ylim(low - 0.12 * span, high + 0.35 * span)
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_times))
        ax.set_xlim(-0.5, last + 0.5 + 0.04 * last)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        ax.grid(True, which="major", color="#e6e6e6", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

        ax.axhline(1.0, color="#999999", linestyle=(0, (4, 3)), linewidth=0.9, zorder=1)
        # The frontier: flat from each kept experiment to the next, out to the last experiment.
        xs = [0] + [p.number for p in kept] + [last]
        ys = [1.0] + [p.frontier for p in kept] + [final]
        ax.step(xs, ys, where="post", color=GREEN, linewidth=2.0, zorder=3)
        ax.scatter([0], [1.0], s=40, color="white", edgecolor=GREEN, linewidth=1.5, zorder=4)
        for group in (kept, timed_rest, untimed):
            for decision in DECISIONS[:-1]:  # epochs are lines, below
                style = STYLES["failed" if decision in FAILED else decision]
                pts = [p for p in group if p.decision == decision]
                if not pts:
                    continue
                if group is untimed:  # no timing: a row along the bottom of the axes
                    ax.scatter(
                        [p.number for p in pts],
                        [UNTIMED_ROW] * len(pts),
                        transform=ax.get_xaxis_transform(),
                        clip_on=False,
                        **style,
                    )
                else:
                    ax.scatter([p.number for p in pts], [p.speedup for p in pts], **style)

        # Epochs: a dotted line after the experiment before each, labelled with its reason (the
        # description up to the versions), running up from above the row of untimed experiments.
        epoch_labels = []
        for p in epochs:
            ax.axvline(p.number + 0.5, color=EPOCH_COLOR, linestyle=":", linewidth=1.3, zorder=1)
            epoch_labels.append(
                ax.text(
                    p.number + 0.5,
                    2.5 * UNTIMED_ROW,
                    shorten(p.description.split("; versions changed:")[0]),
                    transform=ax.get_xaxis_transform(),
                    rotation=90,
                    ha="right",
                    va="bottom",
                    fontsize=7.5,
                    color=EPOCH_COLOR,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                    zorder=2,
                )
            )

        n_failed = sum(p.decision in FAILED for p in points)
        kinds = sorted({p.decision for p in points if p.decision in FAILED}, key=FAILED.index)
        handles = [
            Line2D([], [], color=GREEN, marker="o", linewidth=2.0, markeredgecolor="white"),
            Line2D([], [], color=GREY, marker="o", linestyle="none"),
            Line2D([], [], color=RED, marker="x", linestyle="none", markeredgewidth=1.6),
        ]
        labels = [
            f"kept ({len(kept)}): the frontier",
            f"discarded ({sum(p.decision == 'discard' for p in points)})",
            f"failed ({n_failed}): {' / '.join(kinds)}, untimed ones along the bottom"
            if n_failed
            else "failed (0)",
        ]
        if epochs:
            handles.append(Line2D([], [], color=EPOCH_COLOR, linestyle=":", linewidth=1.3))
            labels.append(f"epoch ({len(epochs)}): the chain starts again, same kernel")
        ax.legend(handles, labels, loc="upper left", frameon=False, fontsize=9)

        ax.set_xlabel("experiment #")
        ax.set_ylabel("speed-up over the first kernel" + (" (log scale)" if log_scale else ""))
        ax.set_title(
            f"{target}: {final:.2f}× over the first kernel after {last} experiments "
            f"({len(kept)} kept{epochs_note(len(epochs))})",
            loc="left",
            fontsize=13,
            fontweight="bold",
        )
        fig.text(
            0.01,
            0.01,
            "speed-up = product of the kept experiments' paired A/B time ratios (each: geomean "
            "over the workload of candidate time / previous kept kernel's time, the two timed "
            "alternately in one process).\n"
            + (
                "An epoch (dotted) restarts the chain on the same kernel: the product carries "
                "across it. "
                if epochs
                else ""
            )
            + f"A discarded experiment sits at its baseline's speed-up / its own ratio. {source}",
            fontsize=7.5,
            color="#666666",
            va="bottom",
        )
        fig.tight_layout(rect=(0, 0.045, 1, 1))
        _label_kept(fig, ax, kept, points, epoch_labels)

        paths = []
        for suffix, metadata in ((".png", {"Software": None}), (".svg", {"Date": None})):
            path = out_base.with_suffix(suffix)
            fig.savefig(path, metadata=metadata)
            paths.append(path)
        plt.close(fig)
    return paths


def _label_kept(fig, ax, kept: list[Point], points: list[Point], avoid=()) -> None:
    """Label each kept point with its description, placed greedily where it overlaps least.

    Candidate spots step up (then down) from the point, text running right (left in the right
    half of the chart, then the other way); the first spot inside the axes and clear of earlier
    labels, the legend, the frontier, the plotted points and the `avoid` artists (the epochs'
    labels) wins, else the least-overlapping one.
    """
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    axes_box = ax.get_window_extent(renderer)
    obstacles = []  # display-space boxes (x0, y0, x1, y1)
    legend = ax.get_legend()
    if legend is not None:
        lb = legend.get_window_extent(renderer)
        obstacles.append((lb.x0, lb.y0, lb.x1, lb.y1))
    for artist in avoid:
        box = artist.get_window_extent(renderer)
        obstacles.append((box.x0, box.y0, box.x1, box.y1))
    r = 5 * fig.dpi / 72  # a marker's half-width and then some, in pixels
    for p in points:
        if not math.isnan(p.speedup):
            x, y = ax.transData.transform((p.number, p.speedup))
            obstacles.append((x - r, y - r, x + r, y + r))
    corners = [(0, 1.0)] + [(p.number, p.frontier) for p in kept] + [(points[-1].number, None)]
    for (x0, y0), (x1, _) in itertools.pairwise(corners):
        a = ax.transData.transform((x0, y0))
        b = ax.transData.transform((x1, y0))
        obstacles.append((a[0], a[1] - 2, b[0], a[1] + 2))  # the flat part
    for prev, p in itertools.pairwise([Point(0, "keep", 1.0, 1.0, ""), *kept]):
        a = ax.transData.transform((p.number, prev.frontier))
        b = ax.transData.transform((p.number, p.frontier))
        obstacles.append((a[0] - 2, min(a[1], b[1]), a[0] + 2, max(a[1], b[1])))  # the step

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    x_mid = sum(ax.get_xlim()) / 2
    offsets = [14, 28, 42, 56, -16, -30, 70, 84, -44, 98, -58]
    leaders: list[tuple[tuple[float, float], tuple[float, float]]] = []
    for p in kept:
        anchor = tuple(ax.transData.transform((p.number, p.speedup)))
        sides = (-1, 1) if p.number > x_mid else (1, -1)
        best = None
        for dy, side in itertools.product(offsets, sides):
            ann = ax.annotate(
                f"#{p.number} {shorten(p.description)}",
                (p.number, p.speedup),
                xytext=(6 * side, dy),
                textcoords="offset points",
                ha="left" if side > 0 else "right",
                va="center",
                fontsize=8,
                color="#124d26",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
                arrowprops={
                    "arrowstyle": "-",
                    "color": "#8fbf9f",
                    "linewidth": 0.7,
                    "relpos": (0.0 if side > 0 else 1.0, 0.5),  # from the text's near end
                },
                zorder=6,
            )
            ann.update_positions(renderer)
            bb = Text.get_window_extent(ann, renderer)  # the text alone, not its leader line
            box = (bb.x0, bb.y0, bb.x1, bb.y1)
            leader = (anchor, (box[0] if side > 0 else box[2], (box[1] + box[3]) / 2))
            inside = (
                box[0] >= axes_box.x0
                and box[2] <= axes_box.x1
                and box[1] >= axes_box.y0
                and box[3] <= axes_box.y1
            )
            cost = sum(overlap(box, o) for o in obstacles) + (0.0 if inside else 1e9)
            cost += 1000 * sum(_segments_cross(leader, other) for other in leaders)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, ann, box, leader)
            else:
                ann.remove()
            if cost == 0:
                break
        obstacles.append(best[2])
        leaders.append(best[3])


def _segments_cross(a, b) -> bool:
    """Whether two segments ((x, y), (x, y)) properly intersect."""

    def turn(p, q, r) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    (p1, p2), (q1, q2) = a, b
    return turn(p1, p2, q1) * turn(p1, p2, q2) < 0 and turn(q1, q2, p1) * turn(q1, q2, p2) < 0
