"""The stage cache: what a change of input recomputes, what it reuses, and damaged entries rebuilt.

Stages, in order: corpus, text, words, matches, actors, scores, aggregates (docs/scaling.md).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import cache as cache_mod
from analysis import measures
from analysis.cli import main
from analysis.pipeline import load_corpus, measure

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "seeds"
ALL = ["corpus", "text", "words", "matches", "actors", "scores", "aggregates"]
FAST = {"n_boot": 50, "n_perm": 100}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One run of the seeds into a fresh cache (computing every stage)."""
    cache_dir = tmp_path_factory.mktemp("first") / "cache"
    first = measure(SEEDS, cache_dir=cache_dir, **FAST)
    assert first.stages_computed == ALL
    return cache_dir, first


@pytest.fixture
def cached(first_run, tmp_path):
    """A copy of the first run's cache for this test to change, and the first run's results."""
    cache_dir, first = first_run
    return shutil.copytree(cache_dir, tmp_path / "cache"), first


def all_tables(results) -> dict[str, pd.DataFrame]:
    return {**results.corpus.tables(), **results}


def test_a_second_run_reads_every_stage_and_gives_identical_tables(cached, tmp_path):
    cache_dir, first = cached
    again = measure(SEEDS, cache_dir=cache_dir, **FAST, out=tmp_path / "out", fmt="parquet", chunk_size=2)
    assert again.stages_computed == []
    assert again.stages_reused == ALL
    for name, table in all_tables(first).items():
        pd.testing.assert_frame_equal(all_tables(again)[name], table, check_exact=True, obj=name)
    for name in ("documents", "paragraphs", "sentences", "spans"):  # the in-memory corpus too
        mine, theirs = getattr(again.corpus, name), getattr(first.corpus, name)
        pd.testing.assert_frame_equal(mine.drop(columns="offset_map", errors="ignore"),
                                      theirs.drop(columns="offset_map", errors="ignore"), check_exact=True)
    maps = zip(again.corpus.documents["offset_map"], first.corpus.documents["offset_map"])
    assert all((a == b).all() for a, b in maps)


@pytest.fixture
def decoded(monkeypatch):
    """The cache entries (stage/key) whose tables get decoded, in order, once this fixture is asked for."""
    from analysis import frames

    read, real = [], frames.StoredTable.read

    def recording(self):
        read.append(self.path.parent.parent.name)
        return real(self)

    monkeypatch.setattr(frames.StoredTable, "read", recording)
    return read


def test_a_run_on_a_full_cache_decodes_only_the_corpus_until_a_table_is_looked_up(cached, tmp_path, decoded):
    """Every stage cached: the words, matches, actors and scores entries, which only later stages read,
    are checked but never decoded; the result tables wait in their cache files, are copied to a Parquet
    output as they are, and give the first run's tables when looked up."""
    from analysis.frames import StoredTable

    cache_dir, first = cached
    again = measure(SEEDS, cache_dir=cache_dir, **FAST, out=tmp_path / "out", fmt="parquet")
    assert again.stages_reused == ALL
    assert set(decoded) == {"corpus", "text"}
    held = again.held()
    assert all(isinstance(table, StoredTable) and cache_dir in table.path.parents for table in held.values())
    for name, stored in held.items():
        assert (tmp_path / "out" / f"{name}.parquet").read_bytes() == stored.path.read_bytes()
        pd.testing.assert_frame_equal(again[name], first[name], check_exact=True, obj=name)
    assert set(decoded) == {"corpus", "text", "matches", "scores", "aggregates"}


def test_a_stage_computed_after_cached_ones_reads_their_tables_and_gives_an_uncached_runs_tables(cached, decoded):
    cache_dir, _ = cached
    again = measure(SEEDS, cache_dir=cache_dir, **{**FAST, "n_boot": 60})
    assert again.stages_computed == ["aggregates"]
    assert {"words", "matches", "actors", "scores"} <= set(decoded)  # decoded before the aggregates' tasks
    uncached = measure(SEEDS, **{**FAST, "n_boot": 60})
    for name, table in uncached.items():
        pd.testing.assert_frame_equal(again[name], table, check_exact=True, obj=name)


def test_without_a_cache_dir_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert measure(SEEDS, **FAST).stages_computed == ALL
    assert list(tmp_path.iterdir()) == []


