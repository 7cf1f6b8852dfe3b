"""Plots of the engine's reports (matplotlib, Agg backend; no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PALETTE = ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]


def plot_simulation(doc: dict[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Learning curves (mean line, +-1 std band) per strategy, with the 95%/98% targets."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    full = float(doc["full_score"])
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=120)
    names = list(doc["strategies"])
    names.sort(key=lambda n: (n != "random", n))  # baseline first, drawn in grey
    lowest = 1.0
    for i, name in enumerate(names):
        entry = doc["strategies"][name]
        curve = np.asarray(entry["curve"], dtype=float)
        x, mean, std = curve[:, 0], curve[:, 1], curve[:, 2]
        lowest = min(lowest, float(np.nanmin(mean - std)))
        color = PALETTE[i % len(PALETTE)]
        reach = entry.get("labels_to_98")
        label = f"{name}: 98% at {int(reach)} labels" if reach else f"{name}: 98% not reached"
        ax.plot(x, mean, color=color, lw=2.2 if name != "random" else 1.8, label=label)
        ax.fill_between(x, mean - std, mean + std, color=color, alpha=0.18, lw=0)
        if reach:
            ax.axvline(reach, color=color, ls=":", lw=1.2, alpha=0.9)
    for frac, style in ((0.95, "--"), (0.98, "-.")):
        ax.axhline(full * frac, color="black", ls=style, lw=1, alpha=0.7)
        ax.text(
            float(doc["budget"]),
            full * frac,
            f" {int(frac * 100)}% of full ({full * frac:.3f})",
            va="center",
            ha="left",
            fontsize=8.5,
            clip_on=False,
        )
    ax.axhline(full, color="black", lw=1.2, alpha=0.9)
    ax.text(
        float(doc["budget"]), full, f" full data ({full:.3f})", va="center", ha="left", fontsize=8.5
    )
    ax.set_xlim(0, float(doc["budget"]))
    ax.set_ylim(max(0.0, min(lowest, full * 0.9) - 0.02), min(1.0, full + 0.03) + 0.01)
    ax.set_xlabel("labeled samples")
    ax.set_ylabel(f"test {doc.get('metric', 'accuracy')}")
    heading = title or (
        f"Active learning on {Path(str(doc['source'])).name}: "
        f"{doc.get('model_description', doc['model'])}, "
        f"{doc['seeds']} seeds (mean ± 1 std)"
    )
    ax.set_title(heading, fontsize=11)
    ax.grid(True, alpha=0.25)
    ax.legend(loc="lower right", fontsize=9, frameon=True)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
