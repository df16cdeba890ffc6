"""Article tables (CSV, JSONL, Parquet) as corpus input: the column mapping, the title as headline,
raw offsets into the text cell, and one test per kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.corpus import CorpusError
from analysis.pipeline import load_corpus, measure

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "seeds"
MAPPING = {"text_col": "body", "outlet_col": "source", "id_col": "id", "date_col": "date", "title_col": "title",
           "url_col": "link", "author_col": "byline", "group_col": "kind"}


def seed_table() -> pd.DataFrame:
    """The seed captures as an article table, one row per capture, with a publisher's column names."""
    manifest = pd.read_csv(SEEDS / "manifest.csv", dtype=str, keep_default_na=False)
    return pd.DataFrame({
        "id": manifest["doc_id"], "source": manifest["outlet"], "kind": manifest["outlet_group"],
        "title": manifest["headline"], "date": manifest["published"], "link": manifest["url"],
        "byline": manifest["author"],
        "body": [(SEEDS / name).read_text(encoding="utf-8") for name in manifest["file"]],
    })


def write(table: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        table.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in table.to_dict("records")),
                        encoding="utf-8")
    else:
        table.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="module")
def from_csv(tmp_path_factory):
    path = write(seed_table(), tmp_path_factory.mktemp("csv") / "articles.csv")
    return load_corpus(path, **MAPPING)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_jsonl_and_parquet_tables_load_the_same_documents_as_the_csv(from_csv, tmp_path, suffix):
    other = load_corpus(write(seed_table(), tmp_path / f"articles{suffix}"), **MAPPING)
    for name, table in from_csv.tables().items():
        mine = other.tables()[name].drop(columns=["source_file"], errors="ignore")
        pd.testing.assert_frame_equal(mine, table.drop(columns=["source_file"], errors="ignore"), obj=name)
    assert from_csv.documents["source_file"].iloc[1] == "articles.csv row 2"
    assert other.documents["source_file"].iloc[1] == f"articles{suffix} row 2"


def test_a_table_read_in_chunks_of_two_rows_gives_the_same_corpus(from_csv, tmp_path):
    chunked = load_corpus(write(seed_table(), tmp_path / "articles.csv"), **MAPPING, chunk_size=2)
    for name, table in from_csv.tables().items():
        pd.testing.assert_frame_equal(chunked.tables()[name], table, obj=name)


def test_the_mapped_columns_fill_the_documents_table(from_csv):
    docs = from_csv.documents.set_index("doc_id")
    assert docs.loc["003", "outlet"] == "World Socialist Web Site"
    assert docs.loc["003", "outlet_group"] == "socialist_press"
    assert docs.loc["003", "published"] == "2018-09-10"
    assert docs.loc["001", "author"] == "Karen DeYoung; Greg Jaffe"
    # The repost and the Times body are still found as copies; with no original_outlet column and the
    # same date, the contract's last rule names the larger doc_id the copy.
    assert docs.loc["002", "duplicate_of"] == "000"


# --------------------------------------------------------------------------- title and offsets


def test_a_title_missing_from_the_text_becomes_its_headline_section(from_csv):
    # The Times capture (002) holds the body only; its title cell is the headline the repost names.
    paragraphs = from_csv.paragraphs[from_csv.paragraphs["doc_id"] == "002"]
    first = paragraphs.iloc[0]
    text = from_csv.documents.set_index("doc_id").loc["002", "clean_text"]
    assert first["section"] == "headline"
    assert text[first["start"]:first["end"]] == \
        "Trump Administration Discussed Coup Plans With Rebel Venezuelan Officers"
    report = from_csv.cleaning_report
    assert report[(report["doc_id"] == "002") & (report["rule_id"] == "title_column")]["line_no"].tolist() == [0]


