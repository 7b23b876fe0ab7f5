"""The plan: what the data decide under the user's settings, resolved once, typed, stored."""

import json

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster, classical, partners
from rnncast.cli import main
from rnncast.data import as_panel
from rnncast.errors import DataError
from rnncast.plan import Plan, resolve
from rnncast.rules import NO_SEASON_WINDOW, head_for
from rnncast.settings import SeriesConfig


def monthly(n=96, phase=0.0):
    t = np.arange(n)
    return 100 + t + 10 * np.sin(2 * np.pi * t / 12 + phase)


def test_the_head_is_one_season_or_a_shorter_test_range_or_the_test_range_with_covariates():
    assert head_for(12, None, ()) == 12 and head_for(1, None, ()) == 1
    assert head_for(12, 24, ()) == 12  # longer test ranges go block by block
    assert head_for(12, 6, ()) == 6  # a shorter one needs no longer head
    assert head_for(12, 24, ("x",)) == 24  # covariates are known only up to the origin
    panel = as_panel(pd.Series(monthly(), index=pd.date_range("2000-01-01", periods=96, freq="MS")))
    assert resolve(panel, SeriesConfig(), test=6).head == 6
    assert resolve(panel, SeriesConfig(head=3), test=6).head == 3  # the user's wins


def test_every_automatic_choice_is_concrete_and_has_its_reason():
    panel = as_panel(pd.Series(monthly(), index=pd.date_range("2000-01-01", periods=96, freq="MS")))
    p = resolve(panel, SeriesConfig())
    assert (p.windows, p.head, p.season, p.log, p.scaler) == ((36,), 12, 12, True, "none")
    assert p.deseasonalize is True and p.validation == 12 and p.short == "error"
    assert p.season_strength is not None and p.season_strength > 0.5
    assert [r.split(":")[0] for r in p.reasons] == [
        "window 36", "log on", "deseasonalize on", "scaler none", "combine dotm"]


def test_members_of_a_long_history_are_not_refitted_unless_asked():
    index = lambda n: pd.date_range("1950-01-01", periods=n, freq="MS")  # noqa: E731
    short = resolve(as_panel(pd.Series(monthly(300), index=index(300))), SeriesConfig())
    assert short.refit is None and short.validation == 30  # 25 seasons: the refit stays
    long = as_panel(pd.Series(monthly(301), index=index(301)))
    p = resolve(long, SeriesConfig())
    assert p.refit is False and p.validation == 30
    assert p.reasons[-1].startswith("refit off: the median series holds 301 points, over 25 seas")
    hourly = as_panel(pd.Series(monthly(24 * 30), index=pd.date_range("2020", periods=720, freq="h")))
    assert resolve(hourly, SeriesConfig(season=24)).refit is None  # long seasons keep it (EPF)
    assert resolve(long, SeriesConfig(refit=True)).refit is True  # the user's wins


def test_members_of_series_without_a_season_are_not_refitted_unless_asked():
    yearly = as_panel(pd.Series(monthly(20), index=pd.date_range("1990", periods=20, freq="YS")))
    p = resolve(yearly, SeriesConfig())
    assert p.season == 1 and p.refit is False
    assert p.reasons[-1].startswith("refit off: no season")
    assert resolve(yearly, SeriesConfig(refit=True)).refit is True
    seasonal = as_panel(pd.Series(monthly(96), index=pd.date_range("2000", periods=96, freq="MS")))
    assert resolve(seasonal, SeriesConfig()).refit is None  # short seasonal data keep it


def test_series_without_a_season_are_scaled_by_their_mean_step_unless_told():
    yearly = as_panel(pd.Series(monthly(20), index=pd.date_range("1990", periods=20, freq="YS")))
    p = resolve(yearly, SeriesConfig())
    assert (p.season, p.log, p.scaler) == (1, True, "step")
    assert p.reasons[0] == "window 12: at least 12 (no season)"
    assert any(r.startswith("scaler step: each series' mean step") for r in p.reasons)
    assert resolve(yearly, SeriesConfig(scaler="none")).scaler == "none"  # the user's wins
    assert resolve(yearly, SeriesConfig(log=False)).scaler == "standard"  # no log: as before
    seasonal = as_panel(pd.Series(monthly(96), index=pd.date_range("2000", periods=96, freq="MS")))
    assert resolve(seasonal, SeriesConfig()).scaler == "none"  # M3 quarterly lost with it


def test_a_panel_without_a_season_reads_sixteen_points_unless_told():
    panel = as_panel({"a": monthly(30), "b": monthly(30, phase=1.0)})  # no dates: no season
    p = resolve(panel, SeriesConfig())
    assert p.season == 1 and p.windows == (NO_SEASON_WINDOW,) == (16,)
    assert p.reasons[0].startswith("window 16: no season")
    assert resolve(panel, SeriesConfig(window=12)).windows == (12,)  # the user's wins
    assert resolve(panel, SeriesConfig(window_rule=((1.5, 12),))).windows == (12,)  # a preset's


