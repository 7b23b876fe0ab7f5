"""Pictures from results: the forecast against the truth, the loss curves, the forecast improving
while training, and the future. Nothing here trains anything; every PNG is written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rnncast.files import atomic_write

if TYPE_CHECKING:
    from rnncast.evaluation import Evaluation


def _plt():
    """pyplot, imported on first use (half a second that a forecast without plots never pays),
    drawing to files only: no screen needed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


COLORS = {"history": "#444444", "truth": "#1f77b4", "forecast": "#d62728"}


def _save(fig, path: str | Path) -> Path:
    fig.tight_layout()
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    _plt().close(fig)
    return out


def _x(index, n: int):
    return index if index is not None else np.arange(n)


# one look per baseline, as many as there are baselines (never fewer: none left out silently)
LOOKS = [(":", "#7f7f7f"), ("-.", "#7f7f7f"), ("--", "#2ca02c"), ((0, (3, 1, 1, 1)), "#9467bd"),
         ((0, (1, 2)), "#8c564b"), ((0, (5, 2)), "#e377c2"), ((0, (3, 2, 1, 2, 1, 2)), "#17becf"),
         ((0, (2, 1)), "#bcbd22")]


def plot_evaluation(history: pd.DataFrame, truth: pd.DataFrame, forecast: pd.DataFrame,
                    baselines: dict[str, np.ndarray], title: str, path: str | Path) -> Path:
    """History, the held-out truth, the network's forecast and every baseline's (``(h, F)``
    each): one panel per target, each with its own axis."""
    targets = list(truth.columns)
    fig, axes = _plt().subplots(len(targets), 1, figsize=(9, 1.2 + 3.2 * len(targets)),
                                squeeze=False, sharex=True)
    tail = history.iloc[-max(3 * len(truth), 48):]
    for j, (target, ax) in enumerate(zip(targets, axes[:, 0], strict=True)):
        ax.plot(tail.index, tail[target].values, color=COLORS["history"], lw=1.2,
                label="history (train)")
        ax.plot(truth.index, truth[target].values, color=COLORS["truth"], lw=2, label="truth (test)")
        ax.plot(truth.index, forecast[target].values, color=COLORS["forecast"], lw=2,
                label="network")
        for k, (name, values) in enumerate(baselines.items()):
            style, color = LOOKS[k % len(LOOKS)]
            ax.plot(truth.index, values[:, j], ls=style, color=color, lw=1.3,
                    label=name.replace("_", " "))
        ax.axvline(truth.index[0], color="#bbbbbb", lw=0.8)
        ax.set_ylabel(target)
        ax.grid(alpha=0.3)
        if j == 0:
            ax.set_title(title)
            ax.legend(loc="upper left", fontsize=8, ncol=2)
    axes[-1, 0].set_xlabel(history.index.name or "time")
    return _save(fig, path)


def plot_losses(loss: list[float], val_loss: list[float], path: str | Path,
                best_epoch: int | None = None) -> Path:
    """Training and validation loss per epoch (log scale)."""
    fig, ax = _plt().subplots(figsize=(7, 3.8))
    epochs = np.arange(1, len(loss) + 1)
    ax.plot(epochs, loss, label="training loss")
    if val_loss:
        ax.plot(epochs[: len(val_loss)], val_loss, label="validation loss")
    if best_epoch:
        ax.axvline(best_epoch, color="#999999", ls="--", lw=0.8, label=f"best epoch ({best_epoch})")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (scaled units)")
    ax.set_title("Training and validation loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def plot_progress(truth: pd.Series, snapshots: list[tuple[int, np.ndarray]],
                  path: str | Path) -> Path:
    """The forecast of the test range after several epochs: the deck's picture of training."""
    fig, ax = _plt().subplots(figsize=(9, 4.2))
    cmap = _plt().get_cmap("viridis")
    for k, (epoch, values) in enumerate(snapshots):
        shade = cmap(k / max(1, len(snapshots) - 1))
        ax.plot(truth.index, values, color=shade, lw=1.3, label=f"epoch {epoch}")
    ax.plot(truth.index, truth.values, color="black", lw=2, ls="--", label="truth (test)", zorder=5)
    ax.set_title("Forecast of the test range while training")
    ax.set_xlabel(truth.index.name or "time")
    ax.set_ylabel(truth.name or "value")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_future(history: pd.DataFrame, forecast: pd.DataFrame, path: str | Path,
                title: str = "Forecast") -> Path:
    """The end of the history and the forecast past it, one line pair per target; prediction
    intervals (columns ``lo-80``/``hi-80`` or ``<target>-lo-80``/…) as shaded bands, quantiles
    (``q-10`` … ``q-90``) as a fan."""
    fig, ax = _plt().subplots(figsize=(9, 4.2))
    _draw_future(ax, history, forecast, title, legend=True)
    return _save(fig, path)


