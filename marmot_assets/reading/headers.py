"""Matching a file's header to the columns we want, by meaning or by known spellings.

Publishers reword headers between releases ("IMD Rank" / "IMD Rank (where 1 is most
deprived)") and partners type them by hand ("Ward Code", "ward_code", "WARD CODE"), so every
header is compared in one normal form: lower case, words separated by single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from marmot_assets.reading.errors import SourceFileError

HEADER_ROW = 1  # rows are numbered as a person sees them: the header is row 1


def normalise(header) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(header).lower()).strip()


def match_by_meaning(
    header: Sequence[str], wanted: Mapping[str, Callable[[str], bool]], source
) -> dict[str, str]:
    """Canonical name -> the file's header, chosen by a predicate on the normal form.

    Raises naming the missing meaning and the headers present, so the sender sees at once
    which column was renamed or dropped.
    """
    found: dict[str, str] = {}
    for canonical, predicate in wanted.items():
        matches = [h for h in header if predicate(normalise(h))]
        if len(matches) > 1:
            raise SourceFileError(
                source, f"more than one column could be '{canonical}': {matches}", row=HEADER_ROW
            )
        if not matches:
            raise SourceFileError(
                source,
                f"missing column for '{canonical}'; the header has {list(header)}",
                row=HEADER_ROW,
                column=canonical,
            )
        found[canonical] = matches[0]
    return found


@dataclass(frozen=True)
class Wanted:
    """A column we want, the spellings it may have, and whether a file must have it."""

    name: str
    spellings: tuple[str, ...]
    required: bool = True


def match_by_spelling(
    header: Sequence[str],
    wanted: Sequence[Wanted],
    source,
    *,
    reject_extra: bool = False,
    row: int = HEADER_ROW,
) -> dict[str, int]:
    """Wanted name -> position in ``header``, by any of its spellings in normal form."""
    positions: dict[str, int] = {}
    for i, h in enumerate(header):
        if str(h).strip():
            positions.setdefault(normalise(h), i)
    mapping, missing = {}, []
    for column in wanted:
        found = [positions[n] for n in map(normalise, column.spellings) if n in positions]
        if found:
            mapping[column.name] = found[0]
        elif column.required:
            missing.append(column.name)
    present = [h for h in header if str(h).strip()]
    if missing:
        raise SourceFileError(
            source,
            f"missing column(s) {missing}; the header has {present}",
            row=row,
            column=missing[0],
        )
    if reject_extra:
        known = {normalise(s) for c in wanted for s in c.spellings}
        extra = [h for h in present if normalise(h) not in known]
        if extra:
            raise SourceFileError(source, f"unexpected column(s) {extra}", row=row, column=extra[0])
    return mapping
