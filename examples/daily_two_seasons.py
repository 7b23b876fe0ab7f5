"""A daily series with two seasons, a week and a year, written as a CSV to try the recipe on:

    python examples/daily_two_seasons.py visits.csv
    rnncast evaluate visits.csv --time-col day --target visits --test 28 --calendar --out eval

Visits to a park: busier at weekends, busier in summer, slowly growing, with noise.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd


def visits(years: int = 4, seed: int = 0) -> pd.DataFrame:
    days = pd.date_range("2021-01-01", periods=round(365.25 * years), freq="D")
    rng = np.random.default_rng(seed)
    week = np.array([-12, -15, -14, -10, 0, 22, 29])[days.dayofweek]  # Monday … Sunday
    year = 35 * np.sin(2 * np.pi * (days.dayofyear - 110) / 365.25)  # peak in late July
    trend = 100 + 0.01 * np.arange(len(days))
    noise = rng.normal(0, 4, len(days))
    return pd.DataFrame({"day": days, "visits": np.round(trend + week + year + noise, 1)})


if __name__ == "__main__":
    visits().to_csv(sys.argv[1] if len(sys.argv) > 1 else "visits.csv", index=False)