def test_a_title_the_text_already_holds_is_not_added_twice(from_csv):
    # The Province capture (001) prints its headline: that line is the headline, nothing is prepended.
    sentences = from_csv.sentences[(from_csv.sentences["doc_id"] == "001")
                                   & (from_csv.sentences["section"] == "headline")]
    assert sentences["text"].tolist() == ["Venezuela coup-plotters asked U.S. for help"]


@pytest.fixture(scope="module")
def csv_matches(from_csv):
    return measure(from_csv, n_boot=0, n_perm=1)["matches"]


def test_raw_offsets_of_a_table_point_into_the_text_cell(csv_matches):
    bodies = seed_table().set_index("id")["body"].str.replace("\r\n", "\n")
    body = csv_matches[csv_matches["raw_start"] >= 0]
    body = body[~((body["doc_id"] == "002") & (body["section"] == "headline"))]
    found = [bodies[d][a:b] for d, a, b in zip(body["doc_id"], body["raw_start"], body["raw_end"])]
    assert (pd.Series(found, index=body.index) == body["match"]).mean() > 0.99


def test_raw_offsets_of_a_match_in_a_title_headline_point_into_the_title_cell(tmp_path):
    table = seed_table()
    table.loc[2, "title"] = "  Officials conspire with Venezuelan coup-plotters\n"
    corpus = load_corpus(write(table, tmp_path / "articles.csv"), **MAPPING)
    matches = measure(corpus, n_boot=0, n_perm=1)["matches"]
    in_title = matches[(matches["doc_id"] == "002") & (matches["section"] == "headline")]
    title = table.loc[2, "title"].strip()  # offsets count from the title without surrounding whitespace
    assert sorted(in_title["term"]) == ["conspire", "coup plotters"]
    for row in in_title.itertuples():
        assert title[row.raw_start:row.raw_end] == row.match


# --------------------------------------------------------------------------- bad input


def test_a_missing_mapped_column_is_an_error_listing_the_available_columns(tmp_path):
    path = write(seed_table(), tmp_path / "articles.csv")
    with pytest.raises(CorpusError, match=r"column\(s\) \['text'\] not found \(mapped as text='text'\); available "
                                          r"columns: \['id', 'source', 'kind', 'title', 'date', 'link', 'byline', "
                                          r"'body'\]"):
        load_corpus(path, text_col="text", outlet_col="source")


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_missing_column_in_jsonl_or_parquet_is_named_too(tmp_path, suffix):
    path = write(seed_table(), tmp_path / f"articles{suffix}")
    with pytest.raises(CorpusError, match=r"\['outlet'\] not found .*available columns: \['id', 'source'"):
        load_corpus(path, text_col="body", outlet_col="outlet")


def test_a_table_without_text_and_outlet_columns_says_which_flags_to_give(tmp_path):
    path = write(seed_table(), tmp_path / "articles.csv")
    with pytest.raises(CorpusError, match="needs --text-col and --outlet-col"):
        load_corpus(path, text_col="body")


def test_a_row_with_empty_text_is_excluded_with_its_reason(tmp_path):
    table = seed_table()
    table.loc[2, "body"] = "   "
    path = write(table, tmp_path / "articles.csv")
    with pytest.warns(UserWarning, match=r"articles.csv row 3: empty text in 'body'"):
        corpus = load_corpus(path, **MAPPING)
    assert "002" not in set(corpus.documents["doc_id"])
    assert corpus.exclusions[["doc_id", "row", "action"]].values.tolist() == [["002", 3, "dropped"]]


def test_a_row_with_an_empty_outlet_is_excluded_with_its_reason(tmp_path):
    table = seed_table()
    table.loc[4, "source"] = ""
    with pytest.warns(UserWarning, match=r"row 5: empty outlet in 'source'"):
        corpus = load_corpus(write(table, tmp_path / "articles.csv"), **MAPPING)
    assert corpus.exclusions["doc_id"].tolist() == ["004"]


