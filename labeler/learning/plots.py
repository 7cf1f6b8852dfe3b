"""Plots of the engine's reports (matplotlib figures without pyplot; no display needed).

The learning-curve plot is read by someone choosing a strategy, so it must not hide anything:

* the y-range covers every curve and its spread band, and the full-data and target lines;
* the x-axis is logarithmic, so the first hundreds of labels (where strategies differ) are
  as readable as the last thousands;
* every strategy has its own colour, line style and marker, so identical curves drawn on top
  of each other still show (a dashed line over a solid one);
* the text labels of the reference lines are moved apart when they would overlap, and the
  per-strategy figures live in the legend, below the axes, not over the curves;
* the stars that mark where each curve reaches 98% for good are set side by side when
  several strategies get there at the same label count (identical curves do), instead of
  one hiding the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PALETTE = ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]
LINE_STYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), "-"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
TARGET_STYLES = ((1.0, "-", 1.2), (0.98, "-.", 1.0), (0.95, "--", 1.0))


def spread_labels(positions: Sequence[float], min_gap: float) -> list[float]:
    """Move sorted-by-value label positions apart so neighbours are at least ``min_gap`` apart,
    keeping their order and staying as close as possible to where they were (centred)."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = [float(positions[i]) for i in order]
    for _ in range(len(placed) + 1):  # push up, then pull the clusters back to their centres
        moved = False
        for k in range(1, len(placed)):
            if placed[k] - placed[k - 1] < min_gap - 1e-12:
                placed[k] = placed[k - 1] + min_gap
                moved = True
        if not moved:
            break
    shift = (sum(positions) - sum(placed)) / len(placed) if placed else 0.0
    placed = [p + shift for p in placed]
    out = [0.0] * len(placed)
    for rank, i in enumerate(order):
        out[i] = placed[rank]
    return out


STAR_SPACING = 0.022  # neighbouring stars at one label count: this share of the axis width


def star_positions(counts: Sequence[float | None], factor: float = 1.05) -> list[float | None]:
    """x of each strategy's star: its label count, or, where ``m`` strategies share one, the
    ``m`` stars centred on it, ``factor`` apart on the log x-axis (in drawing order)."""
    out: list[float | None] = []
    for i, c in enumerate(counts):
        if c is None:
            out.append(None)
            continue
        same = [k for k, other in enumerate(counts) if other == c]
        rank = same.index(i)
        out.append(float(c) * factor ** (rank - (len(same) - 1) / 2))
    return out


def legend_label(name: str, entry: dict[str, Any]) -> str:
    """What the legend says about one strategy: where it reaches 98% of full data for good."""
    stays, reach = entry.get("labels_to_98"), entry.get("first_reach_98")
    if stays is not None:
        if reach is not None and reach < stays:
            return f"{name}: ≥98% from {int(stays)} labels (first touched at {int(reach)})"
        return f"{name}: ≥98% from {int(stays)} labels"
    final = entry.get("final_score")
    end = f", {final:.3f} at the end" if final is not None else ""
    if reach is not None:
        return f"{name}: touched 98% at {int(reach)} labels, fell back{end}"
    return f"{name}: 98% not reached{end}"


