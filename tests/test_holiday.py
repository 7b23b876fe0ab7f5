"""Public holidays as a future covariate built from the stamps (``--holidays DE``): the flags
against the calendar, the checks, and a forecast that needs no file for them."""

import numpy as np
import pandas as pd
import pytest
from test_covariates import LONG, promoted, split

from rnncast import Forecaster
from rnncast.cli import main
from rnncast.data import as_panel
from rnncast.errors import DataError, SettingError
from rnncast.holiday import HOLIDAY, flags, with_holidays
from rnncast.settings import SeriesConfig


def test_flags_mark_the_holidays_of_the_day_or_count_those_of_the_period():
    days = pd.date_range("2020-12-23", periods=5, freq="D")  # Germany: 25 and 26 December
    assert flags(days, "D", "DE").tolist() == [0, 0, 1, 1, 0]
    hours = pd.date_range("2020-12-24 22:00", periods=4, freq="h")
    assert flags(hours, "h", "DE").tolist() == [0, 0, 1, 1]
    months = pd.date_range("2021-01-31", periods=2, freq="ME")  # US: New Year, MLK; Presidents
    assert flags(months, "ME", "US").tolist() == [2, 1]
    starts = pd.date_range("2021-01-01", periods=2, freq="MS")
    assert flags(starts, "MS", "US").tolist() == [2, 1]
    weeks = pd.date_range("2020-12-27", periods=2, freq="W")  # weeks ending on Sunday
    assert flags(weeks, "W", "DE").tolist() == [2, 1]
    # a region's own holidays: Melbourne Cup day (first Tuesday of November) in Victoria only
    cup = pd.DatetimeIndex(["2021-11-02"])
    assert flags(cup, "D", "AU-VIC").tolist() == [1] and flags(cup, "D", "AU").tolist() == [0]


def test_unknown_countries_regions_and_clashing_columns_are_one_line_errors():
    with pytest.raises(SettingError, match="unknown country 'XX'"):
        SeriesConfig(holidays="XX")
    with pytest.raises(SettingError, match="AU has no subdivision 'ZZ'"):
        SeriesConfig(holidays="au-zz")
    assert SeriesConfig(holidays="au-vic").holidays == "AU-VIC"
    with pytest.raises(SettingError, match="builds the column 'holiday'"):
        SeriesConfig(holidays="DE", future=("holiday",))
    with pytest.raises(SettingError, match="not 'stateful'"):
        SeriesConfig(holidays="DE", strategy="stateful")
    positions = as_panel(np.arange(30.0))
    with pytest.raises(DataError, match="needs dates"):
        with_holidays(positions, "DE")


def daily(years: int = 3) -> pd.Series:
    """A week's pattern and a deep dip on every German public holiday."""
    index = pd.date_range("2018-01-01", periods=365 * years, freq="D")
    rng = np.random.default_rng(0)
    week = np.array([0, 0, 0, 0, 5, -20, -25])[index.dayofweek]
    dips = 60 * flags(index, "D", "DE")
    return pd.Series(200 + week - dips + rng.normal(0, 2, len(index)), index=index)


def test_the_holiday_column_is_the_last_future_one_and_the_user_gives_none():
    panel = with_holidays(as_panel(daily(1)), "DE")
    assert panel.columns == ["y", HOLIDAY] and panel.values[:, 1].sum() == 9  # Germany, 2018
    model = Forecaster(holidays="DE", ensemble=1, epochs=2, units=8, seed=0)
    plan = model.resolve(daily(1))
    assert plan.future == (HOLIDAY,) and plan.given_future == () and plan.holidays == "DE"
    assert plan.as_settings().future == () and plan.as_settings().holidays == "DE"
    assert any(line.startswith("future column 'holiday': the public holidays of DE")
               for line in plan.reasons)


@pytest.mark.slow
def test_holidays_cut_the_error_on_holidays_and_survive_saving(tmp_path):
    y = daily()
    train, test = y[:-28], y[-28:]  # from 4 December: Christmas and Boxing Day among them
    on_holidays = flags(test.index, "D", "DE") > 0
    errors = {}
    for country in (None, "DE"):
        model = Forecaster(holidays=country, ensemble=1, seed=0, units=16, combine="none")
        forecast = model.fit(train).predict(28)
        errors[country] = float((forecast - test).abs()[on_holidays].mean())
    assert errors["DE"] < 0.3 * errors[None], errors
    model.save(tmp_path / "model")
    again = Forecaster.load(tmp_path / "model").predict(28)
    np.testing.assert_array_equal(again.to_numpy(), forecast.to_numpy())


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_holidays_from_the_command_line_need_no_future_file(capsys, tmp_path):
    daily(1).rename_axis("day").rename("load").to_csv(tmp_path / "load.csv")
    model, out = tmp_path / "model", tmp_path / "forecast.csv"
    common = ["--time-col", "day", "--target", "load", "--epochs", "2", "--ensemble", "1",
              "--units", "8", "--quiet"]
    code, _, err = run(capsys, "fit", tmp_path / "load.csv", *common, "--holidays", "XX",
                       "--out", model)
    assert code != 0 and len(err.strip().splitlines()) == 1 and "unknown country 'XX'" in err
    assert not model.exists()
    assert run(capsys, "fit", tmp_path / "load.csv", *common, "--holidays", "DE",
               "--out", model)[0] == 0
    code, _, err = run(capsys, "forecast", model, "--horizon", "14", "--out", out)
    assert code == 0, err
    written = pd.read_csv(out)
    assert list(written.columns) == ["day", "load"] and len(written) == 14
    assert np.isfinite(written["load"]).all()
    code, _, err = run(capsys, "forecast", model, "--horizon", "14", "--future",
                       tmp_path / "load.csv", "--out", tmp_path / "other.csv")
    assert code == 1 and "reads no future covariates" in err


@pytest.mark.slow
def test_evaluate_with_holidays_scores_the_network_that_reads_them(capsys, tmp_path):
    daily(2).rename_axis("day").rename("load").to_csv(tmp_path / "load.csv")
    code, out, err = run(capsys, "evaluate", tmp_path / "load.csv", "--time-col", "day",
                         "--target", "load", "--test", "28", "--holidays", "DE", "--epochs", "3",
                         "--ensemble", "1", "--units", "8", "--json", "--quiet")
    assert code == 0, err
    import json

    result = json.loads(out)
    assert result["settings"]["plan"]["future"] == [HOLIDAY]
    assert "arima_x" in result["baselines"]  # ARIMA with the holidays beside the network
    assert not any("recorded values" in note for note in result["baseline_notes"])  # built, not read


def test_holidays_beside_given_future_columns_take_only_those_from_the_user():
    train, test = split(promoted(120), 7)
    model = Forecaster(future=["promo"], holidays="DE", ensemble=1, epochs=2, units=8,
                       combine="none", seed=0).fit(train, **LONG)
    assert model.plan.future == ("promo", HOLIDAY) and model.plan.given_future == ("promo",)
    forecast = model.predict(7, future=test[["store", "ds", "promo"]])  # no holiday column given
    assert len(forecast) == 14 and np.isfinite(forecast["sales"]).all()
    with pytest.raises(DataError, match="future covariate 'promo'"):
        model.predict(7)
