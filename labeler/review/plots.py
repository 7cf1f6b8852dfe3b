"""Review plots. Each function returns a bare matplotlib ``Figure`` (no pyplot, no global
backend: saving renders with Agg, so this works without a display and without Qt);
:func:`png_bytes` and :func:`save_png` turn a figure into a PNG."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SIZE = (6.4, 4.2)
DPI = 110
ACCENT = "#2f6db5"


def _figure() -> tuple[Figure, object]:
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _empty(ax: object, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def learning_curve_figure(curve: pd.DataFrame) -> Figure:
    fig, ax = _figure()
    if curve.empty:
        _empty(ax, "no trained model yet")
        ax.set_title("Learning curve")
        return fig
    metric = str(curve["metric"].iloc[-1])
    ax.plot(curve["labels"], curve["score"], marker="o", color=ACCENT)
    for _, row in curve.iterrows():
        ax.annotate(f"v{int(row['model_version'])}", (row["labels"], row["score"]),
                    textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7,
                    color="0.35")  # fmt: skip
    ax.set_xlabel("labeled samples")
    ax.set_ylabel(f"cross-validated {metric}")
    ax.set_ylim(min(0.0, float(curve["score"].min()) - 0.05), 1.02)
    ax.grid(alpha=0.3)
    ax.set_title("Learning curve")
    return fig


def confusion_figure(matrix: pd.DataFrame) -> Figure:
    fig, ax = _figure()
    values = matrix.to_numpy()
    if values.sum() == 0:
        _empty(ax, "no out-of-fold predictions yet")
        ax.set_title("Confusion matrix")
        return fig
    row_sums = values.sum(axis=1, keepdims=True)
    share = np.divide(values, row_sums, out=np.zeros_like(values, dtype=float), where=row_sums > 0)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    labels = list(matrix.index)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(values[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_xlabel("predicted (out of fold)")
    ax.set_ylabel("given label")
    fig.colorbar(image, ax=ax, label="share of row")
    ax.set_title("Confusion matrix")
    return fig


def per_class_figure(metrics: pd.DataFrame) -> Figure:
    fig, ax = _figure()
    if metrics.empty or metrics["support"].sum() == 0:
        _empty(ax, "no out-of-fold predictions yet")
        ax.set_title("Per-class precision, recall, F1")
        return fig
    x = np.arange(len(metrics))
    width = 0.27
    for k, (col, color) in enumerate(
        [("precision", "#6a9fd8"), ("recall", "#f0a04b"), ("f1", "#3b8b5a")]
    ):
        ax.bar(x + (k - 1) * width, metrics[col], width, label=col, color=color)
    ax.set_xticks(x, [f"{lab}\n(n={n})" for lab, n in zip(metrics["label"], metrics["support"],
                                                            strict=True)])  # fmt: skip
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("Per-class precision, recall, F1")
    return fig


def class_balance_figure(balance: pd.Series) -> Figure:
    fig, ax = _figure()
    if balance.sum() == 0:
        _empty(ax, "no labels yet")
        ax.set_title("Class balance")
        return fig
    bars = ax.barh(list(balance.index)[::-1], list(balance.values)[::-1], color=ACCENT)
    total = int(balance.sum())
    for bar, value in zip(bars, list(balance.values)[::-1], strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2,
                f" {value} ({value / total:.0%})", va="center", fontsize=8)  # fmt: skip
    ax.set_xlabel("labeled samples")
    ax.set_xlim(0, balance.max() * 1.25)
    ax.set_title("Class balance")
    return fig


def run_history_figure(history: pd.DataFrame) -> Figure:
    fig, ax = _figure()
    if history.empty:
        _empty(ax, "no training runs yet")
        ax.set_title("Run history")
        return fig
    ok = history[history["status"] == "ok"]
    failed = history[history["status"] != "ok"]
    ax.plot(ok["run"], ok["score"], marker="o", color=ACCENT, label="score")
    if not failed.empty:
        base = float(ok["score"].min()) if ok["score"].notna().any() else 0.0
        ax.scatter(failed["run"], [base] * len(failed), marker="x", color="#c0392b",
                   label="failed run", zorder=3)  # fmt: skip
    ax.set_xlabel("run")
    ax.set_ylabel("score")
    ax2 = ax.twinx()
    ax2.bar(history["run"], history["seconds"].fillna(0), alpha=0.2, color="0.3", label="seconds")
    ax2.set_ylabel("duration (s)")
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Run history")
    return fig


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def save_png(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