def simulation_figure(doc: dict[str, Any], title: str | None = None) -> Figure:
    """Learning curves (mean line, +-1 std band) per strategy, with the 95%/98% targets."""
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    full = float(doc["full_score"])
    metric = str(doc.get("metric", "accuracy"))
    names = list(doc["strategies"])
    names.sort(key=lambda n: (n != "random", n))  # baseline first, drawn in grey
    fig = Figure(figsize=(9.5, 6.4), dpi=120)
    ax = fig.subplots()
    low, high = full * 0.95, full
    first = float(doc.get("initial_labels") or 1)
    budget = float(doc["budget"])
    # a star's width on the log axis, whatever its span: STAR_SPACING of (x_max / x_min)
    span = (
        budget * 1.05 / (min(first, *(doc["strategies"][n]["curve"][0][0] for n in names)) * 0.95)
    )
    stars = star_positions(
        [doc["strategies"][n].get("labels_to_98") for n in names], span**STAR_SPACING
    )
    for i, name in enumerate(names):
        entry = doc["strategies"][name]
        curve = np.asarray(entry["curve"], dtype=float)
        x, mean, std = curve[:, 0], curve[:, 1], curve[:, 2]
        low = min(low, float(np.nanmin(mean - std)))
        high = max(high, float(np.nanmax(mean + std)))
        first = min(first, float(x[0]))
        color = PALETTE[i % len(PALETTE)]
        stays = entry.get("labels_to_98")
        label = legend_label(name, entry)
        markevery = max(1, len(x) // 9)
        ax.plot(
            x,
            mean,
            color=color,
            ls=LINE_STYLES[i % len(LINE_STYLES)],
            lw=2.4 if name == "random" else 2.0,
            marker=MARKERS[i % len(MARKERS)],
            markersize=5,
            markevery=(i % markevery, markevery),
            label=label,
            zorder=3 + i,
        )
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.12, lw=0, zorder=1)
        if stays is not None:  # where the curve is at the target for good
            y_at = float(np.interp(stays, x, mean))
            ax.plot(
                [stars[i]],
                [y_at],
                marker="*",
                markersize=14,
                color=color,
                markeredgecolor="black",
                markeredgewidth=0.6,
                zorder=20,
                ls="none",
            )
    ymin = max(0.0, low - 0.03 * (high - low) - 0.005)
    ymax = min(1.0, high) + 0.03 * (min(1.0, high) - ymin) + 0.005
    ax.set_ylim(ymin, ymax)
    ax.set_xscale("log")
    ax.set_xlim(first * 0.95, budget * 1.05)
    ticks = [
        t * 10**e
        for e in range(0, 7)
        for t in (1, 2, 5)
        if first * 0.95 <= t * 10**e <= budget * 1.05
    ]
    ticks = sorted({*ticks, int(first), int(budget)})
    ticks = [t for k, t in enumerate(ticks) if k == 0 or t / ticks[k - 1] > 1.15 or t == budget]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([f"{int(t)}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    references = [(full * f, style, lw, f) for f, style, lw in TARGET_STYLES]
    for value, style, lw, _ in references:
        ax.axhline(value, color="black", ls=style, lw=lw, alpha=0.75, zorder=2)
    # labels at the right edge, moved apart in axes coordinates where they would collide
    span = ymax - ymin
    in_axes = [(value - ymin) / span for value, *_ in references]
    placed = spread_labels(in_axes, 0.045)
    for (value, _, _, frac), y_axes in zip(references, placed, strict=True):
        text = f"full data ({value:.3f})" if frac == 1.0 else f"{int(frac * 100)}% ({value:.3f})"
        ax.annotate(
            text,
            xy=(1.0, (value - ymin) / span),
            xytext=(1.01, y_axes),
            xycoords="axes fraction",
            textcoords="axes fraction",
            va="center",
            ha="left",
            fontsize=8.5,
            arrowprops={"arrowstyle": "-", "lw": 0.6, "color": "0.4"},
        )
    ax.set_xlabel("labeled samples (log scale)")
    ax.set_ylabel(f"test {metric} (mean over seeds, band ±1 std)")
    heading = title or (
        f"Active learning on {Path(str(doc['source'])).name}: "
        f"{doc.get('model_description', doc['model'])}, {doc['seeds']} seeds"
    )
    ax.set_title(heading, fontsize=11)
    ax.grid(True, which="major", alpha=0.25)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=2 if len(names) > 2 else 1,
        fontsize=8.5,
        frameon=False,
        title="★ where the mean curve reaches 98% of full data and stays there",
        title_fontsize=8.5,
    )
    fig.tight_layout()
    return fig


def plot_simulation(doc: dict[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Draw :func:`simulation_figure` to a PNG file."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    simulation_figure(doc, title).savefig(out)
    return out
