"""The seed corpus: metadata, cleaning, syndication, and what happens to bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import provenance
from analysis.corpus import (
    MINHASH_PERMUTATIONS,
    CorpusError,
    _shingle_hashes,
    _word_hash,
    apply_grouping,
    body_signatures,
    clean_document,
    load_rules,
    lsh_candidates,
    minhash_signatures,
    normalise_line,
    resolve_chains,
    to_raw_offsets,
)
from analysis.pipeline import load_corpus
from analysis.provenance import corpus_hash

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "seeds"
SHARED_SEEDS = PROJECT.parent / "shared" / "seeds"

BOILERPLATE = [
    "Subscribe to:", "Post Comments (Atom)", "No comments:", "Post a Comment",
    "Note: Only a member of this blog may post a comment.", "READ MORE", "WATCH:",
    "Story continues below", "Newspapers in English", "Newspapers from Canada", "To contact the WSWS",
    "wsws.org/contact", "AP PHOTO", "??", "*", "«", "»", "KAREN DEYOUNG", "WASHINGTON —", "The Province\n",
    "Alexander Fangmann", "Saturday, September 8, 2018", "Saturday, 23 February 2019",
]


@pytest.fixture(scope="module")
def seeds():
    return load_corpus(SEEDS)


@pytest.fixture(scope="module")
def docs(seeds):
    return seeds.documents.set_index("doc_id")


def section_text(corpus, doc_id, section):
    doc = corpus.documents.set_index("doc_id").loc[doc_id, "clean_text"]
    paras = corpus.paragraphs[(corpus.paragraphs.doc_id == doc_id) & (corpus.paragraphs.section == section)]
    return [doc[s:e] for s, e in zip(paras.start, paras.end)]


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="shared seeds not beside the project")
def test_seeds_are_byte_for_byte_copies_of_the_shared_captures():
    for path in sorted(SHARED_SEEDS.glob("*.txt")):
        assert (SEEDS / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_seed_corpus_has_five_documents_with_outlets_groups_and_dates(docs):
    assert list(docs.index) == ["000", "001", "002", "003", "004"]
    assert docs.loc["002", "outlet"] == "The New York Times"
    assert docs.loc["001", "outlet"] == "The Province"
    assert docs.loc["001", "original_outlet"] == "The Washington Post"
    assert docs.loc["003", "outlet"] == "World Socialist Web Site"
    assert docs.loc["004", "outlet"] == "Global News"
    assert dict(docs["outlet_group"]) == {"000": "partisan_blog", "001": "newspaper", "002": "newspaper",
                                          "003": "socialist_press", "004": "broadcaster"}
    assert docs.loc["003", "published"] == "2018-09-10"
    assert docs.loc["002", "published"] == "2018-09-08"
    assert (docs.loc["004", "published"], docs.loc["004", "page_date"]) == ("2018-09", "2019-02-23")
    assert "23 February 2019" in docs.loc["004", "date_basis"]
    assert docs.loc["003", "author"] == "Alexander Fangmann"
    assert (docs["n_words"] > 300).all()


def test_no_seed_group_is_called_a_wire_service(docs):
    assert "wire_service" not in set(docs["outlet_group"])


def test_no_boilerplate_line_survives_into_clean_text(docs):
    for doc_id, text in docs["clean_text"].items():
        for line in BOILERPLATE:
            assert line not in text, (doc_id, line)


def test_every_cleaning_report_row_quotes_its_raw_line(seeds):
    report = seeds.cleaning_report
    assert len(report) > 30
    for row in report.itertuples():
        raw = (SEEDS / row.source_file).read_text(encoding="utf-8").split("\n")
        assert raw[row.line_no - 1] == row.raw_line


def test_province_headline_deck_byline_and_caption_are_sections_or_metadata(seeds, docs):
    assert section_text(seeds, "001", "headline") == ["Venezuela coup-plotters asked U.S. for help"]
    assert section_text(seeds, "001", "deck") == [
        "Military officers’ plan to overthrow Maduro eventually turned down by Trump administration"]
    captions = section_text(seeds, "001", "caption")
    assert len(captions) == 1 and captions[0].startswith("While there have been signs of dissent")
    assert docs.loc["001", "clean_text"].count("While there have been signs of dissent") == 1
    assert docs.loc["001", "dateline"] == "WASHINGTON"
    body = section_text(seeds, "001", "body")
    assert body[0].startswith("The Trump administration met several times")


def test_wsws_paragraphs_split_mid_sentence_are_rejoined_and_reported(seeds, docs):
    text = docs.loc["003", "clean_text"]
    assert "another official familiar with the talks who said" in text
    assert "paints a portrait of the coup plotters as some kind of democratic resistance" in text
    assert "saying in an interview with Univision 23 in Miami" in text
    joins = seeds.cleaning_report.query("doc_id == '003' and action == 'joined'")
    assert list(joins.line_no) == [15, 25, 37]
    assert "New York Times reported" in text and "The Times' article" in text  # emphasis dropped, words kept


@pytest.mark.parametrize("rows, copy", [
    # original_outlet naming the other's outlet decides, even against the dates (names compared
    # normalised: case and punctuation aside)
    ([("a", "Blog", "the new york times.", "2018-09-08"), ("b", "The New York Times", "", "2018-09-09")], "a"),
    ([("a", "The New York Times", "", "2018-09-09"), ("b", "Blog", "The New York Times", "2018-09-08")], "b"),
    # else the later published
    ([("a", "Blog", "", "2018-09-09"), ("b", "Other blog", "", "2018-09-08")], "a"),
    ([("a", "Blog", "", "2018-09-08"), ("b", "Other blog", "", "2018-09-09")], "b"),
    # an empty original_outlet names no outlet, not even one that normalises to nothing
    ([("a", "—", "", "2018-09-09"), ("b", "Blog", "", "2018-09-08")], "a"),
    # else (a date missing, or the same) the larger id
    ([("a", "Blog", "", ""), ("b", "Other blog", "", "2018-09-08")], "b"),
    ([("b", "Blog", "", "2018-09-08"), ("a", "Other blog", "", "2018-09-08")], "b"),
])
def test_which_of_two_identical_bodies_is_the_copy_follows_the_contracts_rule(docs, rows, copy):
    from analysis.corpus import find_duplicates

    body = docs.loc["002", "clean_text"]  # the Times story, the same body under both ids
    documents = pd.DataFrame(rows, columns=["doc_id", "outlet", "original_outlet", "published"])
    found = find_duplicates(documents, {doc_id: body for doc_id in documents["doc_id"]})
    assert found[["doc_id", "duplicate_of"]].values.tolist() == [[copy, "b" if copy == "a" else "a"]]
    assert found["duplicate_similarity"].tolist() == [1.0]


def test_the_repost_body_is_a_copy_of_the_times_and_its_added_lines_stay(seeds, docs):
    assert docs.loc["000", "duplicate_of"] == "002"
    assert docs.loc["000", "duplicate_similarity"] >= 0.95
    assert docs.loc[["001", "002", "003", "004"], "duplicate_of"].eq("").all()
    assert section_text(seeds, "000", "headline") == ["Anti-Trumpers Conspire to Keep Venezuela Socialist..."]
    added = section_text(seeds, "000", "added")
    source_line = 'from the New York Times, "Trump Administration Discussed Coup Plans With Rebel Venezuelan Officers"'
    assert added == ["...leak meetings to NY Times.", source_line]
    assert docs.loc["000", "page_date"] == "2018-09-08"


def test_shingle_hashes_are_the_distinct_mixed_word_hashes_of_each_5_gram(docs):
    # Written out with Python integers: each 5-gram's word hashes mixed as h * 1,000,003 + w modulo
    # 2**64 (numpy's uint64 arithmetic), then its low 32 bits; distinct and sorted, held as uint32.
    body = docs.loc["002", "clean_text"]
    tokens = normalise_line(body).split()
    words = [_word_hash(t) for t in tokens]
    expected = set()
    for i in range(len(tokens) - 4):
        h = 0
        for w in words[i:i + 5]:
            h = (h * 1_000_003 + w) % 2**64
        expected.add(h & 0xFFFFFFFF)
    hashes = _shingle_hashes(body)
    assert hashes.dtype == np.uint32 and hashes.tolist() == sorted(expected)
    assert _shingle_hashes("four words only here").dtype == np.uint32


def test_clean_text_maps_back_to_the_raw_capture(docs):
    for doc_id, row in docs.iterrows():
        positions = np.arange(len(row.clean_text))
        raw_positions = to_raw_offsets(row.offset_map, positions)
        raw = row.raw_text
        mismatched = [i for i in positions
                      if row.clean_text[i] != raw[raw_positions[i]] and row.clean_text[i] not in "\n "]
        assert not mismatched, doc_id
    row = docs.loc["003"]
    start = row.clean_text.index("boliburgesia")
    raw_start = to_raw_offsets(row.offset_map, [start])[0]
    raw_end = to_raw_offsets(row.offset_map, [start + len("boliburgesia")], end=True)[0]
    assert row.raw_text[raw_start:raw_end] == "boliburgesia"


line_text = st.text(alphabet=st.sampled_from(list("abc XYZ.*—-?\"“”")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.lists(line_text, max_size=12))
def test_every_clean_character_comes_from_the_raw_text_it_maps_to(lines):
    raw = "\n".join(lines)
    doc = clean_document(raw, load_rules())
    positions = np.arange(len(doc.clean_text))
    mapped = to_raw_offsets(doc.offset_map, positions)
    for i in positions:
        if doc.clean_text[i] not in "\n ":
            assert raw[mapped[i]] == doc.clean_text[i]
    sections_cover = sum(e - s for _, s, e in doc.paragraphs) + max(len(doc.paragraphs) - 1, 0)
    assert sections_cover == len(doc.clean_text)


# --------------------------------------------------------------------------- groupings


def test_default_contrast_grouping_puts_wsws_against_the_mainstream(seeds):
    groups = apply_grouping(seeds.documents, SEEDS / "groupings" / "socialist_vs_mainstream.csv")
    by_doc = dict(zip(seeds.documents.doc_id, groups))
    assert by_doc == {"000": "partisan_blog", "001": "mainstream", "002": "mainstream",
                      "003": "socialist_press", "004": "mainstream"}


def test_an_outlet_missing_from_a_grouping_is_named_in_a_warning(seeds, tmp_path):
    grouping = tmp_path / "g.csv"
    grouping.write_text("outlet,group\nGlobal News,mainstream\n")
    with pytest.warns(UserWarning, match="World Socialist Web Site"):
        groups = apply_grouping(seeds.documents, grouping)
    assert groups.isna().sum() == 4


def test_wire_copy_in_a_users_corpus_lands_in_the_wire_service_group():
    documents = pd.DataFrame({"outlet": ["Reuters", "Associated Press", "AFP"], "outlet_group": ["", "", ""]})
    assert list(apply_grouping(documents)) == ["wire_service"] * 3


# --------------------------------------------------------------------------- bad input


def seed_folder(tmp_path, files=("002_92e7106e2f56e857.txt", "003_8692c6e319ce5671.txt")):
    folder = tmp_path / "corpus"
    folder.mkdir()
    manifest = pd.read_csv(SEEDS / "manifest.csv", dtype=str, keep_default_na=False)
    manifest = manifest[manifest.file.isin(files)]
    for name in files:
        shutil.copy(SEEDS / name, folder / name)
    manifest.to_csv(folder / "manifest.csv", index=False)
    return folder


def test_an_empty_file_is_excluded_and_named(tmp_path):
    folder = seed_folder(tmp_path)
    (folder / "003_8692c6e319ce5671.txt").write_text("  \n\n")
    with pytest.warns(UserWarning, match="003_8692c6e319ce5671.txt is empty"):
        corpus = load_corpus(folder)
    assert list(corpus.documents.doc_id) == ["002"]
    assert corpus.exclusions.loc[0, "action"] == "dropped"


def test_a_cp1252_file_is_decoded_with_a_reported_fallback(tmp_path):
    folder = seed_folder(tmp_path)
    path = folder / "003_8692c6e319ce5671.txt"
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    with pytest.warns(UserWarning, match="decoded as cp1252"):
        corpus = load_corpus(folder)
    assert "Nicolás Maduro" in corpus.documents.set_index("doc_id").loc["003", "clean_text"]
    assert corpus.exclusions.action.tolist() == ["decoded_with_fallback"]


def test_undecodable_bytes_are_replaced_and_reported(tmp_path):
    folder = seed_folder(tmp_path)
    path = folder / "003_8692c6e319ce5671.txt"
    path.write_bytes(path.read_bytes() + b"\n\nBad byte \x81\x8d here.\n")
    with pytest.warns(UserWarning, match="undecodable bytes"):
        corpus = load_corpus(folder)
    assert "replacement character" in corpus.exclusions.reason[0]


def test_a_manifest_row_whose_file_is_missing_is_excluded_and_named(tmp_path):
    folder = seed_folder(tmp_path)
    (folder / "003_8692c6e319ce5671.txt").unlink()
    with pytest.warns(UserWarning, match=r"'003_8692c6e319ce5671.txt' named on manifest.csv line \d does not exist"):
        corpus = load_corpus(folder)
    assert list(corpus.documents.doc_id) == ["002"]


def test_a_file_without_a_manifest_row_is_excluded_and_named(tmp_path):
    folder = seed_folder(tmp_path)
    shutil.copy(SEEDS / "004_dc08a94d67cfac3a.txt", folder / "extra.txt")
    with pytest.warns(UserWarning, match="extra.txt has no row in manifest.csv"):
        corpus = load_corpus(folder)
    assert "extra.txt" in set(corpus.exclusions.source_file)


def test_a_duplicate_doc_id_is_excluded_and_names_both_lines(tmp_path):
    folder = seed_folder(tmp_path)
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.loc[1, "doc_id"] = manifest.loc[0, "doc_id"]
    manifest.to_csv(folder / "manifest.csv", index=False)
    with pytest.warns(UserWarning, match="duplicate doc_id '002'.*first on line 2"):
        corpus = load_corpus(folder)
    assert len(corpus.documents) == 1


@pytest.mark.parametrize("column", ["doc_id", "file", "outlet"])
def test_a_missing_required_manifest_column_is_an_error_naming_it(tmp_path, column):
    folder = seed_folder(tmp_path)
    manifest = pd.read_csv(folder / "manifest.csv", dtype=str, keep_default_na=False)
    manifest.drop(columns=[column]).to_csv(folder / "manifest.csv", index=False)
    with pytest.raises(CorpusError, match=rf"missing required column\(s\) \['{column}'\]"):
        load_corpus(folder)


def test_a_folder_without_manifest_says_what_to_add(tmp_path):
    (tmp_path / "a.txt").write_text("Some text.")
    with pytest.raises(CorpusError, match="no manifest.csv; add one with columns doc_id, file, outlet"):
        load_corpus(tmp_path)


# --------------------------------------------------------------------------- command line


def test_the_corpus_command_writes_the_contract_tables(tmp_path):
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "analysis", "corpus", str(SEEDS), "--out", str(out), "--no-cache"],
                   check=True, cwd=PROJECT, capture_output=True)
    for name in ("documents", "sentences", "spans", "cleaning_report", "exclusions"):
        assert (out / f"{name}.csv").is_file()
    documents = pd.read_csv(out / "documents.csv", dtype=str, keep_default_na=False)
    assert documents.columns[:17].tolist() == [
        "doc_id", "outlet", "outlet_group", "original_outlet", "author", "headline", "published", "page_date",
        "date_basis", "url", "source_file", "notes", "n_words", "n_sentences", "duplicate_of",
        "duplicate_similarity", "content_sha256"]
    assert len(documents) == 5


def test_the_corpus_command_reports_a_bad_path_without_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "analysis", "corpus", str(tmp_path / "nope"), "--out",
                             str(tmp_path)], cwd=PROJECT, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def _one_round_per_copy(original_of: dict) -> dict:
    """The chain resolution as first written (one pointer-doubling round per copy), the reference."""
    roots = original_of
    for _ in range(len(roots)):
        roots = {k: roots.get(v, v) for k, v in roots.items()}
    return roots


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=40), st.booleans())
def test_copy_chains_resolve_to_the_root_original_as_with_one_round_per_copy(targets, acyclic):
    # copy i -> original targets[i]; acyclic: an original always comes later (no cycle possible)
    original_of = {f"d{i:02d}": f"d{(max(t, i + 1) if acyclic else t):02d}" for i, t in enumerate(targets)}
    roots = resolve_chains(original_of)
    assert roots == _one_round_per_copy(original_of)
    if acyclic:
        assert not set(roots.values()) & set(roots), "a root original is itself a copy"


def _datasketch_candidates(hashvalues: np.ndarray) -> list[tuple[int, int]]:
    """The candidate pairs of datasketch's own MinHashLSH index (every row inserted, then each queried),
    the reference for `lsh_candidates`."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.5, num_perm=hashvalues.shape[1])
    minhashes = [MinHash(num_perm=hashvalues.shape[1], seed=1, hashvalues=row, scheme="affine32") for row in hashvalues]
    for i, minhash in enumerate(minhashes):
        lsh.insert(i, minhash)
    return sorted((i, j) for i, minhash in enumerate(minhashes) for j in lsh.query(minhash) if i < j)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 30), st.integers(1, 4), st.integers(0, 2**32))