def test_a_changed_lexicon_recomputes_matches_and_aggregates_only(cached, tmp_path):
    cache_dir, first = cached
    lexicons = []
    for path in sorted(measures.LEXICON_DIR.glob("*.csv")):
        lexicons.append(shutil.copy(path, tmp_path / path.name))
    loaded = tmp_path / "loaded.csv"
    table = pd.read_csv(loaded, dtype=str, keep_default_na=False)
    table = table[table["term"] != "regime"]
    table.to_csv(loaded, index=False)
    again = measure(SEEDS, cache_dir=cache_dir, lexicons=lexicons, **FAST)
    assert again.stages_computed == ["matches", "aggregates"]
    assert "regime" in set(first["matches"]["term"]) and "regime" not in set(again["matches"]["term"])


def test_changed_rules_recompute_every_stage(cached, tmp_path):
    cache_dir, _ = cached
    rules = tmp_path / "rules.csv"
    text = (PROJECT / "analysis" / "data" / "boilerplate_rules.csv").read_text(encoding="utf-8")
    rules.write_text(text + "extra_rule,line,any,^Never matches this line$,removed,,test,\n", encoding="utf-8")
    assert measure(SEEDS, cache_dir=cache_dir, rules=rules, **FAST).stages_computed == ALL


def _edited(monkeypatch, module: str) -> None:
    """As if the module's source had been edited."""
    real = cache_mod._source_digest
    monkeypatch.setattr(cache_mod, "_source_digest", lambda f: real(f) + ("edited" if f == f"{module}.py" else ""))


@pytest.mark.parametrize(("module", "recomputed"), [
    ("pipeline", ALL),
    ("text", [s for s in ALL if s != "corpus"]),
    ("compare", ["aggregates"]),
    ("actors", ["actors", "aggregates"]),
    ("plots", []),
    ("writeup", []),
])
def test_changed_code_recomputes_the_stages_that_run_it(cached, monkeypatch, module, recomputed):
    cache_dir, _ = cached
    _edited(monkeypatch, module)
    assert measure(SEEDS, cache_dir=cache_dir, **FAST).stages_computed == recomputed


def test_each_stages_code_includes_what_its_modules_import():
    assert "measures" in cache_mod.stage_modules("actors")  # actors imports measures
    assert "provenance" in cache_mod.stage_modules("corpus")  # corpus imports provenance
    for stage in cache_mod.STAGE_MODULES:
        modules = cache_mod.stage_modules(stage)
        assert "pipeline" in modules and not {"plots", "figures", "notebook", "writeup", "bench"} & set(modules)
        for module in modules:
            assert cache_mod._package_imports(module) <= set(modules) or module == "pipeline"


def test_a_changed_document_recomputes_every_stage(cached, tmp_path):
    cache_dir, _ = cached
    folder = shutil.copytree(SEEDS, tmp_path / "seeds")
    path = folder / "004_dc08a94d67cfac3a.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert measure(folder, cache_dir=cache_dir, **FAST).stages_computed == ALL


def test_the_same_files_in_another_folder_are_served_from_the_cache(cached, tmp_path):
    cache_dir, _ = cached
    folder = shutil.copytree(SEEDS, tmp_path / "elsewhere")
    assert measure(folder, cache_dir=cache_dir, **FAST).stages_computed == []


@pytest.mark.parametrize(("change", "recomputed"), [
    ({"mask": ["coup"]}, ["scores", "aggregates"]),
    ({"seed": 1}, ["aggregates"]),
    ({"group_a": "newspaper", "group_b": "socialist_press"}, ["aggregates"]),
    ({"grouping": SEEDS / "groupings" / "socialist_vs_mainstream.csv"}, ["aggregates"]),
    ({"actors": "copy"}, ["actors", "aggregates"]),
])
def test_a_changed_parameter_recomputes_only_the_stages_that_read_it(cached, tmp_path, change, recomputed):
    cache_dir, _ = cached
    if change.get("actors") == "copy":
        actors = pd.read_csv(PROJECT / "analysis" / "data" / "actors.csv", dtype=str, keep_default_na=False)
        actors.iloc[:-1].to_csv(tmp_path / "actors.csv", index=False)
        change = {"actors": tmp_path / "actors.csv"}
    assert measure(SEEDS, cache_dir=cache_dir, **FAST, **change).stages_computed == recomputed


