"""What the commands share: loading, progress, printing, the evaluation files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rnncast import plots, rules
from rnncast.baselines import BUDGET
from rnncast.cli.args import METRICS, time_config
from rnncast.data import LONG, Panel, SeriesData, as_panel, load_long, load_series
from rnncast.errors import SettingError
from rnncast.evaluation import Evaluation, holdout
from rnncast.files import write_text
from rnncast.forecaster import Forecaster
from rnncast.progress import Progress, Stages
from rnncast.tables import column_names
from rnncast.verdict import plain, sentence, standing


# -- progress ------------------------------------------------------------------------------------
def progress(args: argparse.Namespace, label: str, model: Forecaster | None = None,
             fits: int | None = 1, runs: int | None = None) -> Progress:
    """The command's progress on stderr (a bar on a terminal, lines in a log), never with
    --quiet or --json: over ``fits`` fits of the model's ensemble, or a count of ``runs``."""
    members = model.ensemble if model else 1
    return Progress(label, members, fits, shown=not args.quiet and not args.json, runs=runs)


def say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet and not args.json:
        print(text)


def choices_text(model: Forecaster) -> str:
    """What the recipe chose from the data, a line each (options given on the command line win)."""
    return "chosen from the data (options you give win):\n" + "\n".join(
        f"  {line}" for line in model.choices)


def columns_from_file(args: argparse.Namespace) -> str | None:
    """Without ``--target``: the long layout of NeuralForecast and statsforecast (``unique_id``,
    ``ds``, ``y``) where the file has a ``y`` column, each column not given taken; the line
    saying so (None: nothing was taken). Otherwise one line asking for ``--target``."""
    if not getattr(args, "columns_from_file", False) or args.target:
        return None
    names = column_names(args.data)
    if LONG[2] not in names:
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        raise SettingError(f"give --target COLUMN, the column to forecast ({args.data} has no "
                           f"column '{LONG[2]}'; its columns: {shown})")
    args.target = [LONG[2]]
    args.id_col = args.id_col or (LONG[0] if LONG[0] in names else None)
    args.time_col = args.time_col or (LONG[1] if LONG[1] in names else None)
    taken = [f"{name} ({role})" for name, role in ((args.id_col, "series"), (args.time_col, "time"),
                                                   (LONG[2], "target")) if name]
    return "columns: " + ", ".join(taken)


# -- commands ------------------------------------------------------------------------------------
def load_data(args: argparse.Namespace) -> SeriesData | Panel:
    inputs = [*args.covariate, *getattr(args, "future", [])]
    columns = args.target + [c for c in inputs if c not in args.target]
    if args.id_col:
        return load_long(args.data, args.id_col, columns, args.time_col, time_config(args))
    return load_series(args.data, columns, args.time_col, time_config(args))


def default_steps(data: SeriesData | Panel, model: Forecaster) -> int:
    """Points to hold out or calibrate for when not given: the head asked for, else one season,
    else a tenth of the (first) series (:func:`rnncast.rules.default_steps`)."""
    return rules.default_steps(as_panel(data), model.series_config)



def evaluate_holdout(args, data: SeriesData, test: int, model: Forecaster, bar: Progress,
                     stages: Stages) -> Evaluation:
    return holdout(data, test, model, args.season, watch=True, callback=bar,
                   baselines=getattr(args, "baselines", None),
                   budget=getattr(args, "baseline_budget", BUDGET), stages=stages,
                   levels=getattr(args, "intervals", None))


def result_json(result: Evaluation, test: int) -> dict:
    return {
        "metrics": result.metrics,
        "baselines": result.baselines,
        "verdict_metric": result.metric,
        "verdict": sentence(result),
        "better_baselines": standing(result).better,
        "tied_baselines": standing(result).tied,
        "per_target": result.per_target if len(result.per_target) > 1 else None,
        "baseline_notes": result.notes,
        "seconds": {"network_training": sum(h.seconds for h in result.model.histories),
                    "baselines": result.baseline_seconds},
        "test": test,
        "series": result.series,
        "skipped": result.skipped,
        "season": result.season,
        "seasons": list(result.model.plan.seasons),
        "settings": result.model.config(),
        "choices": result.model.choices,
        "epochs_best": [h.best_epoch for h in result.model.histories],
        "window": list(result.model.plan.windows),
        "bands": result.bands,
        "season_ends": result.season_ends,
    }