def test_lsh_candidates_are_the_pairs_datasketchs_index_gives(rows, alphabet, seed):
    """Rows drawn from a few values agree on whole bands often (copies, near-copies) and not at all."""
    rng = np.random.default_rng(seed)
    hashvalues = rng.integers(0, alphabet + 1, size=(rows, MINHASH_PERMUTATIONS), dtype=np.uint64)
    copies = rng.integers(0, max(rows, 1), size=rows // 3)
    hashvalues[rng.integers(0, max(rows, 1), size=len(copies))] = hashvalues[copies]  # exact copies too
    hashvalues[:, ::7] += rng.integers(0, 2**31, size=(rows, len(range(0, MINHASH_PERMUTATIONS, 7))),
                                       dtype=np.uint64) * (rng.random((rows, 1)) < 0.5)  # some rows unlike any
    assert lsh_candidates(hashvalues) == _datasketch_candidates(hashvalues)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=40, unique=True), max_size=8))
def test_minhash_signatures_are_datasketchs_minhash_values(sets):
    """One pass over every set gives each set's values of datasketch's own MinHash, in the sets' order."""
    from datasketch import MinHash

    shingle_sets = [np.array(sorted(values), dtype=np.uint32) for values in sets]
    expected = []
    for values in shingle_sets:
        minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=1, hashfunc=int, scheme="affine32")
        minhash.update_batch(values.tolist())
        expected.append(minhash.hashvalues)
    found = minhash_signatures(shingle_sets)
    assert found.shape == (len(sets), MINHASH_PERMUTATIONS) and found.dtype == np.uint32
    assert [row.tolist() for row in found] == [row.tolist() for row in expected]


