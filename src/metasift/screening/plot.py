"""The recall curve of a simulated screening against random screening (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metasift.screening.simulate import SimulationResult

_RULE_STYLE = {
    "biased-urn": ("#1f77b4", "P"),
    "hypergeometric": ("#d62728", "o"),
    "knee": ("#9467bd", "s"),
    "safe": ("#2ca02c", "D"),
    "consecutive": ("#8c564b", "^"),
    "hypergeometric-sampled": ("#ff7f0e", "v"),
}


def plot_recall(result: SimulationResult, path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.asarray(result.labels)
    n, total = len(labels), int(labels.sum())
    x = np.arange(0, n + 1)
    found = np.concatenate([[0], np.cumsum(labels)])
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=150)
    ax.plot(x, found / total, color="#1f77b4", lw=2, label=f"metasift ({result.model.name})")
    ax.plot([0, n], [0, 1], color="#7f7f7f", lw=1.5, ls="--", label="random screening (expected)")
    at95 = result.metrics.get("screened_to_95")
    if at95:
        ax.axhline(0.95, color="#bbbbbb", lw=0.8, ls=":")
        ax.annotate(
            f"95% recall after {at95} of {n} ({100 * at95 / n:.0f}%)\n"
            f"WSS@95 = {result.metrics['wss@95']:.3f}",
            xy=(at95, 0.95),
            xytext=(at95 + 0.06 * n, 0.62),
            arrowprops={"arrowstyle": "->", "color": "#444444"},
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#cccccc"},
        )
        # The work saved at 95% recall: the stretch of records that need not be screened.
        ax.axvspan(
            at95,
            n,
            ymin=0,
            ymax=0.95 / 1.02,
            color="#1f77b4",
            alpha=0.06,
            zorder=0,
            label="records not needed for 95% recall",
        )
    for name, stop in result.stopping.items():
        at = stop.get("stop_at")
        if not at:
            continue
        color, marker = _RULE_STYLE.get(name, ("#17becf", "x"))
        # The recall the rule reached (a sampling rule's order departs from the ranked curve).
        ax.plot(
            [at],
            [stop["recall"]],
            marker=marker,
            color=color,
            ms=8,
            ls="none",
            label=f"{name} stop: {at} screened, recall {100 * stop['recall']:.1f}%",
        )
    if result.n_prior:
        ax.axvspan(0, result.n_prior, color="#eeeeee", zorder=0)
    ax.set_xlim(0, n)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("records screened")
    ax.set_ylabel(f"recall (of {total} relevant)")
    ax.set_title(title or f"Recall curve, seed {result.seed}, priors: {result.prior.describe()}")
    secondary = ax.secondary_xaxis("top", functions=(lambda v: 100 * v / n, lambda p: p * n / 100))
    secondary.set_xlabel("% of records screened")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8.5, framealpha=0.95)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def progress_figure(
    labels: np.ndarray, n_total: int, estimated_recall: float | None, title: str = ""
):
    """Relevant records found against records screened in a real review, beside the line
    random screening would follow towards the total the stopping rule estimates."""
    from matplotlib.figure import Figure

    labels = np.asarray(labels)
    found = np.concatenate([[0], np.cumsum(labels)])
    n = len(labels)
    fig = Figure(figsize=(7.5, 4.6), dpi=150)
    ax = fig.add_subplot()
    ax.step(np.arange(n + 1), found, where="post", color="#1f77b4", lw=2, label="relevant found")
    if estimated_recall and found[-1]:
        total = found[-1] / estimated_recall
        ax.plot(
            [0, n_total],
            [0, total],
            color="#7f7f7f",
            lw=1.3,
            ls="--",
            label="random screening (expected)",
        )
        ax.axhline(
            total, color="#d62728", lw=0.9, ls=":", label=f"estimated relevant ({total:.0f})"
        )
    ax.axvline(n, color="#444444", lw=0.8, ls="-.", label=f"screened so far ({n} of {n_total})")
    ax.set_xlim(0, max(n_total, 1))
    ax.set_ylim(0, max(1.0, float(found[-1]) * 1.25))
    ax.set_xlabel("records screened")
    ax.set_ylabel("relevant records found")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.25)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