def write_evaluation(result: Evaluation, out: Path, summary: dict, title: str | None = None
                     ) -> None:
    """metrics.json and series_scores.csv in ``out``, and the plots under ``title`` when given."""
    out.mkdir(parents=True, exist_ok=True)  # a staged folder, or a part of one
    if title is not None:
        plots.plot_evaluation_set(result, out, title)
    write_text(out / "metrics.json", to_json(summary, indent=2) + "\n")
    if result.per_series is not None:
        write_text(out / "series_scores.csv", result.per_series.to_csv(index=False,
                                                                       float_format="%.6g"))



def bands_line(bands: dict[str, dict[str, float] | None]) -> str:
    """How well each band is calibrated, in one line."""
    parts = []
    for name, scores in bands.items():
        if scores is None:
            parts.append(f"{name}: too few errors for a bounded band")
            continue
        width = name.split()[-1].split("-")
        share = f"{float(width[1]) - float(width[0]):g}%" if len(width) == 2 else f"{width[0]}%"
        pinball = (f", scaled pinball {scores['scaled_pinball']:.3f}"
                   if "scaled_pinball" in scores else "")
        parts.append(f"{name} covers {scores['coverage']:.0%} of the test points (nominal "
                     f"{share}), MSIS {scores['msis']:.2f}{pinball}")
    return "bands: " + "; ".join(parts)


def season_ends_line(ends: dict[str, dict[str, float]]) -> str:
    """How each forecast starts and ends, in one line: its first season's MASE, its last
    season's mean error in percent of the truth (a forecast that drifts starts well)."""
    return "first season's MASE / last season's bias: " + ", ".join(
        f"{name.replace('_', ' ')} {e['first_season_mase']:.3g} / {e['last_season_bias']:+.1f}%"
        for name, e in ends.items())


def few_ids(ids: list[str] | None) -> str:
    ids = ids or []
    return ", ".join(ids[:3]) + (f" … ({len(ids)} in all)" if len(ids) > 3 else "")



# -- printing ------------------------------------------------------------------------------------
def score_table(rows: list[tuple[str, Evaluation]]) -> str:
    """The scores of each evaluation's network and baselines, a row each; several targets get a
    table each (their units differ), the verdict's scale-free metrics across them first."""
    width = max(24, *(len(label) for label, _ in rows))  # a long file name keeps the columns
    lines = [f"{'data':<{width}} {'model':<16} " + " ".join(f"{m.upper():>10}" for m in METRICS)]
    for label, result in rows:
        name = f"{result.model.model_config.cell}, {result.model.plan.strategy}"
        tables = [(label, result.metrics, result.baselines)]
        if result.targets > 1:
            tables += [(f"  {target}", scores["network"],
                        {k: v for k, v in scores.items() if k != "network"})
                       for target, scores in result.per_target.items()]
        for title, network, baselines in tables:
            entries = [(name, network)] + [(k.replace("_", " "), v) for k, v in baselines.items()]
            for k, (model, scores) in enumerate(entries):
                cells = " ".join(f"{plain(scores[m]):>10}" for m in METRICS)
                lines.append(f"{title if k == 0 else '':<{width}} {model:<16} {cells}")
        lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)


def to_json(value, indent: int | None = None) -> str:
    """Strict JSON: NaN and infinities (metrics that are undefined) become null."""
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, float | np.floating) and not np.isfinite(v):
            return None
        return v

    return json.dumps(clean(value), default=jsonable, allow_nan=False, indent=indent)


def jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

