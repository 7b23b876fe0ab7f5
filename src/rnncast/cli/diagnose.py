"""`rnncast diagnose`: vanishing and exploding gradients, per cell and per remedy."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnncast import plots
from rnncast.cli.args import (
    HelpFormatter,
    cell_names,
    length_list,
    output_arguments,
    positive_float,
    positive_int,
    seed_int,
    time_arguments,
)
from rnncast.cli.common import load_data, progress, say, to_json
from rnncast.errors import RnncastError, SettingError
from rnncast.files import Outputs, write_text
from rnncast.settings import SeriesConfig


def add(verbs) -> None:
    dg = verbs.add_parser(
        "diagnose", formatter_class=HelpFormatter,
        help="see vanishing and exploding gradients: per cell, per remedy",
        description=(
            "Measure how much the loss at the end still hears each input step, ‖∂loss/∂h_t‖,\n"
            "for a fresh network of each --cells, train each briefly, and report the gradient\n"
            "ratio first/last step (≪ 1: vanishing), the final validation loss against always\n"
            "predicting the mean, and the share of clipped steps. On DATA (a file, as in fit)\n"
            "or on the adding problem (--task adding --length L: the answer depends on a value\n"
            "up to L steps back; several lengths give accuracy against L). --remedies adds a\n"
            "table of the usual remedies switched on one at a time. The starting point is\n"
            "PyTorch's default initialisation; gated cells get their memory gate biased open\n"
            "for the window length (chrono initialisation; --no-chrono to turn it off)."
        ),
        epilog=("examples:\n"
                "  rnncast diagnose --task adding --length 50 --json\n"
                "  rnncast diagnose --task adding --length 25,50,100 --cells rnn,lstm --out diag\n"
                "  rnncast diagnose --task adding --length 50 --cells rnn --remedies --explode-lr 1\n"
                "  rnncast diagnose sales.csv --target sales --time-col month --out diag"),
    )
    dg.add_argument("data", type=Path, nargs="?", help="CSV or Parquet file (or use --task)")
    dg.add_argument("--target", action="append", help="column(s) to forecast, as in fit")
    dg.add_argument("--time-col", help="time column")
    dg.add_argument("--id-col", help="series id column (long format)")
    time_arguments(dg)
    dg.add_argument("--window", type=positive_int, help="input length for DATA (default: three seasons)")
    dg.add_argument("--head", "--horizon", type=positive_int, dest="head",
                    help="steps ahead for DATA (default: one season; --horizon: its old name)")
    dg.add_argument("--season", type=positive_int, help="season length for DATA")
    dg.add_argument("--task", choices=["adding"], help="a synthetic long-memory task instead of DATA")
    dg.add_argument("--length", type=length_list, default=[50],
                    help="the task's memory length L (comma-separated for several)")
    dg.add_argument("--samples", type=positive_int, default=10_000, help="training sequences (task)")
    dg.add_argument("--cells", "--cell", type=cell_names, default=["rnn", "lstm", "peephole", "gru"],
                    help="comma-separated cells to compare")
    dg.add_argument("--units", type=positive_int, default=64, help="units per cell")
    dg.add_argument("--init", choices=["pytorch", "xavier"], default="pytorch",
                    help="initialisation (xavier: Glorot inputs, orthogonal recurrent weights)")
    dg.add_argument("--no-chrono", action="store_true", help="no memory-gate bias for gated cells")
    dg.add_argument("--activation", choices=["tanh", "relu", "leaky_relu", "elu"], default="tanh",
                    help="candidate/output nonlinearity")
    dg.add_argument("--layer-norm", action="store_true", help="normalise gate pre-activations")
    dg.add_argument("--epochs", type=positive_int, default=30, help="maximum epochs per cell")
    dg.add_argument("--patience", type=positive_int, default=10, help="early-stopping patience")
    dg.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate")
    dg.add_argument("--batch-size", type=positive_int, default=100, help="sequences per batch")
    dg.add_argument("--clip-norm", type=positive_float, help="clip the gradient norm (default: off)")
    dg.add_argument("--clip-value", type=positive_float, help="clip each gradient entry (default: off)")
    dg.add_argument("--remedies", action="store_true",
                    help="also probe each remedy alone on the first of --cells")
    dg.add_argument("--explode-lr", type=positive_float, metavar="LR",
                    help="with --remedies: plain SGD at this rate, without and with clipping")
    dg.add_argument("--seed", type=seed_int, default=0, help="random seed (data and weights)")
    dg.add_argument("--out", type=Path, help="directory for diagnose.json and the plots")
    output_arguments(dg)



def run(args: argparse.Namespace, run: Outputs) -> dict:
    from rnncast import diagnostics
    from rnncast.networks import ModelConfig
    from rnncast.training import TrainConfig

    if (args.data is None) == (args.task is None):
        raise SettingError("give either a DATA file or --task adding")
    if args.data is not None and not args.target:
        raise SettingError("DATA needs --target (the column to forecast)")
    if args.explode_lr and not args.remedies:
        raise SettingError("--explode-lr belongs to the --remedies table; add --remedies")
    folder = run.directory(args.out) if args.out else None
    train_config = TrainConfig(epochs=args.epochs, patience=args.patience, lr=args.lr,
                               batch_size=args.batch_size, clip_norm=args.clip_norm,
                               clip_value=args.clip_value, spike_guard=None, seed=args.seed,
                               loss="mse")  # the deck's experiments: squared error
    if args.task:
        cases = [(f"adding problem, L = {n}", n, diagnostics.adding_data(n, args.samples, 1000,
                                                                          args.seed))
                 for n in args.length]
    else:
        args.covariate = []
        settings = SeriesConfig(window=args.window, head=args.head, season=args.season)
        data = diagnostics.pairs(load_data(args), settings)
        if len(data[2]) == 0:
            raise RnncastError(f"{args.data}: too short to hold out validation windows after "
                               f"training windows of {data[0].shape[1]}; use a shorter --window")
        cases = [(f"{args.data.name}, window {data[0].shape[1]}", data[0].shape[1], data)]

    def config(cell: str, length: int) -> ModelConfig:
        chrono = 0 if args.no_chrono or cell == "rnn" else max(2, length)
        return ModelConfig(cell=cell, units=args.units, init=args.init, activation=args.activation,
                           layer_norm=args.layer_norm, chrono=chrono)

    runs = []
    with progress(args, "diagnose", runs=len(cases) * len(args.cells)) as bar:
        for label, length, data in cases:
            probes = {}
            for cell in args.cells:
                probes[cell] = diagnostics.probe(data, config(cell, length), train_config)
                bar.step()
            runs.append((label, length, data, probes))
        label, length, data, _ = runs[-1]
        table = {}
        if args.remedies:
            table = diagnostics.remedies(data, args.cells[0], config(args.cells[0], length),
                                         train_config, args.explode_lr)
    last = runs[-1][3]
    out = {"task": args.task or str(args.data), "length": runs[-1][1], "init": args.init,
           "chrono": not args.no_chrono, "cells": {c: p.to_dict() for c, p in last.items()}}
    if len(runs) > 1:
        out["by_length"] = {str(n): {c: p.to_dict() for c, p in probes.items()}
                            for _, n, _, probes in runs}
    if table:
        out["remedies"] = {"cell": args.cells[0], "rows": {k: p.to_dict() for k, p in table.items()}}
    for label, _, _, probes in runs:
        say(args, f"\n{label}\n" + _probe_table(probes, "cell"))
    if table:
        say(args, f"\nremedies, one at a time ({args.cells[0]}, {label})\n"
                   + _probe_table(table, "configuration"))
    if args.out:
        write_text(folder / "diagnose.json", to_json(out, indent=2) + "\n")
        title = f"{runs[-1][0]}: gradient reaching each step at initialisation ({args.init} init)"
        plots.plot_gradient_flow({c: p.flow.through_time[0] for c, p in last.items()},
                                 folder / "gradient_flow.png", title)
        plots.plot_layer_gradients({c: p.layer_norms for c, p in last.items()},
                                   {c: p.clipped_fraction for c, p in last.items()},
                                   folder / "layer_gradients.png",
                                   f"{runs[-1][0]}: weight gradients while training")
        written = ["diagnose.json", "gradient_flow.png", "layer_gradients.png"]
        if len(runs) > 1:
            plots.plot_memory([n for _, n, _, _ in runs],
                              {c: [probes[c].reduction for *_, probes in runs] for c in args.cells},
                              folder / "memory.png", "Long memory: the adding problem")
            written.append("memory.png")
        say(args, f"wrote {', '.join(written)} in {args.out}")
    return out


def _probe_table(probes: dict, what: str) -> str:
    head = (f"{what:<34} {'grad first/last':>15} {'final loss':>11} {'mean-only':>10} "
            f"{'reduction':>9} {'clipped':>8}")
    lines = [head]
    for name, p in probes.items():
        final = "diverged" if p.diverged else f"{p.final_loss:.4g}"
        reduction = "" if p.diverged else f"{max(p.reduction, -9.99):.1%}"  # -999%: far worse
        lines.append(f"{name:<34} {p.gradient_ratio:>15.3g} {final:>11} {p.baseline_loss:>10.4g} "
                     f"{reduction:>9} {p.clipped_fraction:>8.0%}")
    return "\n".join(lines)