def test_a_truncated_cache_file_is_detected_and_rebuilt(cached):
    cache_dir, first = cached
    [entry] = (cache_dir / "matches").iterdir()
    path = entry / "matches.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.warns(UserWarning, match=r"cache entry matches/\w+ is damaged \(matches.parquet has \d+ bytes, the "
                                         r"manifest says \d+\); it is removed and rebuilt"):
        again = measure(SEEDS, cache_dir=cache_dir, **FAST)
    assert again.stages_computed == ["matches"]
    pd.testing.assert_frame_equal(again["matches"], first["matches"], check_exact=True)
    assert measure(SEEDS, cache_dir=cache_dir, **FAST).stages_computed == []


def test_a_changed_byte_fails_the_checksum_and_is_rebuilt(cached):
    cache_dir, _ = cached
    [entry] = (cache_dir / "scores").iterdir()
    path = entry / "sentence_scores.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="does not match its checksum"):
        assert measure(SEEDS, cache_dir=cache_dir, **FAST).stages_computed == ["scores"]


def test_a_file_without_the_rows_its_manifest_lists_is_rebuilt_before_anything_reads_it(cached):
    """The rows and columns are checked against the file's footer when the entry is opened, not when
    a table is first decoded: a mismatch is damage, rebuilt, never an error later in the run."""
    import json

    cache_dir, first = cached
    [entry] = (cache_dir / "words").iterdir()
    manifest = json.loads((entry / "manifest.json").read_text())
    manifest["tables"]["word_totals"]["rows"] += 1
    (entry / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match=r"word_totals.parquet does not have the rows and columns the manifest lists"):
        again = measure(SEEDS, cache_dir=cache_dir, **FAST)
    assert again.stages_computed == ["words"]
    pd.testing.assert_frame_equal(again["estimates"], first["estimates"], check_exact=True)


def test_an_entry_without_its_manifest_is_an_interrupted_write_and_is_rebuilt(cached):
    cache_dir, _ = cached
    [entry] = (cache_dir / "text").iterdir()
    (entry / "manifest.json").unlink()
    with pytest.warns(UserWarning, match=r"no manifest \(an interrupted write\)"):
        assert load_corpus(SEEDS, cache_dir=cache_dir).stages_computed == ["text"]


def test_a_left_over_temporary_folder_is_never_read(cached):
    cache_dir, _ = cached
    [entry] = (cache_dir / "aggregates").iterdir()
    shutil.move(entry, entry.parent / f".tmp-{entry.name[:12]}-deadbeef")
    assert measure(SEEDS, cache_dir=cache_dir, **FAST).stages_computed == ["aggregates"]


def test_identical_sentences_are_scored_once_across_chunks(monkeypatch):
    from analysis.vader import Analyzer

    scored = []
    original = Analyzer.polarity_scores
    monkeypatch.setattr(Analyzer, "polarity_scores",
                        lambda self, text: scored.append(text) or original(self, text))
    results = measure(SEEDS, chunk_size=1, **FAST)  # the repost (000) and the Times (002): other chunks
    texts = results.corpus.sentences["text"]
    assert texts.duplicated().sum() > 20
    # once: the default mask is empty, so the masked score is the plain one (not computed twice)
    assert len(scored) == texts.nunique()


