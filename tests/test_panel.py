"""Many series: one global model, per-series scaling, long format, short series."""

import logging

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster
from rnncast.data import as_panel, from_long
from rnncast.errors import DataError

FAST = dict(units=8, epochs=20, ensemble=1, patience=5, batch_size=64)


def seasonal(n, level, phase=0):
    t = np.arange(n)
    return level * (1 + 0.01 * t) * (1 + 0.2 * np.sin(2 * np.pi * (t + phase) / 12))


def long_frame(lengths, levels):
    rows = []
    for k, (n, level) in enumerate(zip(lengths, levels, strict=True)):
        dates = pd.date_range("2010-01-01", periods=n, freq="MS")
        rows.append(pd.DataFrame({"unique_id": f"s{k}", "ds": dates, "y": seasonal(n, level, k)}))
    frame = pd.concat(rows, ignore_index=True)
    return frame.sample(frac=1.0, random_state=0)  # rows in any order


def test_long_format_round_trip_and_per_series_scale():
    frame = long_frame([60, 72, 84], [10.0, 1000.0, 1e5])
    panel = from_long(frame, "unique_id", "ds", "y")
    assert panel.ids == ["s0", "s1", "s2"] and panel.series[0].freq == "MS"
    assert [len(s.values) for s in panel.series] == [60, 72, 84]
    assert panel.series[1].index.is_monotonic_increasing  # sorted within each id
    model = Forecaster(season=12, window=24, head=6, **FAST).fit(panel)
    forecast = model.predict(6)
    assert list(forecast.columns) == ["unique_id", "ds", "y"]
    assert forecast.groupby("unique_id").size().tolist() == [6, 6, 6]
    # every series is forecast in its own units, after its own last timestamp
    for k, level in enumerate([10.0, 1000.0, 1e5]):
        part = forecast[forecast.unique_id == f"s{k}"]
        truth = seasonal([60, 72, 84][k] + 6, level, k)[-6:]
        assert np.mean(np.abs(part.y.to_numpy() / truth - 1)) < 0.1
        last = panel.series[k].index[-1]
        assert part.ds.iloc[0] == last + pd.DateOffset(months=1)


def test_batched_forecast_has_no_cross_talk_between_series():
    """Forecasting many series in one batch equals forecasting each on its own: changing one
    series' history changes only its own forecast."""
    series = {f"s{k}": seasonal(50 + 5 * k, 100.0, k) for k in range(4)}
    model = Forecaster(season=12, window=12, head=3, **FAST).fit(series)
    together = model.predict(3)
    changed = dict(series, s2=series["s2"] * 1.5)
    again = model.predict(3, y=changed)
    same = together.id != "s2"
    np.testing.assert_allclose(again.y[same], together.y[same], rtol=1e-6)
    assert not np.allclose(again.y[~same], together.y[~same])


def test_short_series_are_padded_or_skipped_by_id(caplog):
    series = {"long": seasonal(80, 50.0), "tiny": seasonal(10, 50.0)}
    padded = Forecaster(season=12, window=24, head=6, **FAST).fit(series)
    assert padded.predict(6).id.unique().tolist() == ["long", "tiny"]
    with caplog.at_level(logging.WARNING):
        skipped = Forecaster(season=12, window=24, head=6, short="skip", **FAST).fit(series)
    assert "skipped 1 series too short for window + head = 30: tiny" in caplog.text
    assert skipped.predict(6).id.unique().tolist() == ["long"]
    with pytest.raises(DataError, match="series 'tiny' of length 10 is too short for window 24"):
        Forecaster(season=12, window=24, head=6, short="error", **FAST).fit(series)


def test_deseasonalised_global_model_and_window_ensemble():
    series = [seasonal(96, 100.0 * (k + 1), k) for k in range(6)]
    model = Forecaster(season=12, window=(12, 24), head=12, deseasonalize=True, scaler="none",
                       ensemble=2, **{k: v for k, v in FAST.items() if k != "ensemble"}).fit(series)
    assert [net.window for net in model.nets] == [12, 24]
    assert model.transforms.seasonal.shape == (6, 12, 1)
    forecast = model.predict(12)
    truth = np.concatenate([seasonal(108, 100.0 * (k + 1), k)[-12:] for k in range(6)])
    assert np.mean(np.abs(forecast.y.to_numpy() / truth - 1)) < 0.05


