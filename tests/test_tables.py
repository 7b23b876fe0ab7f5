"""Reading tables: a CSV file's separator and decimal mark are told from its first lines."""

import numpy as np
import pandas as pd
import pytest

from rnncast.data import load_series, read_table
from rnncast.errors import DataError
from rnncast.tables import column_names, csv_layout
from rnncast.timeindex import TimeConfig


@pytest.mark.parametrize("text, layout", [
    ("t;y\n2020-01;1,5\n2020-02;2,25\n", (";", ",")),  # a European spreadsheet's export
    ("t;y\n2020-01;1.5\n2020-02;2.25\n", (";", ".")),
    ("t\ty\n2020-01\t1.5\n2020-02\t2.25\n", ("\t", ".")),
    ("t|y\n2020-01|1,5\n2020-02|2,25\n", ("|", ",")),
    ('id,name,y\n1,"a;b",1.5\n2,"c;d",2.25\n', (",", ".")),  # a semicolon inside a text field
    ("t,y\n2020-01,1.5\n2020-02,2.25\n", (",", ".")),
    ("y\n1.5\n2.25\n", (",", ".")),  # one column: nothing to tell, the usual comma
    ("y\n1,5\n2,25\n", (";", ",")),  # one column of decimal commas, not two of integers
])
def test_the_separator_and_decimal_mark_are_told_from_the_first_lines(tmp_path, text, layout):
    path = tmp_path / "d.csv"
    path.write_text(text)
    assert csv_layout(text) == layout
    np.testing.assert_array_equal(read_table(path)["y"].to_numpy(), [1.5, 2.25])


def test_a_semicolon_file_with_decimal_commas_and_day_first_dates_reads_as_numbers(tmp_path):
    path = tmp_path / "umsatz.csv"
    path.write_text("Datum;Umsatz\n01.01.2020;100,5\n01.02.2020;101,25\n01.03.2020;99,75\n")
    series = load_series(path, "Umsatz", "Datum", TimeConfig(dayfirst=True))
    np.testing.assert_array_equal(series.values[:, 0], [100.5, 101.25, 99.75])
    assert series.freq == "MS"


def test_windows_encoded_files_byte_order_marks_and_spaced_names_are_read(tmp_path):
    rows = "".join(f"2020-{m:02d},{m}.5\n" for m in range(1, 13))
    (tmp_path / "win.csv").write_bytes(("Monat,Umsätze\n" + rows).encode("cp1252"))
    (tmp_path / "bom.csv").write_bytes(("month,sales\n" + rows).encode("utf-8-sig"))
    (tmp_path / "spaced.csv").write_text("month, sales \n" + rows)
    assert list(read_table(tmp_path / "win.csv").columns) == ["Monat", "Umsätze"]
    for name in ("bom.csv", "spaced.csv"):
        frame = read_table(tmp_path / name)
        assert list(frame.columns) == ["month", "sales"]
        np.testing.assert_array_equal(frame["sales"].to_numpy(), np.arange(1, 13) + 0.5)
    # a byte of Windows' encoding past the first lines read by the guess
    late = "month,sales,note\n" + "2020-01,1.5,a\n" * 20_000 + "2020-02,2.5,Müller\n"
    (tmp_path / "late.csv").write_bytes(late.encode("cp1252"))
    assert read_table(tmp_path / "late.csv")["note"].iloc[-1] == "Müller"


def test_column_names_come_from_the_head_or_the_schema_alone(tmp_path):
    frame = pd.DataFrame({"unique_id": ["a", "b"], "ds": ["2020-01", "2020-02"], "y": [1.5, 2.5]})
    frame.to_parquet(tmp_path / "d.parquet")
    (tmp_path / "d.csv").write_text("unique_id;ds;y\na;2020-01;1,5\n")
    assert column_names(tmp_path / "d.parquet") == column_names(tmp_path / "d.csv") == [
        "unique_id", "ds", "y"]


def test_a_file_that_is_not_a_table_is_one_line_even_without_column_names(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"garbage")
    for read in (column_names, read_table):
        with pytest.raises(DataError, match=r"bad\.parquet: cannot be read as a table \(Parquet"):
            read(tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"gone\.csv: no such file"):
        column_names(tmp_path / "gone.csv")