def test_a_duplicate_id_is_excluded_naming_the_first_row(tmp_path):
    table = seed_table()
    table.loc[4, "id"] = "001"
    path = write(table, tmp_path / "articles.csv")
    with pytest.warns(UserWarning, match=r"row 5: duplicate id '001' \(first at row 2\); ids must be unique"):
        corpus = load_corpus(path, **MAPPING, chunk_size=2)  # the first copy is in another chunk
    assert corpus.documents["doc_id"].tolist() == ["000", "001", "002", "003"]
    assert corpus.exclusions["reason"].str.contains("duplicate id").tolist() == [True]


def test_undecodable_bytes_in_a_csv_are_decoded_with_a_fallback_and_reported(tmp_path):
    path = tmp_path / "articles.csv"
    path.write_bytes(b"id,source,body\n"
                     b"a,Outlet A,The caf\xe9 was closed. Officials said so.\n"
                     b"b,Outlet B,Fine UTF-8 text: caf\xc3\xa9. It stays.\n")
    with pytest.warns(UserWarning, match=r"row 1: column 'body': not UTF-8 \(first bad byte at 7\); decoded as cp1252"):
        corpus = load_corpus(path, text_col="body", outlet_col="source", id_col="id")
    assert corpus.documents["clean_text"].tolist() == ["The café was closed. Officials said so.",
                                                        "Fine UTF-8 text: café. It stays."]
    assert corpus.exclusions[["doc_id", "row", "action"]].values.tolist() == [["a", 1, "decoded_with_fallback"]]


def test_bytes_no_codec_decodes_are_replaced_and_counted(tmp_path):
    path = tmp_path / "articles.jsonl"
    path.write_bytes(b'{"id": "a", "source": "A", "body": "Bad \x81\x8d bytes. Still a text."}\n')
    with pytest.warns(UserWarning, match=r"undecodable bytes .* 2 replacement character\(s\) U\+FFFD"):
        corpus = load_corpus(path, text_col="body", outlet_col="source", id_col="id")
    assert corpus.documents["clean_text"].iloc[0] == "Bad \ufffd\ufffd bytes. Still a text."


def test_a_jsonl_line_that_is_not_an_object_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "articles.jsonl"
    path.write_text('{"id": "a", "source": "A", "body": "Text."}\n{"id": "b", "source": \n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"articles.jsonl line 2: not a JSON object"):
        load_corpus(path, text_col="body", outlet_col="source", id_col="id")


def test_an_unknown_table_format_lists_the_known_ones(tmp_path):
    path = tmp_path / "articles.xlsx"
    path.write_bytes(b"")
    with pytest.raises(CorpusError, match=r"unknown table format '.xlsx'; use one of \['.csv'"):
        load_corpus(path, text_col="body", outlet_col="source")


# --------------------------------------------------------------------------- command line


def test_the_measure_command_reads_an_article_table(tmp_path, capsys):
    path = write(seed_table(), tmp_path / "articles.csv")
    out = tmp_path / "out"
    code = main(["measure", str(path), "--text-col", "body", "--outlet-col", "source", "--id-col", "id",
                 "--title-col", "title", "--out", str(out), "--n-boot", "0", "--n-perm", "1", "--no-cache"])
    assert code == 0
    documents = pd.read_csv(out / "documents.csv", dtype=str, keep_default_na=False)
    assert documents["doc_id"].tolist() == ["000", "001", "002", "003", "004"]
    assert (out / "matches.csv").is_file() and (out / "provenance.json").is_file()


def test_the_measure_command_reports_a_missing_column_without_a_traceback(tmp_path, capsys):
    path = write(seed_table(), tmp_path / "articles.csv")
    code = main(["measure", str(path), "--text-col", "content", "--outlet-col", "source", "--out",
                 str(tmp_path / "out"), "--no-cache"])
    assert code == 2
    assert "available columns: ['id', 'source'" in capsys.readouterr().err
