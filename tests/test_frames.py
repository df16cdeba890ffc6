"""Label columns built by code are the columns pandas would build from the strings themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.frames import labels_at


@given(st.lists(st.text(max_size=12), min_size=1, max_size=6, unique=True).flatmap(
    lambda labels: st.tuples(st.just(labels), st.lists(st.integers(0, len(labels) - 1), max_size=40))))
def test_labels_at_equals_the_column_of_the_strings(case):
    labels, codes = case
    column = pd.Series(labels_at(labels, np.array(codes, dtype=np.int64)))
    expected = pd.Series(np.array(labels, dtype=object)[np.array(codes, dtype=np.int64)])
    pd.testing.assert_series_equal(column, expected)


def test_labels_at_keeps_labels_that_are_not_strings():
    column = pd.Series(labels_at([3, 1.5], np.array([1, 0, 1])))
    assert column.tolist() == [1.5, 3, 1.5]


def test_labels_at_refuses_codes_outside_the_labels():
    with pytest.raises(IndexError, match="label codes"):
        labels_at(["own", "quoted"], np.array([0, 2]))
