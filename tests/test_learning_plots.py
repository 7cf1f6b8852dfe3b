"""The simulate plot: reference labels kept apart, legend wording, every curve drawn."""

from __future__ import annotations

import numpy as np

from labeler.learning.plots import (
    legend_label,
    plot_simulation,
    simulation_figure,
    spread_labels,
    star_positions,
)


def test_spread_labels_keeps_order_and_a_minimum_gap() -> None:
    placed = spread_labels([0.90, 0.91, 0.5, 0.905], 0.04)
    order = np.argsort([0.90, 0.91, 0.5, 0.905])
    assert list(np.argsort(placed)) == list(order)
    gaps = np.diff(sorted(placed))
    assert (gaps >= 0.04 - 1e-9).all()
    assert placed[2] == 0.5 or abs(placed[2] - 0.5) < 0.04  # far ones barely move
    assert spread_labels([0.1, 0.5, 0.9], 0.04) == [0.1, 0.5, 0.9]


def test_legend_says_where_the_curve_stays_and_when_it_fell_back() -> None:
    stays = {"labels_to_98": 240, "first_reach_98": 150, "final_score": 0.97}
    assert legend_label("margin", stays) == "margin: ≥98% from 240 labels (first touched at 150)"
    fell = {"labels_to_98": None, "first_reach_98": 45, "final_score": 0.4}
    assert (
        legend_label("random", fell)
        == "random: touched 98% at 45 labels, fell back, 0.400 at the end"
    )
    never = {"labels_to_98": None, "first_reach_98": None, "final_score": 0.6}
    assert legend_label("entropy", never) == "entropy: 98% not reached, 0.600 at the end"


def test_identical_curves_are_drawn_distinguishably(tmp_path) -> None:
    curve = [[10, 0.5, 0.05], [20, 0.8, 0.04], [40, 0.95, 0.01], [80, 0.97, 0.0]]
    entry = {"labels_to_98": 80, "first_reach_98": 80, "final_score": 0.97, "curve": curve}
    doc = {
        "source": "t.csv",
        "model": "logreg",
        "metric": "macro-f1",
        "seeds": 2,
        "budget": 80,
        "initial_labels": 10,
        "full_score": 0.975,
        "strategies": {"random": entry, "margin": entry, "entropy": entry},
    }
    out = plot_simulation(doc, tmp_path / "p.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = simulation_figure(doc).axes[0]
    lines = [line for line in ax.get_lines() if line.get_label() and line.get_label()[0] != "_"]
    assert len(lines) == 3
    styles = {(str(line.get_linestyle()), line.get_marker(), line.get_color()) for line in lines}
    assert len(styles) == 3  # same data, three looks: none hides another
    assert ax.get_xscale() == "log"
    low, high = ax.get_ylim()
    assert low <= 0.5 - 0.05 and high >= 0.975  # every curve, its band and the full line


def test_stars_at_one_label_count_are_set_side_by_side() -> None:
    assert star_positions([30, None, 45]) == [30.0, None, 45.0]
    shared = star_positions([30, 30, 30, 113])
    assert shared[1] == 30.0 and shared[0] < 30.0 < shared[2] and shared[3] == 113.0
    assert shared[2] / shared[1] == shared[1] / shared[0]  # evenly spaced on the log axis
    # drawn: three identical curves give three stars, none on top of another
    curve = [[10, 0.5, 0.05], [20, 0.8, 0.04], [40, 0.97, 0.01], [80, 0.97, 0.0]]
    entry = {"labels_to_98": 40, "first_reach_98": 40, "final_score": 0.97, "curve": curve}
    doc = {
        "source": "t.csv",
        "model": "logreg",
        "metric": "macro-f1",
        "seeds": 2,
        "budget": 80,
        "initial_labels": 10,
        "full_score": 0.975,
        "strategies": {"random": entry, "margin": entry, "entropy": entry},
    }
    ax = simulation_figure(doc).axes[0]
    star_xs = [float(line.get_xdata()[0]) for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(star_xs) == 3 and len(set(star_xs)) == 3
