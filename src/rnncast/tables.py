"""Tables from files: CSV as spreadsheets write it (its separator, decimal mark and encoding told
from the file) and Parquet column by column, with one clear line for a file that is not a table."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from rnncast.errors import DataError

SNIFFED = 64 * 1024  # bytes of a CSV file read to tell its separator and decimal mark
DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")  # a whole field such as 1,5 or -12,25
WORKBOOKS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def is_parquet(path: str | Path) -> bool:
    """Whether ``path`` names a Parquet file (by its suffix), else CSV."""
    return Path(path).suffix.lower() in (".parquet", ".pq")


def read_table(path: str | Path, columns: list[str] | None = None,
               text: list[str] = (), rows: int | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file, with a clear error for missing, empty or unreadable files.
    ``columns``: of a Parquet file, read only these (those it has), column by column; ``text``:
    columns of a CSV file read as written (ids ``007`` and ``7`` are two series, not one)."""
    path = _existing(path)
    try:
        if is_parquet(path):
            frame = _read_parquet(path, columns)
        else:
            frame = _read_csv(path, text, rows)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        raise _unreadable(path, error) from None
    if frame.empty and rows != 0:
        raise DataError(f"{path}: the file has no data rows")
    return frame


def column_names(path: str | Path) -> list[str]:
    """The columns of a CSV or Parquet file, read from its head (or schema) alone."""
    path = _existing(path)
    if not is_parquet(path):
        return [str(name) for name in read_table(path, rows=0).columns]
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (OSError, ValueError) as error:  # pyarrow's errors derive from these
        raise _unreadable(path, error) from None


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a CSV or Parquet file")
    return path


def _unreadable(path: Path, error: Exception) -> DataError:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return DataError(f"{path}: cannot be read as a table ({first})")


def _read_csv(path: Path, text: list[str], rows: int | None = None) -> pd.DataFrame:
    """A CSV file in UTF-8 or, where its first lines are not, in Windows' encoding (cp1252, as
    spreadsheets there save it), with its separator and decimal mark told from those lines and
    the spaces around its column names dropped (``month, sales``)."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFFED)
    if b"\0" in head:
        what = ("a spreadsheet workbook: save the sheet as CSV (or Parquet)"
                if path.suffix.lower() in WORKBOOKS else "not a text (CSV) file")
        raise DataError(f"{path}: {what}")
    encoding = "utf-8"
    try:
        head.decode(encoding)
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not a character cut at the end of the head
            encoding = "cp1252"
    sep, decimal = csv_layout(head.decode(encoding, errors="replace"))
    layout = {"dtype": dict.fromkeys(text, str), "sep": sep, "decimal": decimal, "nrows": rows}
    try:
        frame = pd.read_csv(path, encoding=encoding, **layout)
    except UnicodeDecodeError:  # a byte past the first lines
        frame = pd.read_csv(path, encoding="cp1252", **layout)
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took the extra field for an index
        raise DataError(f"{path}: its rows hold more fields than its header names "
                        f"({len(frame.columns)}: {', '.join(map(str, frame.columns[:12]))})")
    names = [name.strip() if isinstance(name, str) else name for name in frame.columns]
    return frame.set_axis(names, axis=1) if len(set(names)) == len(names) else frame


def csv_layout(head: str) -> tuple[str, str]:
    """The field separator (comma, semicolon, tab or bar) and the decimal mark of a CSV file
    from its first lines ``head``: spreadsheets in much of Europe write ``2020-01;1,5``."""
    lines = head.splitlines()[:-1] or head.splitlines()  # the last one may be cut
    if lines and not any(mark in lines[0] for mark in ",;\t|") and all(
            DECIMAL_COMMA.fullmatch(line.strip().strip('"')) for line in lines[1:] if line.strip()):
        return ";", ","  # one column of decimal commas: no separator in the file
    try:
        sep = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:  # one column, or nothing to tell: the usual comma
        sep = ","
    fields = [field.strip().strip('"') for line in lines[1:] for field in line.split(sep)]
    comma = sep != "," and any(DECIMAL_COMMA.fullmatch(field) for field in fields)
    return sep, "," if comma else "."


def _read_parquet(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """A Parquet file through pyarrow, one column at a time (a fraction of the memory of the
    whole table at once), only the ``columns`` asked for; text ids are kept as a dictionary
    (categories, not one Python string per row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    keep = [c for c in columns if c in schema.names] if columns else schema.names
    text = [f.name for f in schema if f.name in keep
            and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
    file = pq.ParquetFile(path, read_dictionary=text)
    return pd.DataFrame({c: file.read(columns=[c]).column(0).to_pandas() for c in keep},
                        copy=False)


