"""The columnar panel: series end to end in one array, cut by offsets, with a clock per series."""

import numpy as np
import pandas as pd
import pytest

from rnncast.data import as_panel, from_long
from rnncast.errors import DataError
from rnncast.panel import DATES, POSITIONS, STEPS, Panel, SeriesData, gather_rows
from rnncast.timeindex import TimeConfig


def long(lengths, starts, freq="MS", seed=0):
    rng = np.random.default_rng(seed)
    parts = [pd.DataFrame({"unique_id": f"id{k}", "ds": pd.date_range(s, periods=n, freq=freq),
                           "y": rng.normal(10, 1, n)})
             for k, (n, s) in enumerate(zip(lengths, starts, strict=True))]
    return pd.concat(parts, ignore_index=True)


def test_series_lie_end_to_end_with_their_own_first_dates():
    frame = long([5, 3, 4], ["2020-01-01", "2019-06-01", "2021-03-01"])
    panel = from_long(frame, "unique_id", "ds", "y")
    assert panel.offsets.tolist() == [0, 5, 8, 12] and panel.values.shape == (12, 1)
    assert panel.clock.kind == DATES and panel.freq == "MS"
    assert [str(d.date()) for d in panel.clock.first] == ["2020-01-01", "2019-06-01", "2021-03-01"]
    np.testing.assert_array_equal(panel.rows(1)[:, 0], frame["y"].to_numpy()[5:8])
    assert panel.series_at(2).index.equals(pd.date_range("2021-03-01", periods=4, freq="MS",
                                                         name="ds"))
    # the next dates of every series at once, flat, series after series
    assert [str(d.date()) for d in panel.next_labels(2)] == [
        "2020-06-01", "2020-07-01", "2019-09-01", "2019-10-01", "2021-07-01", "2021-08-01"]


def test_any_row_order_gives_the_same_panel_sorted_by_id():
    frame = long([6, 4, 5], ["2020-01-01", "2020-03-01", "2019-01-01"])
    grouped = frame.iloc[np.r_[11:15, 6:11, 0:6]].reset_index(drop=True)  # blocks, ids unsorted
    shuffled = frame.sample(frac=1.0, random_state=1)
    panels = [from_long(f, "unique_id", "ds", "y") for f in (frame, grouped, shuffled)]
    for p in panels[1:]:
        assert p.ids == panels[0].ids == ["id0", "id1", "id2"]
        np.testing.assert_array_equal(p.values, panels[0].values)
        assert p.clock.first.equals(panels[0].clock.first)


def test_a_parquet_file_keeps_ids_as_categories(tmp_path):
    frame = long([4, 3], ["2020-01-01", "2020-02-01"])
    frame[::-1].to_parquet(tmp_path / "d.parquet", index=False)  # reversed: blocks, then sorted
    from rnncast.data import load_long
    from rnncast.tables import read_table

    assert isinstance(read_table(tmp_path / "d.parquet", ["unique_id"])["unique_id"].dtype,
                      pd.CategoricalDtype)
    panel = load_long(tmp_path / "d.parquet", "unique_id", "y", "ds")
    again = from_long(frame, "unique_id", "ds", "y")
    assert panel.ids == again.ids
    np.testing.assert_array_equal(panel.values, again.values)


def test_integer_times_keep_their_step_and_bare_series_their_positions():
    frame = pd.DataFrame({"unique_id": ["a"] * 3 + ["b"] * 2, "year": [2000, 2005, 2010, 1990, 1995],
                          "y": [1.0, 2, 3, 4, 5]})
    panel = from_long(frame, "unique_id", "year", "y")
    assert panel.clock.kind == STEPS and panel.next_labels(2).tolist() == [2015, 2020, 2000, 2005]
    bare = as_panel([np.arange(4.0), np.arange(6.0)])
    assert bare.clock.kind == POSITIONS and bare.next_labels(1).tolist() == [4, 6]


def test_gaps_filled_only_in_the_series_that_have_them():
    frame = long([6, 5], ["2020-01-01", "2020-01-01"])
    frame = frame.drop(index=[2, 3]).reset_index(drop=True)  # id0 misses March and April
    with pytest.raises(DataError, match=r"series 'id0'.*skips from 2020-02-01"):
        from_long(frame, "unique_id", "ds", "y")
    panel = from_long(frame, "unique_id", "ds", "y", time=TimeConfig(fill="interpolate"))
    assert panel.lengths.tolist() == [6, 5]
    a, b = panel.rows(0)[:, 0], frame["y"].to_numpy()
    np.testing.assert_allclose(a[[0, 1, 4, 5]], b[:4])
    np.testing.assert_allclose(a[2:4], b[1] + (b[2] - b[1]) * np.array([1, 2]) / 3)
    np.testing.assert_array_equal(panel.rows(1)[:, 0], b[4:])


def test_take_split_and_tail_are_per_series_cuts():
    panel = Panel.of([SeriesData(np.arange(n, dtype=float)[:, None] + 100 * k,
                                 pd.date_range("2020-01-01", periods=n, freq="D"), ["y"], "D")
                      for k, n in enumerate([5, 3, 4])], ["a", "b", "c"])
    train, test = panel.split(2)
    assert train.lengths.tolist() == [3, 1, 2] and test.lengths.tolist() == [2, 2, 2]
    assert test.values[:, 0].tolist() == [3, 4, 101, 102, 202, 203]
    assert test.starts.tolist() == [3, 1, 2]  # positions in the whole series
    assert [str(d.date()) for d in test.clock.first] == ["2020-01-04", "2020-01-02", "2020-01-03"]
    tail = panel.tail(4)
    assert tail.lengths.tolist() == [4, 3, 4] and tail.ends.tolist() == [5, 3, 4]
    picked = panel.take([2, 0])
    assert picked.ids == ["c", "a"] and picked.values[:, 0].tolist() == [200, 201, 202, 203, 0, 1, 2, 3, 4]
    with pytest.raises(DataError, match="series 'b' has 3 points"):
        panel.split(3)


def test_last_rows_pad_a_short_series_with_its_first_row():
    panel = as_panel({"a": np.arange(5.0), "b": np.arange(2.0)})
    rows, positions = panel.last_rows(3)
    assert panel.values[rows][..., 0].tolist() == [[2, 3, 4], [0, 0, 1]]
    assert positions.tolist() == [[2, 3, 4], [0, 0, 1]]


def test_gather_rows_concatenates_ranges():
    assert gather_rows(np.array([5, 0, 9]), np.array([2, 3, 1])).tolist() == [5, 6, 0, 1, 2, 9]
