"""The metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from rnncast.metrics import mae, mape, mase, rmse, score, season_ends, smape

TRUTH, FORECAST = [100.0, 200.0, 400.0], [110.0, 180.0, 400.0]  # errors -10, 20, 0


def test_rmse_mae_mape_by_hand():
    assert rmse(TRUTH, FORECAST) == pytest.approx(math.sqrt((100 + 400 + 0) / 3))  # 12.9099
    assert mae(TRUTH, FORECAST) == pytest.approx(10.0)  # (10 + 20 + 0) / 3
    assert mape(TRUTH, FORECAST) == pytest.approx(100 * (0.1 + 0.1 + 0) / 3)  # 6.667
    assert math.isnan(mape([0.0, 1.0], [1.0, 1.0]))  # undefined with a zero in the truth


def test_smape_is_the_m3_definition():
    # 200·|y−ŷ|/(|y|+|ŷ|): 200·10/210, 200·20/380, 0
    expected = (2000 / 210 + 4000 / 380 + 0) / 3  # 6.6826
    assert smape(TRUTH, FORECAST) == pytest.approx(expected)
    assert smape([0.0, 2.0], [0.0, 2.0]) == 0.0  # both zero: counts as no error
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)


def test_mase_scales_by_the_in_sample_seasonal_naive():
    insample = [10.0, 20.0, 30.0, 15.0, 25.0, 35.0]  # season 3: |15−10|, |25−20|, |35−30| → 5
    assert mase(TRUTH, FORECAST, insample, season=3) == pytest.approx(10.0 / 5.0)
    # naive (season 1): mean of 10, 10, 15, 10, 10 = 11
    assert mase(TRUTH, FORECAST, insample, season=1) == pytest.approx(10.0 / 11.0)
    assert math.isnan(mase(TRUTH, FORECAST, [5.0, 5.0, 5.0]))  # a flat history scales nothing


def test_score_is_all_metrics_and_refuses_mismatched_shapes():
    scores = score(TRUTH, FORECAST, [10.0, 20.0, 30.0, 15.0, 25.0, 35.0], season=3)
    assert scores == pytest.approx({"rmse": rmse(TRUTH, FORECAST), "mae": 10.0,
                                    "mape": 100 * 0.2 / 3, "smape": smape(TRUTH, FORECAST),
                                    "mase": 2.0})
    assert all(math.isnan(v) for v in score(TRUTH, [1.0, np.nan, 2.0], TRUTH).values())
    with pytest.raises(ValueError, match="differ in shape"):
        rmse([1.0, 2.0], [1.0])


def test_season_ends_by_hand():
    insample = np.array([10.0, 20, 12, 22, 14, 24])  # in-sample seasonal naive errors: all 2
    y = np.array([16.0, 26, 18, 28])
    yhat = np.array([18.0, 26, 21, 31])  # first season off by 2, 0; last by 3, 3
    ends = season_ends(y, yhat, insample, 2)
    assert ends["first_season_mase"] == pytest.approx(1.0 / 2)
    assert ends["last_season_bias"] == pytest.approx(100 * 3 / 23)
    with pytest.raises(ValueError, match="season of 2 or more"):
        season_ends(y, yhat, insample, 1)
