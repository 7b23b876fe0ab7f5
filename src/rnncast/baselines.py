"""Simple forecasts a network must beat: naive, seasonal naive, Naive2, the classical models of
statsforecast (ETS, the Theta family, CES, ARIMA) and, where it has none as good, statsmodels'
(the classical Theta, SARIMAX, VARMAX); and how they run over many series within a time budget.

Every forecast function takes the training part ``y (T,)`` and returns the next ``horizon``
values.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import warnings

import numpy as np

from rnncast.cores import cores, one_blas_thread
from rnncast.panel import Panel

log = logging.getLogger(__name__)


def naive(y, horizon: int, season: int = 1) -> np.ndarray:
    """Repeat the last value (``season`` is not used: the signature of the others)."""
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
        # low_memory: the same fit without every step's state matrices (2.4 GB → 0.4 GB on
        # 2,000 half-hourly points with a season of 48)
        fit = SARIMAX(data, order=(1, 1, 1), seasonal_order=seasonal).fit(disp=False,
                                                                          low_memory=True)
        forecast = fit.forecast(horizon)
    return np.exp(forecast) if use_log else forecast


def _statsforecast(name: str, y, horizon: int, season: int, **options) -> np.ndarray:
    """statsforecast's model ``name`` fitted to ``y``: its mean forecast. The season is used
    where the series holds two full cycles of it (statsforecast's models need them)."""
    import statsforecast.models as models

    y = np.asarray(y, dtype=np.float64)
    season = season if season > 1 and len(y) >= 2 * season else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = getattr(models, name)(season_length=season, **options)
        return np.asarray(model.forecast(y=y, h=horizon)["mean"], dtype=np.float64)


def ets(y, horizon: int, season: int = 1) -> np.ndarray:
    """Exponential smoothing, its form (additive or multiplicative error, no, additive or damped
    trend, no, additive or multiplicative season) chosen by AICc: statsforecast's AutoETS
    (Hyndman & Khandakar's automatic ETS). On M3 it matched or beat statsmodels' ETS with the
    form chosen the same way at 1/16 to 1/30 of the CPU (docs/experiments.md)."""
    return _statsforecast("AutoETS", y, horizon, season)


def auto_theta(y, horizon: int, season: int = 1) -> np.ndarray:
    """The Theta family (standard, optimised, dynamic, dynamic optimised; Fiorucci et al. 2016),
    the best by in-sample error: statsforecast's AutoTheta."""
    return _statsforecast("AutoTheta", y, horizon, season)


def dotm(y, horizon: int, season: int = 1) -> np.ndarray:
    """The dynamic optimised Theta method (Fiorucci et al. 2016): Theta with its theta and
    smoothing chosen by likelihood, on the seasonally adjusted series; statsforecast's
    DynamicOptimizedTheta. On M3's development ends more accurate than the classical Theta at
    every frequency, at a tenth of its cost: the recipe's default partner."""
    return _statsforecast("DynamicOptimizedTheta", y, horizon, season)


def auto_ces(y, horizon: int, season: int = 1) -> np.ndarray:
    """Complex exponential smoothing, its form chosen by AICc (Svetunkov & Kourentzes):
    statsforecast's AutoCES."""
    return _statsforecast("AutoCES", y, horizon, season)


def auto_arima(y, horizon: int, season: int = 1) -> np.ndarray:
    """ARIMA with its orders chosen by Hyndman & Khandakar's stepwise search: statsforecast's
    AutoARIMA (about a second a series: not a default)."""
    return _statsforecast("AutoARIMA", y, horizon, season)


def arima_x(rows, horizon: int, season: int = 1) -> np.ndarray:
    """ARIMA with regressors (statsforecast's AutoARIMA with ``X``): ``rows (T + horizon,
    1 + K)`` hold the target (unused over the forecast) and K future covariates known over the
    forecast too, the usual partner of a model that reads them; a regressor constant over the
    training part is left out (it would make the regression singular)."""
    import statsforecast.models as models

    rows = np.asarray(rows, dtype=np.float64)
    y, x = rows[:-horizon, 0], rows[:, 1:]
    x = x[:, x[:-horizon].std(axis=0) > 0]
    season = season if season > 1 and len(y) >= 2 * season else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = models.AutoARIMA(season_length=season)
        given = dict(X=x[:-horizon], X_future=x[-horizon:]) if x.shape[1] else {}
        return np.asarray(model.forecast(y=y, h=horizon, **given)["mean"], dtype=np.float64)


RIDGE_LAGS = 3  # seasons of the target a ridge forecast reads back from its origin
RIDGE_ORIGINS = 200  # fewest origins a season apart for one model per step at the origin's phase
RIDGE_MOST = 1_000  # most origins: a ridge forecast reads the last ridge_span(...) points only


def ridge_span(season: int, week: int = 0) -> int:
    """How many of a series' last points :func:`ridge_x` reads (a saved model keeps them)."""
    return RIDGE_LAGS * max(season, 4) + week + RIDGE_MOST * season


def ridge_x(rows, horizon: int, season: int | tuple[int, ...] = 1) -> np.ndarray:
    """A linear forecast with the future covariates, after the LEAR model of day-ahead prices
    (Lago et al. 2021): one ridge regression per step (penalty by generalised cross-validation,
    scikit-learn's RidgeCV) on the last :data:`RIDGE_LAGS` seasons of the target, the same steps a
    week before (with a second season), and the future columns over the forecast, the season
    before it and the week before it; asinh of median/MAD-standardised values, as LEAR reads
    prices. ``rows (T + horizon, 1 + K)`` as for :func:`arima_x`. Trained on the origins a
    season apart at the forecast origin's phase (every origin, with the phase as dummies, where
    the series hold fewer than :data:`RIDGE_ORIGINS` such)."""
    from sklearn.linear_model import RidgeCV

    rows = np.asarray(rows, dtype=np.float64)
    seasons = season if isinstance(season, tuple) else (season,)
    m = max(seasons[0] if seasons else 1, 1)
    week = seasons[1] if len(seasons) > 1 and seasons[1] >= horizon else 0
    rows = rows[-(ridge_span(m, week) + horizon):]
    T = len(rows) - horizon
    z = _robust_asinh(rows, T)  # (T + horizon, 1 + K)
    y, x = z[:, 0], z[:, 1:]
    lags = RIDGE_LAGS * max(m, 4)
    first = lags - 1 + week  # the first origin with every input
    stride = m if (T - 1 - first) // m >= RIDGE_ORIGINS else 1
    origins = np.arange(T - 1, first - 1, -stride)[::-1]
    if len(origins) < 3:
        raise ValueError(f"ridge_x needs {first + 3} points or more, got {T}")

    def inputs(e: int) -> np.ndarray:
        ahead = slice(e + 1, e + 1 + horizon)
        before = slice(e + 1 - week, e + 1 + horizon - week)
        parts = [y[e - lags + 1 : e + 1], x[ahead].ravel(), x[e - m + 1 : e + 1].ravel()]
        if week:
            parts += [y[before], x[before].ravel()]
            parts.append(np.arange(week // m) == ((e + 1) % week) // m)  # the day of the week
        if stride == 1 and m > 1:
            parts.append(np.arange(m) == (e + 1) % m)
        return np.concatenate(parts)

    fitted = origins[origins + horizon < T]
    X = np.stack([inputs(e) for e in fitted])
    Y = np.stack([y[e + 1 : e + 1 + horizon] for e in fitted])
    model = RidgeCV(alphas=np.logspace(-2, 4, 25)).fit(X, Y)
    out = model.predict(inputs(T - 1)[None])[0]
    median, scale = _centre(rows[:T, 0])
    return np.sinh(out) * scale + median


def _centre(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The median and the MAD (as a standard deviation; 1 where it is 0) of ``a`` by column."""
    median = np.median(a, axis=0)
    mad = np.median(np.abs(a - median), axis=0) / 0.6745
    return median, np.where(mad > 0, mad, 1.0)


def _robust_asinh(rows: np.ndarray, T: int) -> np.ndarray:
    """asinh of ``rows`` standardised by the median and MAD of their first ``T`` rows."""
    median, scale = _centre(rows[:T])
    return np.arcsinh((rows - median) / scale)


def mstl(y, horizon: int, seasons: tuple[int, ...]) -> np.ndarray:
    """Several seasons at once: STL's seasonal parts for each of ``seasons`` that the series
    holds twice, ETS without a season on the rest (statsforecast's MSTL), on logs when every
    value is positive; ETS alone when no season fits."""
    import statsforecast.models as models

    y = np.asarray(y, dtype=np.float64)
    use_log = bool((y > 0).all())
    data = np.log(y) if use_log else y
    fits = [m for m in np.atleast_1d(seasons).tolist() if m > 1 and 2 * m <= len(y)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = (models.MSTL(season_length=fits, trend_forecaster=models.AutoETS(model="ZZN"))
                 if fits else models.AutoETS(model="ZZN"))
        forecast = np.asarray(model.forecast(y=data, h=horizon)["mean"], dtype=np.float64)
    return np.exp(forecast) if use_log else forecast


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
        fit = VARMAX(diffs, order=(order, 0), trend="c").fit(disp=False, maxiter=200,
                                                             low_memory=True)
        steps = np.asarray(fit.forecast(horizon))
    levels = data[-1] + np.cumsum(steps, axis=0)
    return np.exp(levels) if use_log else levels


# -- running them over many series, within a time budget ---------------------------------------
# name -> forecast(train (T,), horizon, season) for one column
UNIVARIATE = {"naive": naive, "seasonal_naive": seasonal_naive, "naive2": naive2, "theta": theta,
              "ets": ets, "sarimax": sarimax, "auto_theta": auto_theta, "dotm": dotm,
              "auto_ces": auto_ces, "auto_arima": auto_arima, "mstl": mstl}
CHEAP = ("naive", "seasonal_naive", "naive2")  # no model fitted: always run, never skipped
SEASONS = ("mstl", "ridge_x")  # given every season of the plan, not the first alone
# given the target and the future covariates, over the forecast too
WITH_KNOWN = {"arima_x": arima_x, "ridge_x": ridge_x}
KNOWN = tuple(WITH_KNOWN)
WHOLE = (*CHEAP, "ridge_x")  # fitted to the whole series (a model per step needs origins)
NAMES = (*UNIVARIATE, "varmax", *KNOWN)
SEASONAL = ("seasonal_naive", "naive2")  # the same as naive without a season
BUDGET = 300  # seconds the fitted baselines of one evaluation may take, over all series
SHORT = 2_000  # points: a longer series is fitted in a worker that the budget can stop
# points: a fitted model sees a series' last RECENT points only. Their cost grows with the length
# (statsforecast's ETS: 73 s on 51,264 half-hourly points, 2.4 s on the last 2,000) and the last
# few thousand points hold as many seasons as the models can use.
RECENT = 2_000


def fitted_part(name: str, y: np.ndarray) -> np.ndarray:
    """What baseline ``name`` is fitted to: the last :data:`RECENT` points of ``y`` for a
    fitted model, all of it for the cheap ones and the ridge (one model per step)."""
    return y if name in WHOLE else y[-RECENT:]


def default_names(panel: Panel, seasons: tuple[int, ...] = (), known: bool = False) -> list[str]:
    """Naive, seasonal naive, Naive2, Theta and ETS with its form chosen per series (each target
    on its own); ARIMA with the future covariates where the model reads some (``known``, one
    target); MSTL where there are two ``seasons``; SARIMAX for one univariate series, VARMAX
    for one multivariate series (on panels, statsmodels' fits run in parallel within a time
    budget)."""
    names = ["naive", "seasonal_naive", "naive2", "theta", "ets"]
    if known:
        names += ["arima_x", "ridge_x"]
    if len(seasons) > 1:
        names.append("mstl")
    if panel.single:
        names += ["sarimax"] if panel.values.shape[1] == 1 else ["varmax"]
    return names


def run(name: str, trains: list[np.ndarray], horizon: int, season: int,
        budget: float) -> list[np.ndarray] | None:
    """``name``'s forecasts of every series; a fitted model's in parallel over the cores, within
    ``budget`` seconds. None when a few series spread over the panel show that all would take
    longer, or when the budget runs out: then every worker is stopped. A series longer than
    :data:`SHORT` points (one alone too) is fitted in a worker from the start, so that nothing
    runs past the budget; a single short one runs here (starting a worker costs more)."""
    if name in CHEAP or (len(trains) == 1 and len(trains[0]) <= SHORT):
        return [one(name, train, horizon, season) for train in trains]
    start = time.perf_counter()
    deadline = start + budget
    out: dict[int, np.ndarray] = {}
    short = max(len(train) for train in trains) <= SHORT
    if short:  # a few series here first: how long would all take?
        probe = sorted(set(np.linspace(0, len(trains) - 1, min(len(trains), 4)).astype(int)))
        out = {int(k): one(name, trains[k], horizon, season) for k in probe}
        spent = time.perf_counter() - start
        if spent + spent / len(probe) * (len(trains) - len(probe)) / cores() > budget:
            return None
    rest = [k for k in range(len(trains)) if k not in out]
    workers = min(cores(), len(rest))
    if short and (workers == 1 or len(rest) < 2 * workers):
        for k in rest:
            if time.perf_counter() > deadline:
                return None
            out[k] = one(name, trains[k], horizon, season)
        return [out[k] for k in range(len(trains))]
    size = 4 if short else 1
    chunks = [rest[i : i + size] for i in range(0, len(rest), size)]
    # spawn: a fresh interpreter per worker, never a fork of a process running torch threads;
    # leaving the block terminates the workers, those still fitting included
    with multiprocessing.get_context("spawn").Pool(max(1, workers), initializer=one_blas_thread) as pool:
        pending = [(chunk, pool.apply_async(_chunk, (name, [trains[k] for k in chunk], horizon,
                                                      season))) for chunk in chunks]
        for chunk, result in pending:
            try:
                out.update(zip(chunk, result.get(max(0.0, deadline - time.perf_counter())),
                               strict=True))
            except multiprocessing.TimeoutError:
                return None
    return [out[k] for k in range(len(trains))]


def _chunk(name: str, trains: list[np.ndarray], horizon: int, season: int) -> list[np.ndarray]:
    """One baseline's forecasts of a few series (a worker's chunk)."""
    return [one(name, train, horizon, season) for train in trains]


def one(name: str, train: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """One baseline's forecast ``(horizon, F)`` of a training part ``(T, F)`` (for
    :data:`KNOWN`, one target with its covariates over the forecast too); NaN (scored as
    unavailable) when a statistical model cannot be fitted to these data."""
    train = fitted_part(name, train)
    try:
        if name == "varmax":
            return varmax(train, horizon)
        if name in KNOWN:
            return WITH_KNOWN[name](train, horizon, season)[:, None]
        return np.column_stack([UNIVARIATE[name](col, horizon, season) for col in train.T])
    except Exception as error:  # statsmodels raises many kinds on short or degenerate data
        if name in ("naive", "seasonal_naive"):
            raise
        log.warning("the %s baseline could not be fitted (%s: %s); left out",
                    name, type(error).__name__, error)
        return np.full((horizon, train.shape[1]), np.nan)
