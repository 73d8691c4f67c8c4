"""The allocation helper: universal per capita plus targeted by need-weighted population."""

from __future__ import annotations

import numpy as np
import pytest

from marmot_assets.methods import allocate


def test_universal_and_targeted_shares_by_hand():
    # Two areas of 100 and 300 people, need 0.5 and 0.1; budget 1000, half universal.
    result = allocate(1000, 0.5, [100, 300], [0.5, 0.1])
    # universal: 500 x 100/400 = 125 and 500 x 300/400 = 375
    assert result["universal"].tolist() == pytest.approx([125, 375])
    # need-weighted population 50 and 30: targeted 500 x 50/80 and 500 x 30/80
    assert result["targeted"].tolist() == pytest.approx([312.5, 187.5])
    assert result["total"].sum() == pytest.approx(1000)


def test_all_universal_is_per_capita_and_all_targeted_follows_need():
    assert allocate(90, 1.0, [1, 2], [9, 0])["total"].tolist() == pytest.approx([30, 60])
    assert allocate(90, 0.0, [1, 2], [2, 2])["total"].tolist() == pytest.approx([30, 60])
    assert allocate(90, 0.0, [1, 1], [2, 1])["total"].tolist() == pytest.approx([60, 30])


def test_missing_need_gets_no_targeted_share():
    result = allocate(100, 0.0, [1, 1], [np.nan, 1.0])
    assert result["targeted"].tolist() == pytest.approx([0, 100])


@pytest.mark.parametrize(
    "args",
    [
        (-1, 0.5, [1], [1]),
        (1, 1.5, [1], [1]),
        (1, 0.5, [1, 2], [1]),
        (1, 0.5, [-1], [1]),
        (1, 0.5, [1], [-1]),
    ],
)
def test_bad_arguments_are_refused(args):
    with pytest.raises(ValueError):
        allocate(*args)
