"""A CSV or parquet file as a raw table: its columns as the file names them, and each row's number.

:func:`read_column_table` reads the whole file (text decoded as
:func:`~cellbench.data.readers.common.decode_text` does, the delimiter taken from the header);
:func:`header_names` reads only the first line of a CSV, to choose a reader.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cellbench.errors import TracksFormatError
from cellbench.data.readers.common import decode_text, require_file

DELIMITERS = ((",", "comma"), ("\t", "tab"), (";", "semicolon"), (" ", "space"))
"""Delimiters a header may use, in the order they are tried (btrack writes spaces)."""
_SNIFF_BYTES = 1 << 16


@dataclass(frozen=True)
class ColumnTable:
    """A file's table before its columns are interpreted.

    df : the columns under the file's names (CSV: strings; parquet: its types).
    file_rows : (n_rows,) each row's number as seen in the file (a CSV's header is row 1).
    where : the file, as errors name it.
    """

    df: pd.DataFrame
    file_rows: np.ndarray
    where: str


def delimiter_of(header: str) -> str:
    """The first of :data:`DELIMITERS` found in a header line (a comma when none is)."""
    return next((sep for sep, _ in DELIMITERS if sep in header.strip()), ",")


def _first_line(text: str) -> tuple[str, bool]:
    """The first line of ``text`` and whether a line break ends it."""
    cut = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)


def _split(header: str) -> list[str]:
    return [name.strip().strip('"') for name in header.strip().split(delimiter_of(header))]


def header_names(path: Path) -> list[str] | None:
    """The column names in the first line of a CSV, or None when they cannot be read cheaply.

    Reads at most 64 KiB; a header longer than that, or bytes no encoding reads, give None
    (the file's full reader then reports what is wrong).
    """
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = decode_text(head, str(path))
    except TracksFormatError:
        return None
    line, ended = _first_line(text)
    if not ended and len(head) == _SNIFF_BYTES:
        return None
    return _split(line) if line.strip() else None


def read_column_table(path: Path) -> ColumnTable:
    """A CSV (any of :data:`DELIMITERS`) or parquet file as a :class:`ColumnTable`.

    Raises
    ------
    TracksFormatError
        naming the file (and row) for an empty file, a header without rows, a column named
        twice, or text that is not a table.
    """
    path = require_file(Path(path))
    where = str(path)
    if path.suffix.lower() == ".parquet":
        try:
            df = pq.read_table(path).to_pandas()
        except (pa.ArrowInvalid, OSError) as err:
            raise TracksFormatError(f"{where}: not a readable parquet file ({err})") from err
        if len(df) == 0:
            raise TracksFormatError(f"{where}: no rows (no spots)")
        return ColumnTable(df, np.arange(1, len(df) + 1), where)
    text = decode_text(path.read_bytes(), where)
    header, _ = _first_line(text)
    if not header.strip():
        raise TracksFormatError(f"{where}, row 1: no header (expected the column names)")
    names = _split(header)
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise TracksFormatError(f"{where}, row 1: column(s) {dup} appear more than once")
    sep = delimiter_of(header)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=False,
                         skipinitialspace=True)
    except pd.errors.ParserError as err:
        raise TracksFormatError(f"{where}: not a readable CSV ({' '.join(str(err).split())})") from err
    df.columns = [str(c).strip().strip('"') for c in df.columns]
    if len(df) == 0:
        raise TracksFormatError(f"{where}: the header has no rows below it")
    return ColumnTable(df, np.arange(len(df)) + 2, where)
