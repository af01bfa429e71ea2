"""A training run (:class:`~derivkit.training.loop.History`) as a short report.

The report lists at most about ten epochs (the first, evenly spaced ones, the
best and the last) with the loss and the metrics, then how the run ended.
"""

from __future__ import annotations

from derivkit.render import renderer
from derivkit.render.common import escape_latex_text, markdown_table, text_table
from derivkit.training.loop import History

__all__ = ["epoch_rows", "outcome"]


def _shown(n: int, best: int, most: int = 10) -> list[int]:
    if n <= most:
        return list(range(1, n + 1))
    picks = {1, n, *(round(1 + i * (n - 1) / (most - 1)) for i in range(most))}
    if best:
        picks.add(best)
    return sorted(picks)


def epoch_rows(h: History) -> tuple[list[str], list[list[str]]]:
    """Headers and rows (strings) of the epochs worth showing."""
    names = list(h.metrics)
    headers = ["epoch", "loss"] + (["val loss"] if h.val_losses else []) + [n.replace("_", " ") for n in names]
    rows = []
    for e in _shown(h.epochs, h.best_epoch):
        row = [f"{e}" + (" (best)" if e == h.best_epoch and h.best_epoch != h.epochs else ""), f"{h.losses[e - 1]:.6g}"]
        if h.val_losses:
            row.append(f"{h.val_losses[e - 1]:.6g}" if e <= len(h.val_losses) else "")
        for n in names:
            v = h.metrics[n]
            row.append(f"{v[e - 1]:.2%}" if e <= len(v) else "")
        rows.append(row)
    return headers, rows


def outcome(h: History) -> str:
    """One sentence: how the run ended."""
    when = f"{h.epochs} epoch{'s' * (h.epochs != 1)} in {h.seconds:.2f} s"
    if h.diverged:
        return f"Diverged after {when}: {h.reason}."
    if h.interrupted or h.stopped_early:
        return f"Stopped after {when}: {h.reason}."
    return f"Trained {when} with {h.optimizer}; final loss {h.final_loss:.6g}."


def _intro(h: History) -> str:
    batch = "full batch" if h.batch_size is None else f"batches of {h.batch_size}"
    return f"Training with {h.optimizer}, {batch}, seed {h.seed}"


@renderer(History, "text")
def history_text(h: History) -> str:
    headers, rows = epoch_rows(h)
    return "\n".join([_intro(h), "", text_table(headers, rows), "", outcome(h)])


@renderer(History, "markdown")
def history_markdown(h: History) -> str:
    headers, rows = epoch_rows(h)
    return "\n\n".join([_intro(h) + ".", markdown_table(headers, rows), outcome(h)])


@renderer(History, "latex")
def history_latex(h: History) -> str:
    headers, rows = epoch_rows(h)
    head = " & ".join(rf"\text{{{escape_latex_text(c)}}}" for c in headers) + r" \\ \hline"
    body = "\n".join(" & ".join(escape_latex_text(c) for c in r) + r" \\" for r in rows)
    return (rf"\begin{{array}}{{{'r' * len(headers)}}}" + "\n" + head + "\n" + body + "\n" + r"\end{array}"
            + "\n" + rf"\text{{{escape_latex_text(outcome(h))}}}")
