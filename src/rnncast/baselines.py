"""Simple forecasts a network must beat: naive, seasonal naive, and statsmodels' classics.

Every function takes the training part ``y (T,)`` and returns the next ``horizon`` values.
"""

from __future__ import annotations

import warnings

import numpy as np


def naive(y, horizon: int) -> np.ndarray:
    """Repeat the last value."""
    y = np.asarray(y, dtype=np.float64)
    return np.full(horizon, y[-1])


def seasonal_naive(y, horizon: int, season: int) -> np.ndarray:
    """Repeat the last season (the naive forecast when ``season`` is 1 or the data too short)."""
    y = np.asarray(y, dtype=np.float64)
    if season <= 1 or len(y) < season:
        return naive(y, horizon)
    last = y[-season:]
    return np.resize(last, horizon)  # last season, repeated as often as needed


def sarimax(y, horizon: int, season: int = 1) -> np.ndarray:
    """SARIMAX(1,1,1)(1,1,0)_season (or ARIMA(1,1,1) without a season), on a log when positive."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = np.asarray(y, dtype=np.float64)
    use_log = bool((y > 0).all())
    data = np.log(y) if use_log else y
    seasonal = (1, 1, 0, season) if season > 1 and len(y) >= 3 * season else (0, 0, 0, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = SARIMAX(data, order=(1, 1, 1), seasonal_order=seasonal).fit(disp=False)
        forecast = fit.forecast(horizon)
    return np.exp(forecast) if use_log else forecast


def ets(y, horizon: int, season: int = 1) -> np.ndarray:
    """Exponential smoothing with damped additive trend and a multiplicative season when the
    data are positive (statsmodels' Holt-Winters)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = np.asarray(y, dtype=np.float64)
    seasonal = None
    if season > 1 and len(y) >= 2 * season:
        seasonal = "mul" if (y > 0).all() else "add"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(y, trend="add", damped_trend=True, seasonal=seasonal,
                                     seasonal_periods=season if seasonal else None)
        return model.fit().forecast(horizon)


BASELINES = {"naive": lambda y, h, m: naive(y, h), "seasonal_naive": seasonal_naive}


def naive2(y, horizon: int, season: int) -> np.ndarray:
    """The M3 competition's Naive2: the naive forecast of the seasonally adjusted series (classical
    multiplicative indices, when a 90% autocorrelation test finds a season), reseasonalised."""
    from rnncast.scaling import seasonal_indices

    y = np.asarray(y, dtype=np.float64)
    si = seasonal_indices(y, season)
    n = len(y)
    adjusted = y[-1] / si[(n - 1) % len(si)]
    return adjusted * si[(n + np.arange(horizon)) % len(si)]


def theta(y, horizon: int, season: int) -> np.ndarray:
    """The classical Theta method (Assimakopoulos & Nikolopoulos 2000) via statsmodels'
    ThetaModel: simple exponential smoothing with drift on the deseasonalised series."""
    from statsmodels.tsa.forecasting.theta import ThetaModel

    y = np.asarray(y, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ThetaModel(y, period=max(season, 1), deseasonalize=season > 1 and len(y) >= 2 * season,
                           method="auto")
        return np.asarray(model.fit().forecast(horizon, theta=2))


def varmax(y, horizon: int, order: int = 1) -> np.ndarray:
    """A VAR(order) with a constant on first differences (of logs when all values are positive),
    via statsmodels' VARMAX, integrated back: the deck's classical multivariate alternative."""
    from statsmodels.tsa.statespace.varmax import VARMAX

    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] < 2:
        raise ValueError("VARMAX needs a multivariate series (time, features) with 2+ features")
    use_log = bool((y > 0).all())
    data = np.log(y) if use_log else y
    diffs = np.diff(data, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = VARMAX(diffs, order=(order, 0), trend="c").fit(disp=False, maxiter=200)
        steps = np.asarray(fit.forecast(horizon))
    levels = data[-1] + np.cumsum(steps, axis=0)
    return np.exp(levels) if use_log else levels