def plot_future_grid(series: list[tuple[str, pd.DataFrame, pd.DataFrame]], path: str | Path,
                     title: str) -> Path:
    """Several series' ``(name, history, forecast)`` as :func:`plot_future` draws one, side by
    side: a panel's forecast seen at a glance rather than one series of it."""
    fig, axes = _grid(len(series))
    for k, (ax, (name, history, forecast)) in enumerate(zip(axes, series, strict=True)):
        _draw_future(ax, history, forecast, f"'{name}'", legend=k == 0)
    fig.suptitle(title)
    return _save(fig, path)


def _grid(count: int):
    """A figure of ``count`` panels two abreast (one alone), the spare one hidden; its axes."""
    columns = 1 if count == 1 else 2
    rows = -(-count // columns)
    fig, axes = _plt().subplots(rows, columns, figsize=(6.5 * columns, 1.2 + 2.9 * rows),
                                squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:count])


def _draw_future(ax, history: pd.DataFrame, forecast: pd.DataFrame, title: str, legend: bool
                 ) -> None:
    tail = history.iloc[-max(3 * len(forecast), 48):]
    targets = [c for c in forecast.columns if c in history.columns]
    for column in targets:
        line = ax.plot(tail.index, tail[column].values, lw=1.2, label=f"{column} (history)")[0]
        prefix = "" if len(targets) == 1 else f"{column}-"
        levels = sorted({float(c.rsplit("-", 1)[1]) for c in forecast.columns
                         if c.startswith(f"{prefix}lo-")}, reverse=True)
        for k, level in enumerate(levels):  # widest first, lighter
            lo, hi = forecast[f"{prefix}lo-{level:g}"], forecast[f"{prefix}hi-{level:g}"]
            ax.fill_between(forecast.index, lo.values, hi.values, color=line.get_color(),
                            alpha=0.15 + 0.15 * k, lw=0, label=f"{column} {level:g}% interval")
        quantiles = sorted(float(c.rsplit("-", 1)[1]) for c in forecast.columns
                           if c.startswith(f"{prefix}q-"))
        for k, (lo, hi) in enumerate(zip(quantiles, quantiles[::-1], strict=True)):  # a fan
            if lo >= hi:
                break
            ax.fill_between(forecast.index, forecast[f"{prefix}q-{lo:g}"].values,
                            forecast[f"{prefix}q-{hi:g}"].values, color=line.get_color(),
                            alpha=0.15 + 0.1 * k, lw=0, label=f"{column} {lo:g}-{hi:g}% quantiles")
        ax.plot(forecast.index, forecast[column].values, lw=2, ls="--", color=line.get_color(),
                label=f"{column} (forecast)")
    ax.axvline(forecast.index[0], color="#bbbbbb", lw=0.8)
    ax.set_title(title)
    ax.set_xlabel(history.index.name or forecast.index.name or "step")
    ax.set_ylabel(targets[0] if len(targets) == 1 else ", ".join(targets))
    if legend:
        ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)


def plot_backtest(names: list[str], rows: list[list[float]], path: str | Path,
                  metric: str = "rmse") -> Path:
    """``metric`` of each model at each forecast origin, oldest first."""
    fig, ax = _plt().subplots(figsize=(7, 3.8))
    values = np.asarray(rows, dtype=np.float64)  # (folds, models)
    folds = np.arange(1, len(values) + 1)
    for k, name in enumerate(names):
        palette = f"C{k - 1 if k < 4 else k}"  # the default cycle without C3, the network's red
        style = dict(lw=2.2, color=COLORS["forecast"]) if k == 0 else dict(lw=1.2, ls="--",
                                                                            color=palette)
        ax.plot(folds, values[:, k], marker="o", label=name.replace("_", " "), **style)
    ax.set_xticks(folds)
    ax.set_xlabel("fold (forecast origin, oldest first)")
    ax.set_ylabel(metric.upper())
    ax.set_title(f"Backtest: {metric.upper()} at each forecast origin")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


CELL_COLORS = {"rnn": "#d62728", "lstm": "#1f77b4", "peephole": "#9467bd", "gru": "#2ca02c",
               "gru_torch": "#17becf"}


