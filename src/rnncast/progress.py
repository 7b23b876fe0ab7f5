"""What a long command shows while it works, and what its time went to.

- :class:`Progress`: how far training has come and the most time it can still take (the
  epochs that the epoch cap and the window budget still allow; early stopping ends sooner): a
  bar on a terminal, a line at most every :data:`EVERY` seconds in a log file, and a line as
  each stage starts.
- :class:`Stages`: the seconds of each stage of a command; with the start-up before the first
  and the rest after the last they add up to the command's time.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

EVERY = 30.0  # seconds between two progress lines in a log file
_LOADED = time.perf_counter()


def since_start() -> float:
    """Seconds since this process started (the interpreter's start-up and imports included)."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):  # not Linux: since this import
        return time.perf_counter() - _LOADED


def clock(seconds: float) -> str:
    """A duration as a person says it: 8 s, 3 min 05 s, 1 h 20 min."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class Stages:
    """The seconds each stage of a command took, in the order they ran (a stage entered again
    adds up); ``say`` hears a line as each starts."""

    say: Callable[[str], None] | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    startup: float = field(default_factory=since_start)  # before the first stage

    @contextlib.contextmanager
    def __call__(self, name: str, line: str | None = None) -> Iterator[None]:
        if line and self.say is not None:
            self.say(line)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def summary(self) -> dict[str, float]:
        """Seconds per stage, the start-up and the rest (``other``) included, and ``total``, the
        command's time so far, which they add up to."""
        total = since_start()
        out = {"start-up": self.startup, **self.seconds}
        out["other"] = max(0.0, total - sum(out.values()))
        return {name: round(s, 3) for name, s in out.items()} | {"total": round(total, 3)}

    def line(self) -> str:
        """The summary in one line: ``took 95 s: training 80 s, baselines 12 s, …``."""
        parts = self.summary()
        total = parts.pop("total")
        shown = ", ".join(f"{name} {clock(s)}" for name, s in parts.items() if s >= 0.5)
        return f"took {clock(total)}: {shown}"


class Progress:
    """Training's progress over ``fits`` fits (None: not known) of ``members`` networks each,
    fed every epoch (an :class:`rnncast.training.EpochInfo`); with ``runs``, a count of runs
    instead (:meth:`step`). Off (``shown=False``) it says nothing."""

    def __init__(self, label: str, members: int = 1, fits: int | None = 1, shown: bool = True,
                 runs: int | None = None, stream: TextIO | None = None,
                 terminal: bool | None = None) -> None:
        self.label, self.members, self.fits, self.runs = label, members, fits, runs
        self.stream = stream or sys.stderr
        self.shown = shown
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.fit, self.seen, self.most, self.left, self.first = 0, 0, 0, 0, None
        self.last_line = -EVERY
        self.bar = None
        if shown and self.terminal:
            from tqdm import tqdm

            self.bar = tqdm(total=runs or 1, desc=label, leave=False, file=self.stream,
                            dynamic_ncols=True, unit="run" if runs else "epoch",
                            bar_format=None if runs else "{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def expect(self, fits: int | None) -> None:
        """The fits still to come from now on (None: not known)."""
        self.fits, self.fit = fits, -1 if self.seen else 0

    def note(self, text: str) -> None:
        """A line about the stage that starts, with the time since the command started."""
        if not self.shown:
            return
        line = f"[{clock(since_start())}] {text}"
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def step(self) -> None:
        """One run done."""
        if self.bar is not None:
            self.bar.update(1)
        elif self.shown and self.runs:
            self.seen += 1
            self._log(f"{self.label}: run {self.seen} of {self.runs} done")

    def __call__(self, info) -> None:
        now = time.perf_counter()
        if info.member == 0 and info.epoch == 1 and not info.refit and self.seen:
            self.fit += 1  # a new fit (a backtest fold, a tuning trial)
        if self.first is None:
            self.first = now - info.elapsed
        self.seen += 1
        if not info.refit:
            self.most = max(self.most, info.epoch + info.left)  # the most one member takes
        left = info.left + (self.members - info.member - 1) * self.most
        if self.fits is not None:
            left += max(0, self.fits - self.fit - 1) * self.members * self.most
        self.left = left  # the most epochs still to come
        eta = (now - self.first) / self.seen * left
        scores = f"loss {info.loss:.4g}" + ("" if info.val_loss is None
                                            else f", validation {info.val_loss:.4g}")
        ahead = f"at most {clock(eta)} left" + ("" if self.fits is not None else " in this fit")
        if self.bar is not None:
            self.bar.total = self.seen + left
            self.bar.n = self.seen
            self.bar.set_postfix_str(f"net {info.member + 1}/{self.members}, {scores}, {ahead}",
                                     refresh=True)
        elif self.shown and (now - self.last_line >= EVERY or left == 0):
            fit = f"fit {self.fit + 1} of {self.fits}, " if (self.fits or 0) > 1 else ""
            what = "refit on all windows" if info.refit else "epoch"
            self._log(f"{self.label}: {fit}network {info.member + 1} of {self.members}, {what} "
                      f"{info.epoch} of at most {info.limit}: {scores}; {ahead}")

    def _log(self, text: str) -> None:
        self.last_line = time.perf_counter()
        print(f"[{clock(since_start())}] {text}", file=self.stream, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