def test_body_signatures_of_the_seed_bodies_are_datasketchs(docs):
    from datasketch import MinHash

    bodies = {doc_id: text for doc_id, text in docs["clean_text"].items()} | {"short": "four words only here"}
    signatures = body_signatures(bodies)
    assert list(signatures) == list(bodies) and signatures["short"][1] is None
    for doc_id, text in bodies.items():
        hashes, values = signatures[doc_id]
        assert hashes.tolist() == _shingle_hashes(text).tolist()
        if doc_id != "short":
            minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=1, hashfunc=int, scheme="affine32")
            minhash.update_batch(hashes.tolist())
            assert values.tolist() == minhash.hashvalues.tolist()


def _corpus_hash_pair_by_pair(doc_ids, texts) -> str:
    """The contract's corpus hash as written: sha256 over the sorted (doc_id, clean text) pairs."""
    import hashlib

    digest = hashlib.sha256()
    for doc_id, text in sorted(zip(map(str, doc_ids), texts)):
        digest.update(doc_id.encode("utf-8") + b"\0" + text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def test_the_seed_corpus_hash_is_the_pair_by_pair_sha256(seeds):
    docs = seeds.documents
    assert seeds.corpus_hash == _corpus_hash_pair_by_pair(docs["doc_id"], docs["clean_text"])
    # a text changed by one character, or one pair left out, changes it
    changed = docs["clean_text"].tolist()
    changed[0] = changed[0][:-1] + ("x" if changed[0][-1] != "x" else "y")
    assert corpus_hash(docs["doc_id"], changed) != seeds.corpus_hash
    assert corpus_hash(docs["doc_id"][1:], docs["clean_text"][1:]) != seeds.corpus_hash


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=40)), max_size=30),
       st.sampled_from(["list", "object", "str"]), st.integers(1, 4))
