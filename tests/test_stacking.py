"""Several targets read as a panel of their columns: the stacked series, their forecasts put
back side by side, and the models that learn them."""

import numpy as np
import pandas as pd
import pytest

from rnncast import Forecaster, stacking
from rnncast.data import as_panel
from rnncast.errors import SettingError

TINY = dict(units=8, epochs=3, ensemble=1, combine="none")


def wide(n=60, start="2010-01-01"):
    t = np.arange(n)
    season = 1 + 0.2 * np.sin(2 * np.pi * t / 4)
    return pd.DataFrame({"a": (100 + t) * season, "b": 5000 + 30 * t * season},
                        index=pd.date_range(start, periods=n, freq="QS"))


def two_series():
    one, two = wide(12), wide(8, "2012-01-01") * 2
    return pd.concat([one.assign(id="x"), two.assign(id="y")]).rename_axis("ds").reset_index()


def test_each_target_of_each_series_becomes_a_series_and_comes_back():
    panel = as_panel(two_series(), long=("id", "ds", ["a", "b"]))
    stacked = stacking.stack(panel, 2, "auto", inputs=False)
    assert stacked.ids == ["x/a", "x/b", "y/a", "y/b"] and stacked.columns == [stacking.VALUE]
    assert stacked.lengths.tolist() == [12, 12, 8, 8] and stacked.stacked == ("a", "b")
    np.testing.assert_array_equal(stacked.rows(1)[:, 0], panel.rows(0)[:, 1])  # x's b
    np.testing.assert_array_equal(stacked.rows(2)[:, 0], panel.rows(1)[:, 0])  # y's a
    assert stacked.clock.first[2] == pd.Timestamp("2012-01-01")
    back = stacking.unstacked(stacked)
    assert back.ids == ["x", "y"] and back.columns == ["a", "b"] and back.stacked == ()
    np.testing.assert_array_equal(back.values, panel.values)
    np.testing.assert_array_equal(back.lengths, panel.lengths)


def test_one_series_stacks_by_its_target_names_and_stays_one_series():
    panel = as_panel(wide(20))
    stacked = stacking.stack(panel, 2, "columns", inputs=False)
    assert stacked.ids == ["a", "b"] and not stacked.single
    assert stacking.unstacked(stacked).single


def test_forecasts_of_the_stacked_series_go_back_to_their_columns():
    panel = stacking.stack(as_panel(two_series(), long=("id", "ds", ["a", "b"])), 2, "auto",
                           inputs=False)
    values = np.arange(4 * 3 * 2, dtype=float).reshape(4, 3, 2)  # (series·target, steps, C)
    out, back, names = stacking.unstack(values, panel, ["value", "q-90"], ("a", "b"))
    assert names == ["a", "b", "a-q-90", "b-q-90"] and back.ids == ["x", "y"]
    np.testing.assert_array_equal(out[1, :, 1], values[3, :, 0])  # y's b
    np.testing.assert_array_equal(out[0, :, 2], values[0, :, 1])  # x's a, second column


def test_joint_covariates_and_one_target_are_not_stacked():
    panel = as_panel(wide(20))
    assert stacking.stack(panel, 2, "joint", inputs=False) is panel
    assert stacking.stack(panel, 1, "columns", inputs=False) is panel
    assert stacking.stack(panel, 2, "auto", inputs=True) is panel
    with pytest.raises(SettingError, match="multivariate='joint'"):
        stacking.stack(panel, 2, "columns", inputs=True)
    with pytest.raises(SettingError, match="multivariate must be"):
        Forecaster(multivariate="together")


def test_a_multivariate_model_learns_its_columns_as_a_panel_and_forecasts_them_wide(tmp_path):
    data = wide()
    model = Forecaster(**TINY).fit(data)
    assert model.plan.stacked == ("a", "b") and model.n_targets == 1  # one network, one output
    assert model.choices[0].startswith("multivariate columns: the targets a, b")
    forecast = model.predict(6)
    assert list(forecast.columns) == ["a", "b"] and len(forecast) == 6
    assert forecast.index[0] == data.index[-1] + pd.offsets.QuarterBegin(startingMonth=1)
    alone = Forecaster(**TINY).fit(data[["b"]]).predict(6)  # b's scale is its own
    assert abs(forecast["b"].mean() / alone.mean() - 1) < 0.2
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.predict(6), forecast)
    pd.testing.assert_frame_equal(loaded.predict(6, y=data), forecast)
    joint = Forecaster(**TINY, multivariate="joint").fit(data)
    assert joint.plan.stacked == () and joint.n_targets == 2
    assert list(joint.predict(6).columns) == ["a", "b"]


def test_cross_validation_of_stacked_targets_keeps_the_users_ids_and_columns():
    frame = two_series()
    folds = Forecaster(**TINY).cross_validation(frame, h=2, n_windows=2, id_col="id",
                                                time_col="ds", target_col=["a", "b"])
    assert list(folds.columns) == ["id", "ds", "cutoff", "rnncast-a", "rnncast-b", "a", "b"]
    assert sorted(set(folds["id"])) == ["x", "y"] and len(folds) == 2 * 2 * 2
    last = folds[(folds["id"] == "y")].iloc[-1]
    assert last["b"] == frame[frame["id"] == "y"]["b"].iloc[-1]  # the truth, unstacked