def test_long_format_errors_name_the_series():
    frame = long_frame([30, 30], [1.0, 2.0])
    frame = pd.concat([frame, frame.iloc[:1]])
    with pytest.raises(DataError, match=r"series .s[01]. has the time .* twice"):
        from_long(frame, "unique_id", "ds", "y")
    with pytest.raises(DataError, match="no column 'item'"):
        from_long(frame, "item", "ds", "y")
    with pytest.raises(DataError, match="all series need the same number of columns"):
        Forecaster(**FAST).fit([np.ones((40, 1)), np.ones((40, 2))])


def test_fit_takes_the_fields_long_layout_and_predict_returns_it():
    frame = long_frame([48, 48], [100.0, 40.0])  # unique_id, ds, y; rows in any order
    model = Forecaster(**FAST).fit(frame)
    out = model.predict(3)
    assert list(out.columns) == ["unique_id", "ds", "y"]
    assert out["unique_id"].tolist() == ["s0"] * 3 + ["s1"] * 3
    assert [str(d.date()) for d in out["ds"][:3]] == ["2014-01-01", "2014-02-01", "2014-03-01"]
    means = out.groupby("unique_id")["y"].mean()
    assert means["s0"] > 2 * means["s1"]


def test_the_api_chooses_threads_by_batch_size_and_restores_torch_s_setting():
    import os

    import torch

    from rnncast import cores as core_count

    seen = []
    y = np.sin(np.arange(80) / 3)
    record = lambda info: seen.append(torch.get_num_threads())  # noqa: E731
    cores = len(os.sched_getaffinity(0))
    torch.set_num_threads(2)
    try:
        Forecaster(**{**FAST, "epochs": 2}).fit(y, callback=record)  # small batches: one thread
        assert seen and set(seen) == {1} and torch.get_num_threads() == 2
        seen.clear()
        Forecaster(**{**FAST, "epochs": 2}, threads=2).fit(y, callback=record)  # as given
        assert set(seen) == {2}
        seen.clear()
        Forecaster(**{**FAST, "epochs": 2, "batch_size": 128}).fit(y, callback=record)
        assert set(seen) == {core_count.cores()} == {cores}  # large batches: every core
    finally:
        torch.set_num_threads(1)


@pytest.mark.parametrize("freq, season", [
    ("30min", 48), ("15min", 96), ("2h", 12), ("h", 24), ("5min", 12), ("min", 60), ("s", 60),
    ("D", 7), ("B", 5), ("W-SUN", 52), ("2W", 26), ("MS", 12), ("3MS", 4), ("ME", 12),
    ("QS-JAN", 4), ("YS-JAN", 1), ("2D", 1), ("7h", 1), (None, 1), ("nonsense", 1)])
def test_the_season_follows_the_frequency_with_its_multiple(freq, season):
    """A multiplied frequency used to lose its multiple: 30min and 15min gave 60, 2h gave 24."""
    from rnncast.panel import season_from_freq

    assert season_from_freq(freq) == season


@pytest.mark.parametrize("freq, start, phase", [
    ("30min", "2021-03-01 05:30", 11), ("h", "2021-03-01 05:00", 5), ("D", "2021-03-03", 2),
    ("B", "2021-03-03", 2), ("MS", "2021-03-01", 2), ("QS", "2021-07-01", 2),
    ("W-SUN", "2021-03-07", 8)])
def test_each_series_phase_in_its_season_comes_from_its_first_stamp(freq, start, phase):
    y = pd.Series(np.arange(30.0), index=pd.date_range(start, periods=30, freq=freq))
    panel = as_panel(y)
    assert panel.clock.phase(panel.season).tolist() == [phase]


@pytest.mark.parametrize("freq, second", [("30min", 336), ("h", 168), ("15min", 672), ("D", 365),
                                          ("MS", 1), ("W", 1), ("5min", 1), ("2D", 1), (None, 1)])
def test_sub_daily_data_also_follow_the_week_and_daily_data_the_year(freq, second):
    from rnncast.panel import second_season_from_freq

    assert second_season_from_freq(freq) == second