def plot_gradient_flow(flows: dict[str, np.ndarray], path: str | Path, title: str) -> Path:
    """‖∂loss/∂h_t‖ against steps back from the last input, one curve per cell, log scale."""
    fig, ax = _plt().subplots(figsize=(8, 4.2))
    for cell, norms in flows.items():
        back = np.arange(len(norms))[::-1]  # the last step is 0 steps back
        shown = np.where(norms > 0, norms, np.nan)  # a norm that underflowed to 0 has no log
        ax.plot(back, shown, lw=2, color=CELL_COLORS.get(cell), label=cell)
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the last input")
    ax.set_ylabel("‖∂loss/∂h_t‖ (mean over the batch)")
    ax.set_title(title)
    ax.legend(title="cell", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def plot_layer_gradients(norms: dict[str, list[dict[str, float]]], clipped: dict[str, float],
                         path: str | Path, title: str) -> Path:
    """Each layer's weight-gradient norm after every epoch, per cell (log scale); the legend
    gives the share of training steps whose gradient was clipped."""
    fig, ax = _plt().subplots(figsize=(8, 4.2))
    styles = ["-", "--", ":", "-."]
    for cell, epochs in norms.items():
        layers = list(epochs[0]) if epochs else []
        for k, layer in enumerate(layers):
            values = [e.get(layer, np.nan) for e in epochs]
            label = f"{cell} {layer}" + (f" ({clipped[cell]:.0%} of steps clipped)" if k == 0 else "")
            ax.plot(np.arange(1, len(values) + 1), values, styles[k % len(styles)], lw=1.8,
                    color=CELL_COLORS.get(cell), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("weight-gradient norm")
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def plot_memory(lengths: list[int], reductions: dict[str, list[float]], path: str | Path,
                title: str) -> Path:
    """Share of the best possible error reduction reached, against the memory length L."""
    fig, ax = _plt().subplots(figsize=(7, 4.2))
    looks = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":")]  # curves at 100% lie on each other
    for (cell, values), (marker, style) in zip(reductions.items(), looks * 2, strict=False):
        ax.plot(lengths, 100 * np.asarray(values), marker=marker, ls=style, lw=2, ms=7,
                color=CELL_COLORS.get(cell), label=cell, alpha=0.85)
    ax.axhline(95, color="#888888", ls=":", lw=1)
    ax.text(lengths[0], 91, "95% of the best possible", fontsize=8, color="#666666")
    ax.set_ylim(-5, 105)
    ax.set_xlabel("L: steps between the first marked value and the answer")
    ax.set_ylabel("error reduction over the mean (%)")
    ax.set_title(title)
    ax.legend(title="cell", fontsize=9)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_tuning(labels: list[str], scores: list[float], metric: str, path: str | Path) -> Path:
    """Mean backtest score of each configuration tried, best at the top."""
    fig, ax = _plt().subplots(figsize=(7, 0.9 + 0.35 * len(labels)))
    y = np.arange(len(labels))[::-1]
    colors = [COLORS["forecast"]] + ["#7f7f7f"] * (len(labels) - 1)
    ax.barh(y, scores, color=colors)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(f"mean backtest {metric.upper()} (lower is better)")
    ax.set_title("Configurations tried (best in red)")
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, path)


def plot_series_gallery(result: Evaluation, path: str | Path) -> Path:
    """A panel's evaluation series by series (its first target): the series it draws, from the
    network's best MASE to its worst, each with its history, the truth and the forecast."""
    fig, axes = _grid(len(result.drawn))
    for k, (ax, (name, mase, train, truth, forecast)) in enumerate(zip(axes, result.drawn,
                                                                      strict=True)):
        target = truth.columns[0]
        tail = train.iloc[-max(3 * len(truth), 48):]
        ax.plot(tail.index, tail[target].values, color=COLORS["history"], lw=1.2,
                label="history (train)")
        ax.plot(truth.index, truth[target].values, color=COLORS["truth"], lw=2, label="truth (test)")
        ax.plot(truth.index, forecast[target].values, color=COLORS["forecast"], lw=2,
                label="network")
        ax.axvline(truth.index[0], color="#bbbbbb", lw=0.8)
        ax.set_title(f"'{name}': MASE {mase:.3g}")
        ax.set_ylabel(target)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"{len(result.drawn)} of {result.series} series, from the network's best MASE "
                 "to its worst")
    return _save(fig, path)


def plot_evaluation_set(result: Evaluation, directory: str | Path, title: str) -> dict[str, Path]:
    """An evaluation's pictures in ``directory``: ``forecast.png`` (against the truth and the
    baselines, a panel per target), ``loss.png`` (first network), for a panel ``series.png``
    (:func:`plot_series_gallery`) and, when recorded, ``progress.png``."""
    directory = Path(directory)
    first = result.truth.columns[0]
    history = result.model.history
    written = {"forecast": plot_evaluation(result.train, result.truth, result.forecast,
                                           result.baseline_forecasts, title,
                                           directory / "forecast.png"),
               "loss": plot_losses(history.loss, history.val_loss, directory / "loss.png",
                                   history.best_epoch)}
    if result.drawn:
        written["series"] = plot_series_gallery(result, directory / "series.png")
    if result.snapshots:
        written["progress"] = plot_progress(result.truth[first], result.snapshots,
                                            directory / "progress.png")
    return written