def test_corpus_hash_equals_the_pair_by_pair_sha256(pairs, kind, batch):
    """Sorted and joined in Arrow a batch at a time, the hash is the one of the contract's definition,
    for any text (non-ASCII, NULs, empty), repeated doc_ids and any batch size."""
    ids, texts = [p[0] for p in pairs], [p[1] for p in pairs]
    if kind != "list":
        ids, texts = pd.Series(ids, dtype=kind), pd.Series(texts, dtype=kind)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(provenance, "CORPUS_HASH_BATCH", batch)
        assert corpus_hash(ids, texts) == _corpus_hash_pair_by_pair(ids, texts)


def test_corpus_hash_of_a_missing_text_fails_as_the_definition_does():
    with pytest.raises(AttributeError):
        corpus_hash(["a", "b"], ["text", None])


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_the_normal_words_are_the_normalised_line_split_on_spaces(text):
    """The duplicate index's shingles read `normal_words` rather than splitting the normalised line:
    the same words, for any text (whitespace of every kind, ligatures NFKC splits, marks)."""
    from analysis.corpus import normal_words

    assert normal_words(text) == normalise_line(text).split()
    assert normal_words("Ｍaduro’s ﬁnal\u2028WORD\x1c") == normalise_line("Ｍaduro’s ﬁnal\u2028WORD\x1c").split()