def test_a_single_series_too_short_to_hold_out_validation_trains_without():
    p = resolve(as_panel(np.arange(1.0, 41.0)), SeriesConfig(window=30, head=5))
    assert p.validation == 0
    assert p.reasons[-1].startswith("validation off: the series is too short to hold out 5 points")


def test_a_plan_survives_its_json_and_old_models_read_as_plans():
    p = resolve(as_panel([monthly(), monthly(phase=1.0)]), SeriesConfig(window=(12, 24)))
    again = Plan.from_dict(json.loads(json.dumps(p.to_dict())))
    assert again == p and again.reasons == p.reasons and again.windows == (12, 24)
    old = Plan.from_series_config({"window": 36, "horizon": 12, "season": 12, "strategy": "direct",
                                   "scaler": "standard", "log": True, "level": True,
                                   "validation": 0, "refit": True})
    assert (old.windows, old.head, old.deseasonalize, old.combine, old.zero_tail) == (
        (36,), 12, False, (), False)
    assert resolve(as_panel(monthly()), p.as_settings()) == p  # nothing left to decide


def test_pairs_count_what_sequence_training_needs_so_a_short_series_is_named_not_diverged(
        capsys, tmp_path):
    """A stateful fit of window 12 and head 12 needs 24 points a pair: 20 are too few, one line
    (it used to count pairs with a one-step head, train on an empty batch and report a diverged
    training)."""
    path = tmp_path / "short.csv"
    pd.DataFrame({"y": monthly(20)}).to_csv(path, index=False)
    code = main(["fit", str(path), "--target", "y", "--strategy", "stateful", "--window", "12",
                 "--head", "12", "--out", str(tmp_path / "m"), "--epochs", "2"])
    err = capsys.readouterr().err
    assert code == 1 and "diverged" not in err
    assert "series of length 20 is too short for window 12 + head 12" in err
    assert not (tmp_path / "m").exists()
    with pytest.raises(DataError, match="too short for window 12 \\+ head 12"):
        Forecaster(strategy="stateful", window=12, head=12, short="error").fit(monthly(20))


@pytest.fixture
def counted(monkeypatch):
    """How many times a command checks the classical methods and fits STL decompositions."""
    calls = {"checks": 0, "stl": 0}
    check, strength = partners.classical_check, classical.seasonal_strength

    def counting_check(*args, **kwargs):
        calls["checks"] += 1
        return check(*args, **kwargs)

    def counting_strength(*args, **kwargs):
        calls["stl"] += 1
        return strength(*args, **kwargs)

    monkeypatch.setattr(partners, "classical_check", counting_check)
    monkeypatch.setattr(classical, "seasonal_strength", counting_strength)
    return calls


@pytest.mark.slow
def test_each_command_resolves_the_recipe_once_on_a_panel_of_200_series(counted, tmp_path, capsys):
    dates = pd.date_range("2010-01-01", periods=48, freq="MS")
    frame = pd.concat([pd.DataFrame({"id": f"s{k}", "month": dates, "y": monthly(48, k / 9)})
                       for k in range(200)])
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    common = ["--target", "y", "--time-col", "month", "--id-col", "id", "--epochs", "1",
              "--ensemble", "1", "--units", "4", "--quiet"]
    for argv in (["fit", str(path), *common, "--out", str(tmp_path / "m"), "--intervals"],
                 ["evaluate", str(path), *common, "--test", "6", "--baselines", "naive"]):
        counted.update(checks=0, stl=0)
        assert main(argv) == 0, capsys.readouterr().err
        assert counted == {"checks": 1, "stl": 100}, argv[0]  # one sample of 100 series, once


def test_half_hourly_data_have_two_seasons_unless_the_user_names_one():
    y = pd.Series(np.exp(np.sin(np.arange(3_000) * np.pi / 24)),
                  index=pd.date_range("2021-03-01", periods=3_000, freq="30min"))
    chosen = resolve(as_panel(y), SeriesConfig())
    assert (chosen.season, chosen.seasons) == (48, (48, 336))
    assert any(line.startswith("seasons 48 and 336: the day and the week") for line in chosen.reasons)
    assert resolve(as_panel(y), SeriesConfig(season=24)).seasons == (24,)
    old = chosen.to_dict()
    del old["second_season"]  # a model saved before the second season reads as one season
    assert Plan.from_dict(old).seasons == (48,)


def test_sub_daily_data_of_eight_weeks_or_more_train_a_week_at_once():
    def plan_of(weeks: int, **settings) -> Plan:
        n = weeks * 336
        y = pd.Series(np.exp(np.sin(np.arange(n) * np.pi / 24)),
                      index=pd.date_range("2021-03-01", periods=n, freq="30min"))
        return resolve(as_panel(y), SeriesConfig(**settings))

    assert plan_of(8).head == 336 and "head 336: a week of 30-minute data" in "\n".join(plan_of(8).reasons)
    assert plan_of(7).head == 48  # too few weeks: a day
    assert plan_of(8, head=96).head == 96
    assert resolve(as_panel(pd.Series(np.arange(4_000.0), index=pd.date_range(
        "2021-03-01", periods=4_000, freq="D"))), SeriesConfig()).head == 7  # daily: the week
