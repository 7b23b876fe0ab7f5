"""The named points of the recipe: what they set, what the user's settings override, and the
budget that gives way on little data."""

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster, presets
from rnncast.errors import SettingError


def monthly(n=96):
    t = np.arange(n)
    values = (100 + 2 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    return pd.Series(values, index=pd.date_range("2012-01-01", periods=n, freq="MS"), name="y")


def test_presets_are_points_of_the_recipe_that_settings_override():
    fast = Forecaster(preset="fast")
    assert fast.ensemble == 1 and fast.train_config.loss == "mae"
    assert fast.series_config.window_rule == ((1.5, 12),) and fast.train_config.epochs == 5
    assert fast.train_config.windows_per_epoch == 50_000  # a cost that does not grow with the panel
    assert fast.series_config.combine == ()  # no classical partner: the network alone
    assert Forecaster(preset="fast", combine="dotm").series_config.combine == ("dotm",)
    assert Forecaster().series_config.combine == "auto"
    assert Forecaster().train_config.windows_per_epoch == 200_000  # the default's, not fast's
    assert Forecaster(preset="fast", windows_per_epoch=9).train_config.windows_per_epoch == 9
    assert Forecaster().model_config.units == 32  # the recipe's width, every point
    assert Forecaster(preset="fast", units=48).model_config.units == 48  # the user's own stands
    accurate = Forecaster(preset="accurate")
    assert accurate.ensemble == 5 and accurate.series_config.window_rule == (
        (1.5, 8), (2.0, 12), (3.0, 16)) and accurate.train_config.epochs == 20
    mine = Forecaster(preset="accurate", ensemble=2, loss="mse")
    assert mine.ensemble == 2 and mine.train_config.loss == "mse" and mine.series_config.refit
    with pytest.raises(SettingError, match="preset must be one of auto, fast, accurate"):
        Forecaster(preset="quick")


@pytest.mark.slow
def test_a_preset_budget_made_for_panels_gives_way_on_little_data():
    model = Forecaster(preset="accurate", units=8, ensemble=2).fit(monthly())
    assert model.plan.windows == (18, 24, 36)  # 1.5, 2 and 3 seasons
    assert model.train_config.epochs == 300 and model.train_config.batch_size is None
    assert any(line.startswith("training budget: the defaults'") for line in model.choices)
    assert max(h.best_epoch for h in model.histories) > presets.PRESETS["accurate"]["epochs"]
    kept = Forecaster(preset="accurate", units=8, ensemble=2, epochs=3).fit(monthly())
    assert kept.train_config.epochs == 3  # what the user set stays


def test_settings_say_which_names_the_preset_supplied():
    chosen, supplied = presets.settings("fast", {"ensemble": 4})
    assert chosen["ensemble"] == 4 and chosen["epochs"] == 5 and chosen["loss"] == "mae"
    assert "ensemble" not in supplied and {"epochs", "patience", "batch_size"} <= supplied