def test_the_command_line_caches_under_the_current_folder_by_default(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["measure", str(SEEDS), "--out", "out", "--n-boot", "50", "--n-perm", "100"]
    assert main(args) == 0
    assert sorted(p.name for p in (tmp_path / ".framing-lens-cache").iterdir()) == sorted(ALL)
    capsys.readouterr()
    assert main([*args, "--format", "parquet"]) == 0
    assert "from the cache: corpus, text, words, matches, actors, scores, aggregates; computed: nothing" in \
        capsys.readouterr().err


def test_parquet_outputs_are_copied_from_the_cache_with_the_bytes_an_uncached_run_writes(tmp_path, monkeypatch):
    from analysis import pipeline

    measure(SEEDS, **FAST, out=tmp_path / "plain", fmt="parquet")  # no cache: every table encoded
    encoded = []
    real = pipeline.write_parquet_files

    def counting(tables, paths):
        encoded.extend(path.name for path in paths)
        return real(tables, paths)

    monkeypatch.setattr(pipeline, "write_parquet_files", counting)
    for run in ("cold", "cached"):
        encoded.clear()
        measure(SEEDS, **FAST, out=tmp_path / run, fmt="parquet", cache_dir=tmp_path / "cache")
        assert encoded == ["documents.parquet"], run  # a selection of the cached documents: encoded
        for file in sorted((tmp_path / "plain").glob("*.parquet")):
            assert (tmp_path / run / file.name).read_bytes() == file.read_bytes(), (run, file.name)


def test_a_cache_file_stands_for_its_table_only_while_the_table_is_unchanged(tmp_path):
    cache = cache_mod.StageCache(tmp_path)
    table = pd.DataFrame({"doc_id": ["a", "b"], "count": [1, 2]})
    cache.store("words", "k" * 64, {"term_counts": table}, {})
    assert cache.file_of(table) == tmp_path / "words" / ("k" * 64) / "term_counts.parquet"
    assert cache.file_of(table.copy()) is None  # an equal table is not the stored one
    table["extra"] = 0
    assert cache.file_of(table) is None
    assert cache_mod.StageCache(None).file_of(table) is None


def test_a_cache_file_gone_before_the_outputs_are_written_is_encoded_instead(tmp_path, monkeypatch):
    from analysis import pipeline

    plain = measure(SEEDS, **FAST, out=tmp_path / "plain", fmt="parquet")
    real = shutil.copyfile

    def gone(source, target):
        if Path(source).name != "estimates.parquet":  # a streamed table: its file is its only copy
            raise FileNotFoundError(source)
        return real(source, target)

    monkeypatch.setattr(pipeline.shutil, "copyfile", gone)
    measure(SEEDS, **FAST, out=tmp_path / "run", fmt="parquet", cache_dir=tmp_path / "cache")
    for name in {**plain.corpus.tables(), **plain}:
        assert (tmp_path / "run" / f"{name}.parquet").read_bytes() == (tmp_path / "plain" / f"{name}.parquet").read_bytes()


def test_a_streamed_table_whose_file_went_is_an_error_that_names_it(tmp_path, monkeypatch):
    from analysis import pipeline

    def gone(source, target):
        raise FileNotFoundError(source)

    monkeypatch.setattr(pipeline.shutil, "copyfile", gone)
    with pytest.raises(OSError, match=r"estimates\.parquet: the file holding the estimates table went"):
        measure(SEEDS, **FAST, out=tmp_path / "run", fmt="parquet", cache_dir=tmp_path / "cache")


def test_a_computed_stage_is_handed_over_while_it_is_stored_and_stored_as_it_was(tmp_path):
    """`run_stage(meanwhile=...)` runs while a computed stage's files are written: here it maps the
    tables to files (what the pipeline does), and the entry still holds the bytes of the tables as
    computed. A stage read from the cache is not handed over; without a cache it still is."""
    import numpy as np

    from analysis import frames

    corpus = load_corpus(SEEDS)
    sentences = corpus.sentences[["doc_id", "sentence_id", "text", "n_words"]]
    handed = []

    def meanwhile(tables):
        handed.append(sorted(tables))
        frames.map_from_disk([(table, None) for table in tables.values()], tmp_path / "mapped")

    def compute():
        return {"sentences": sentences.copy(), "totals": sentences.groupby("doc_id", as_index=False)["n_words"].sum()}

    cache, log = cache_mod.StageCache(tmp_path / "cache"), cache_mod.StageLog()
    key, stored = cache_mod.run_stage(cache, log, "words", {"x": 1}, compute, meanwhile=meanwhile)
    assert handed == [["sentences", "totals"]]
    assert all(frames._mapped_already(stored["sentences"][c]) for c in ("text", "n_words"))
    expected = compute()
    for name, table in expected.items():
        frames.write_parquet(table, tmp_path / f"{name}.parquet")
        assert (cache.entry("words", key) / f"{name}.parquet").read_bytes() == \
            (tmp_path / f"{name}.parquet").read_bytes()
        pd.testing.assert_frame_equal(stored[name], table, check_exact=True)
    cache_mod.run_stage(cache, log, "words", {"x": 1}, compute, meanwhile=meanwhile)
    assert log.reused == ["words"] and len(handed) == 1
    _, alone = cache_mod.run_stage(cache_mod.StageCache(None), log, "words", {"x": 1}, compute, meanwhile=meanwhile)
    assert len(handed) == 2 and frames._mapped_already(alone["sentences"]["text"])
    assert np.array_equal(alone["sentences"]["n_words"].to_numpy(), sentences["n_words"].to_numpy())
