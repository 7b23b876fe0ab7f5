"""Future covariates: columns known over the forecast too (a promotion calendar, a load
forecast), read in the history and, through the direct head's decoder, at every forecast step."""

import numpy as np
import pandas as pd
import pytest
import torch

from rnncast import Forecaster
from rnncast.cli import main
from rnncast.data import as_panel
from rnncast.errors import DataError, SettingError
from rnncast.features import Channels, targets_first
from rnncast.networks import ModelConfig, RecurrentNet
from rnncast.plan import resolve
from rnncast.sampling import training_windows
from rnncast.settings import SeriesConfig
from rnncast.transforms import Transforms

FAST = dict(units=16, ensemble=1, epochs=30, patience=6, batch_size=32, window=24, head=12,
            season=12, combine="none", validation=12)


def promoted(n: int = 400, seed: int = 0, stores=("a", "b")) -> pd.DataFrame:
    """Sales that jump on promotion days (a random 0/1 column known in advance) over a season
    of 12: what the promotion does to a step is only known from that step's own value."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, store in enumerate(stores):
        promo = (rng.random(n) < 0.25).astype(float)
        t = np.arange(n)
        sales = (50 + 10 * k) * (1 + 0.1 * np.sin(2 * np.pi * t / 12)) * (1 + 0.5 * promo)
        parts.append(pd.DataFrame({"store": store, "ds": pd.date_range("2021-01-01", periods=n,
                                                                       freq="D"),
                                   "sales": sales * (1 + 0.01 * rng.normal(size=n)),
                                   "promo": promo}))
    return pd.concat(parts, ignore_index=True)


def split(frame: pd.DataFrame, h: int):
    last = frame.groupby("store").cumcount(ascending=False) < h
    return frame[~last], frame[last]


LONG = dict(id_col="store", time_col="ds", target_col="sales")


@pytest.mark.slow
def test_the_future_values_of_a_known_driver_make_the_forecast():
    train, test = split(promoted(), 12)
    errors = {}
    for future in ([], ["promo"]):
        model = Forecaster(future=future, seed=0, **FAST).fit(train, **LONG)
        given = test[["store", "ds", "promo"]] if future else None
        forecast = model.predict(12, future=given)
        errors[bool(future)] = np.sqrt(np.mean((forecast["sales"].to_numpy()
                                                - test["sales"].to_numpy()) ** 2))
    assert errors[True] < 0.4 * errors[False], errors


def test_the_future_values_are_checked_stamp_by_stamp():
    train, test = split(promoted(), 12)
    model = Forecaster(future=["promo"], seed=0, **{**FAST, "epochs": 1}).fit(train, **LONG)
    with pytest.raises(DataError, match="the model reads the future covariate 'promo'"):
        model.predict(12)
    gap = test.drop(index=test.index[15])  # store b's fourth step
    with pytest.raises(DataError, match=r"'promo' miss series 'b' at 2022-01-27"):
        model.predict(12, future=gap[["store", "ds", "promo"]])
    with pytest.raises(DataError, match="no column 'promo'"):
        model.predict(12, future=test[["store", "ds"]])
    extra = pd.concat([test, test.assign(ds=test["ds"] + pd.Timedelta(days=40))])
    shuffled = extra.sample(frac=1, random_state=0)  # rows in any order; extra rows ignored
    np.testing.assert_allclose(model.predict(12, future=shuffled)["sales"],
                               model.predict(12, future=test)["sales"])


def test_roles_are_checked_when_the_model_is_built():
    with pytest.raises(SettingError, match="'x' is given as a past and a future covariate"):
        Forecaster(past=["x"], future=["x"])
    with pytest.raises(SettingError, match=r"future covariates .* not 'stateful'"):
        Forecaster(future=["x"], strategy="stateful")
    with pytest.raises(SettingError, match=r"past=.* and covariates=.* name the same setting"):
        Forecaster(past=["x"], covariates=["y"])
    assert Forecaster(covariates=["x"]).series_config.covariates == ("x",)  # the old name


def test_covariates_are_standardised_on_their_own_and_leave_the_log_to_the_targets():
    frame = promoted(60)
    panel = targets_first(as_panel(frame, ("promo",), None, ("store", "ds", "sales")), ("promo",))
    plan = resolve(panel, SeriesConfig(window=24, head=12, season=12, future=("promo",)))
    assert plan.log is True  # the promotion's zeros do not turn the targets' log off
    fitted = Transforms.fit_checked(panel, plan)
    z = fitted.forward_panel(panel)
    promo = panel.values[:60, 1]
    np.testing.assert_allclose(z[:60, 1], (promo - promo.mean()) / promo.std())
    assert fitted.seasonal is not None and (fitted.seasonal[..., 1] == 1).all()
    back = fitted.inverse_all(z[None, :12, :1], np.array([0]), [0])
    np.testing.assert_allclose(back[0, :, 0], panel.values[:12, 0], rtol=1e-9)


def test_training_windows_carry_the_known_inputs_of_the_forecast_steps():
    frame = promoted(60, stores=("a",))
    settings = SeriesConfig(window=8, head=4, season=12, future=("promo",), calendar=True,
                            validation=0, log=False, deseasonalize=False, combine="none")
    panel = targets_first(as_panel(frame, ("promo",), None, ("store", "ds", "sales")), ("promo",))
    plan = resolve(panel, settings)
    channels = Channels.of(panel, plan, False)
    Z = Transforms.fit_checked(panel, plan).forward_panel(panel)
    (train, _), = training_windows(Z, panel, plan, [8], channels).values()
    X, Y = train.take(torch.tensor([5]))
    assert X.shape == (1, 8 + 4, 1 + 1 + 2) and Y.shape == (1, 4, 1)
    ahead = X[0, 8:]
    assert (ahead[:, 0] == 0).all()  # the targets of the forecast steps are not shown
    np.testing.assert_allclose(ahead[:, 1], Z[5 + 8 : 5 + 12, 1], rtol=1e-6)  # the promotions
    angle = 2 * np.pi * (np.arange(13, 17) % 12) / 12  # their place in the season
    np.testing.assert_allclose(ahead[:, 2], np.sin(angle), atol=1e-6)


def test_the_decoder_starts_as_the_plain_head_and_learns_from_the_known_steps():
    torch.manual_seed(0)
    config = ModelConfig(units=8)
    plain = RecurrentNet(config, 3, 1, "direct", 4)
    torch.manual_seed(0)
    known = RecurrentNet(config, 3, 1, "direct", 4, known=True)
    x = torch.randn(5, 10 + 4, 3)
    torch.testing.assert_close(known(x), plain(x[:, :10]))  # zero last layer: the plain head
    known(x).pow(2).sum().backward()
    assert known.decoder[2].weight.grad.abs().sum() > 0
    x2 = x.clone()
    x2[:, 10:] += 1.0  # other known values change nothing yet, but once the decoder has learnt:
    with torch.no_grad():
        known.decoder[2].weight.fill_(0.1)
    assert not torch.allclose(known(x), known(x2))


def test_a_saved_model_keeps_its_future_columns(tmp_path):
    train, test = split(promoted(), 12)
    model = Forecaster(future=["promo"], seed=0, **{**FAST, "epochs": 2}).fit(train, **LONG)
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    assert loaded.plan.future == ("promo",)
    np.testing.assert_allclose(loaded.predict(12, future=test)["sales"],
                               model.predict(12, future=test)["sales"], rtol=1e-6)
    with pytest.raises(DataError, match="future covariate 'promo'"):
        loaded.predict(12)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_future_columns_from_the_command_line(capsys, tmp_path):
    train, test = split(promoted(200), 12)
    train.to_csv(tmp_path / "sales.csv", index=False)
    test[["store", "ds", "promo"]].to_csv(tmp_path / "promo.csv", index=False)
    test[["store", "ds", "promo"]].iloc[:-1].to_csv(tmp_path / "short.csv", index=False)
    common = ["--id-col", "store", "--time-col", "ds", "--target", "sales", "--future", "promo",
              "--epochs", "2", "--ensemble", "1", "--units", "8", "--quiet"]
    model = tmp_path / "model"
    assert run(capsys, "fit", tmp_path / "sales.csv", *common, "--out", model)[0] == 0
    out = tmp_path / "forecast.csv"
    code, _, err = run(capsys, "forecast", model, "--horizon", "12", "--out", out)
    assert code == 1 and err.strip() == (f"rnncast: error: {model}: the model reads the future "
                                         "covariates promo; give their values over the forecast "
                                         "with --future FILE")
    code, _, err = run(capsys, "forecast", model, "--horizon", "12", "--future",
                       tmp_path / "short.csv", "--out", out)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "'promo' miss series 'b' at 2021-07-19" in err and not out.exists()
    code, _, err = run(capsys, "forecast", model, "--horizon", "12", "--future",
                       tmp_path / "promo.csv", "--out", out)
    assert code == 0, err
    written = pd.read_csv(out)
    assert list(written.columns) == ["store", "ds", "sales"] and len(written) == 24
    assert np.isfinite(written["sales"]).all()


@pytest.mark.slow
def test_evaluate_reads_the_recorded_future_and_says_so(capsys, tmp_path):
    promoted(200).to_csv(tmp_path / "sales.csv", index=False)
    code, out, err = run(capsys, "evaluate", tmp_path / "sales.csv", "--id-col", "store",
                         "--time-col", "ds", "--target", "sales", "--future", "promo", "--test",
                         "12", "--epochs", "4", "--ensemble", "1", "--json", "--quiet")
    assert code == 0, err
    import json

    result = json.loads(out)
    assert any("recorded values of promo" in note for note in result["baseline_notes"])
    assert result["settings"]["plan"]["future"] == ["promo"]
    # ARIMA with the same future column beside the network: it reads each step's promotion
    assert result["baselines"]["arima_x"]["mase"] < 0.5 * result["baselines"]["ets"]["mase"]
    code, _, err = run(capsys, "evaluate", tmp_path / "sales.csv", "--id-col", "store",
                       "--time-col", "ds", "--target", "sales", "--test", "12", "--epochs", "1",
                       "--ensemble", "1", "--baselines", "naive,arima_x", "--quiet")
    assert code == 1 and err.strip().endswith("the arima_x baseline needs one target and future "
                                              "covariates (--future)")


def with_statics(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(kind=frame["store"].map({"a": "mall", "b": "street", "c": "mall"}),
                        size=frame["store"].map({"a": 120.0, "b": 80.0, "c": 100.0}))


def test_static_columns_are_encoded_once_per_series_and_fed_at_every_step():
    frame = with_statics(promoted(100, stores=("a", "b", "c")))
    model = Forecaster(static=["kind", "size"], seed=0, **{**FAST, "epochs": 1}).fit(frame, **LONG)
    static = model.channels.static  # (series, channels): one-hot kind, then size standardised
    size = np.array([120.0, 80.0, 100.0])
    np.testing.assert_allclose(static, np.c_[[1, 0, 1], [0, 1, 0], (size - size.mean()) / size.std()])
    extras = model.channels.extras(np.array([1, 2]), np.array([[0, 5], [3, 4]]))
    np.testing.assert_allclose(extras[:, :, -3:], np.broadcast_to(static[[1, 2], None], (2, 2, 3)))
    assert model.nets[0].n_inputs == 1 + 3


def test_static_values_come_from_the_long_table_or_from_their_own():
    frame = promoted(100)
    own = pd.DataFrame({"store": ["b", "a"], "kind": ["street", "mall"]})
    model = Forecaster(static=["kind"], seed=0, **{**FAST, "epochs": 1})
    model.fit(frame, static_df=own, **LONG)
    np.testing.assert_allclose(model.channels.static, [[1, 0], [0, 1]])  # in the panel's order
    varies = with_statics(frame)
    varies.loc[varies.index[150], "kind"] = "outlet"
    with pytest.raises(DataError, match=r"static column 'kind' varies within series 'b' \('outlet' "
                                        r"at 2021-02-20"):
        Forecaster(static=["kind"], **{**FAST, "epochs": 1}).fit(varies, **LONG)
    with pytest.raises(DataError, match="no static values for series 'b'"):
        Forecaster(static=["kind"], **{**FAST, "epochs": 1}).fit(frame, static_df=own[1:], **LONG)
    with pytest.raises(SettingError, match="'kind' is given as a future and a static covariate"):
        Forecaster(future=["kind"], static=["kind"])


def test_a_saved_model_keeps_its_static_covariates(tmp_path):
    frame = with_statics(promoted(100))
    model = Forecaster(static=["kind", "size"], seed=0, **{**FAST, "epochs": 2}).fit(frame, **LONG)
    model.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.channels.static, model.channels.static)
    np.testing.assert_allclose(loaded.predict(12)["sales"], model.predict(12)["sales"], rtol=1e-6)


def test_static_columns_from_the_command_line(capsys, tmp_path):
    frame = promoted(100)
    frame.to_csv(tmp_path / "sales.csv", index=False)
    pd.DataFrame({"store": ["a", "b"], "kind": ["mall", "street"]}).to_csv(tmp_path / "kind.csv",
                                                                          index=False)
    common = ["--id-col", "store", "--time-col", "ds", "--target", "sales", "--static", "kind",
              "--epochs", "1", "--ensemble", "1", "--units", "8", "--quiet"]
    code, _, err = run(capsys, "fit", tmp_path / "sales.csv", *common, "--out", tmp_path / "m")
    assert code == 1 and err.strip() == "rnncast: error: the static values have no column 'kind'"
    assert not (tmp_path / "m").exists()
    code, _, err = run(capsys, "fit", tmp_path / "sales.csv", *common, "--static-file",
                       tmp_path / "kind.csv", "--out", tmp_path / "m")
    assert code == 0, err
    assert Forecaster.load(tmp_path / "m").plan.static == ("kind",)



def test_no_univariate_partner_sits_beside_future_columns_or_past_ones():
    train, _ = split(promoted(300), 12)  # 25 seasons: too few origins for the ridge too
    panel = targets_first(as_panel(train, ("promo",), None, ("store", "ds", "sales")), ("promo",))
    for role in ("future", "covariates"):  # EPF: MSTL beside the day-ahead columns, 11.10 vs 9.58
        plan = resolve(panel, SeriesConfig(**{role: ("promo",)}))
        assert plan.combine == () and any("reads other columns" in line for line in plan.reasons)


@pytest.mark.slow
def test_a_recursive_forecast_reads_the_known_inputs_of_each_step_it_predicts(tmp_path):
    train, test = split(promoted(), 12)
    settings = {**FAST, "head": None, "strategy": "recursive"}
    errors = {}
    for future in ([], ["promo"]):
        model = Forecaster(future=future, seed=0, **settings).fit(train, **LONG)
        assert model.nets[0].known == bool(future) and model.plan.emits == 1
        given = test[["store", "ds", "promo"]] if future else None
        forecast = model.predict(12, future=given)
        errors[bool(future)] = np.sqrt(np.mean((forecast["sales"].to_numpy()
                                                - test["sales"].to_numpy()) ** 2))
    assert errors[True] < 0.5 * errors[False], errors
    model.save(tmp_path / "model")
    again = Forecaster.load(tmp_path / "model").predict(12, future=given)
    np.testing.assert_array_equal(again["sales"].to_numpy(), forecast["sales"].to_numpy())
