"""The committed seed results are what the code makes today (regenerate with `make figures`)."""

from __future__ import annotations

import filecmp
from pathlib import Path

from analysis.pipeline import load_corpus, measure

PROJECT = Path(__file__).resolve().parent.parent
COMMITTED = PROJECT / "results" / "seeds"


def test_committed_seed_results_are_not_stale(tmp_path):
    measure(load_corpus(PROJECT / "seeds"), out=tmp_path)
    fresh = sorted(p.name for p in tmp_path.iterdir())
    assert fresh == sorted(p.name for p in COMMITTED.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(COMMITTED, tmp_path, fresh, shallow=False)
    assert not mismatch and not errors, f"stale committed results (run `make figures`): {mismatch + errors}"
