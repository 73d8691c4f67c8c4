"""The readers' shortcuts change nothing but time: the cell conversions give the same values
and verdicts whether each cell is worked out on its own or once per distinct cell
(``by_distinct``); a row's cells join into one key as a per-row join would; a whole CSV is
read with the cycle collector held off, and it runs again after, whatever happened."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

from marmot_assets.reading.cells import _convert, by_distinct, convert, joined_rows
from marmot_assets.reading.delimited import read_csv_text
from marmot_assets.reading.errors import SourceFileError

CELLS = {
    "integer": ["12", "1,204", "£7", "-3", "", "x", "2.5", "0"],
    "number": ["1.5", "", "£1,000.25", "nan?", "-0.1", "7"],
    "boolean": ["yes", "No", "", "maybe", "T", "0"],
    "date": ["2024-03-31", "31/03/2024", "", "31/02/2024", "1 Apr 2024", "soon"],
    "month": ["2024-03", "03/2024", "", "March 2024", "2024-13", "202402"],
    "string": ["a", "", "b", "a "],
}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_convert_by_distinct_cells_equals_cell_by_cell(kind):
    rng = np.random.default_rng(7)
    # many repeats of a few cells, in a shuffled order, under a spreadsheet's row numbers
    cells = rng.choice([f" {c}" for c in CELLS[kind]] + CELLS[kind], size=5_000)
    raw = pd.Series(cells, index=pd.RangeIndex(2, 5_002, name="row"), name="value")
    text, values, bad = convert(kind, raw)
    pd.testing.assert_series_equal(text, raw.str.strip())
    expected_values, expected_bad = _convert(kind, raw.str.strip())
    pd.testing.assert_series_equal(values, expected_values)
    pd.testing.assert_series_equal(bad, expected_bad)
    assert bad.any() or kind == "string"


def test_by_distinct_works_out_each_distinct_cell_once():
    seen = []

    def strip(cells: pd.Series) -> pd.Series:
        seen.append(len(cells))
        return cells.str.strip()

    text = pd.Series([" E05001218", "E05001219 "] * 500, index=range(10, 1_010))
    out = by_distinct(text, strip)
    assert seen == [2]
    assert list(out.index) == list(text.index)
    assert out.tolist() == [c.strip() for c in text]


def test_by_distinct_leaves_mostly_distinct_and_missing_cells_to_the_function():
    calls = []
    distinct = pd.Series([str(i) for i in range(200)])
    with_missing = pd.Series(["a", None] * 100, dtype=object)
    for text in (distinct, with_missing):
        by_distinct(text, lambda cells: calls.append(len(cells)) or cells)
    assert calls == [200, 200]


def test_joined_rows_is_the_per_row_join_with_missing_cells_as_empty():
    frame = pd.DataFrame(
        {
            "ward": ["E05001218", "E05001219", None],
            "period": ["2024-25 Q1", None, "2024-25 Q2"],
            "count": pd.array([5, 6, None], dtype="Int64"),
        }
    )
    assert joined_rows(frame).tolist() == [
        "E05001218\x1f2024-25 Q1\x1f5",
        "E05001219\x1f\x1f6",
        "\x1f2024-25 Q2\x1f",
    ]
    assert joined_rows(frame[["ward"]]).tolist() == ["E05001218", "E05001219", ""]


def test_a_whole_csv_is_read_as_before_and_the_collector_runs_again():
    text = 'Ward code,Count\nE05001218,5\n\n"E05001219","1,2"\n'
    frame = read_csv_text(text, "wards.csv")
    assert gc.isenabled()
    assert frame.index.tolist() == [2, 4]  # the blank row keeps its place
    assert frame.to_dict("list") == {"Ward code": ["E05001218", "E05001219"], "Count": ["5", "1,2"]}
    with pytest.raises(SourceFileError, match="row 3"):
        read_csv_text("a,b\n1,2\n1\n", "short.csv")
    assert gc.isenabled()
    gc.disable()
    try:  # held off by its caller: left so
        read_csv_text(text, "wards.csv")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_commas_are_read_only_as_thousands_separators():
    """ "11,101" (as MHCLG publishes) and "£1,000.25" are numbers; a comma anywhere else is a
    mistake to name, not a separator to drop: "1,5" (a decimal comma, or a slip) is not 15."""
    text = pd.Series(["11,101", "£1,204", "-1,000", "1,234,567", "1,5", "1,2,3", ",5", "12,34"])
    values, bad = _convert("integer", text)
    assert values[~bad].tolist() == [11101, 1204, -1000, 1234567]
    assert bad.tolist() == [False] * 4 + [True] * 4
    numbers, bad = _convert("number", pd.Series(["£1,000.25", "1,5", "2.5"]))
    assert numbers[~bad].tolist() == [1000.25, 2.5]
    assert bad.tolist() == [False, True, False]
