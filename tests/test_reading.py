"""The readers' shortcuts change nothing but time: the cell conversions give the same values
and verdicts whether each cell is worked out on its own or once per distinct cell
(``by_distinct``); a row's cells join into one key as a per-row join would; a whole CSV is
read with the cycle collector held off, and it runs again after, whatever happened; a large
one read by pandas' C parser gives what the records give, or is left to them."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

from marmot_assets.reading import delimited
from marmot_assets.reading.cells import _convert, by_distinct, convert, joined_rows
from marmot_assets.reading.delimited import _read_whole_by_pandas, read_csv_text
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


# Fields as partners and publishers write them, and as they go wrong.
FIELDS = [
    "a", "E05001218", "12", "", " ", "  x ", '"quoted"', '"a,b"', '"two\nlines"', '"say ""hi"""',
    '""', 'ab"', '"x"y', '"a" ', ' "a"', '"', '"open', 'x""y', "#", "NA", "\u00e9t\u00e9", "a\rb",
    "\x00", ";", "\t",
]  # fmt: skip


def _random_csv(rng: np.random.Generator) -> tuple[str, int]:
    width = int(rng.integers(1, 5))
    rows = [[f"h{i}" for i in range(width)]]
    for _ in range(int(rng.integers(0, 8))):
        roll = rng.random()
        if roll < 0.05:
            rows.append([])  # a blank line
            continue
        n = width if roll < 0.8 else int(rng.integers(0, width + 3))
        clean = rng.random() < 0.85  # most rows well formed: the fast path has work to take
        pool = FIELDS[:10] if clean else FIELDS
        rows.append([pool[int(rng.integers(0, len(pool)))] for _ in range(n)])
    text = "\n".join(",".join(r) for r in rows)
    if rng.random() < 0.7:
        text += "\n"
    if rng.random() < 0.1:
        text += "\n"
    return text, int(rng.random() < 0.3)


def _slow(text: str, trailing: int, monkeypatch, source: str = "f.csv"):
    monkeypatch.setattr(delimited, "FAST_FROM_CHARS", float("inf"))
    try:
        return read_csv_text(text, source, optional_trailing=trailing)
    except SourceFileError as exc:
        return exc
    finally:
        monkeypatch.undo()


def test_pandas_reads_a_whole_csv_as_the_records_do_or_leaves_it_to_them(monkeypatch):
    """For 6,000 seeded texts (quoted commas and newlines, doubled and stray quotes, blank and
    whitespace rows, short and long rows, NUL, carriage returns), whenever pandas' reading is
    taken it is the records' frame exactly: same cells, columns, row numbers and types; and
    never where the records refuse the file."""
    rng = np.random.default_rng(20261208)
    taken = declined = 0
    for _ in range(6000):
        text, trailing = _random_csv(rng)
        fast = _read_whole_by_pandas(text, trailing)
        if fast is None:
            declined += 1
            continue
        taken += 1
        slow = _slow(text, trailing, monkeypatch)
        assert not isinstance(slow, SourceFileError), (text, slow)
        pd.testing.assert_frame_equal(fast, slow, check_index_type="equiv", obj=repr(text))
        assert list(fast.index) == list(slow.index), text
        assert all(isinstance(v, str) for v in fast.to_numpy().ravel()), text
    assert taken > 800 and declined > 1000  # both paths exercised


def test_a_large_csv_is_read_by_pandas_with_the_same_rows_and_errors(monkeypatch):
    """The size from which read_csv_text tries pandas first: a large file's frame is the
    records' one; a large file with a short row, a blank row or a stray quote is refused with
    the same words, row and column as before, or read as before."""
    body = "".join(f'"E0{i:07d}","{i % 7}","x ""{i}"""\n' for i in range(40_000))
    text = "code,count,note\n" + body
    assert len(text) >= delimited.FAST_FROM_CHARS
    fast = read_csv_text(text, "big.csv")
    pd.testing.assert_frame_equal(fast, _slow(text, 0, monkeypatch), check_index_type="equiv")
    assert fast.loc[2].tolist() == ["E00000000", "0", 'x "0"']
    assert fast.index[-1] == 40_001
    for broken, row in [
        (text + "E1,2\n", 40_002),  # short
        (text.replace('"E00012345","4","x ""12345"""', '"E00012345","4"'), 12_347),
    ]:
        with pytest.raises(SourceFileError, match=f"row {row}") as raised:
            read_csv_text(broken, "big.csv")
        assert str(raised.value) == str(_slow(broken, 0, monkeypatch, "big.csv"))
    blank = text.replace('"E00000009"', '\n"E00000009"', 1)  # a blank row keeps its number
    read = read_csv_text(blank, "big.csv")
    pd.testing.assert_frame_equal(read, _slow(blank, 0, monkeypatch), check_index_type="equiv")
    assert 11 not in read.index and read.loc[12, "code"] == "E00000009"
