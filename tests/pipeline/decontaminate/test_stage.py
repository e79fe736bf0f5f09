"""The decontaminate stage on planted cases: Wikipedia pages, eval passages inside original text, the piece and
frequency rules, Wikipedia text from a dump, bad input and resume after a crash."""

from __future__ import annotations

import bz2
import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from dedup_fixtures import make_document, random_words, write_docs
from sigkill import run_killed_while_writing

from pipeline.decontaminate import stage
from pipeline.decontaminate.config import DecontaminateConfig
from pipeline.decontaminate.evalsets import EvalSet
from pipeline.decontaminate.overlap import hits_file, overlap_report
from pipeline.decontaminate.stage import run_decontaminate
from pipeline.decontaminate.wikipedia import CorruptWikipediaDump
from pipeline.shards import complete_shards, file_sha256, read_stats

RNG = random.Random(7)
PASSAGE = " ".join(random_words(RNG, 40))  # an evaluation example no web page would write by chance
CFG = DecontaminateConfig(workers=1)


def prose(words: int, seed: int) -> str:
    return " ".join(random_words(random.Random(seed), words)) + "."


def eval_set(tmp_path: Path, texts: list[str], name: str = "lambada") -> EvalSet:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    return EvalSet.parse(f"{name}={path}")


def documents(directory: Path) -> dict[str, dict]:
    return {row["title"]: row for shard in complete_shards(directory) for row in pq.read_table(shard).to_pylist()}


def test_wikipedia_pages_are_dropped_by_url_and_final_url(tmp_path: Path) -> None:
    pages = [
        dataclasses.replace(make_document("en", prose(300, 1)), url="https://en.wikipedia.org/wiki/Harbour"),
        dataclasses.replace(make_document("mobile", prose(300, 2)), url="https://de.m.wikipedia.org/wiki/Hafen"),
        dataclasses.replace(make_document("moved", prose(300, 3)), final_url="https://fr.wikipedia.org/wiki/Port"),
        dataclasses.replace(make_document("mirror", prose(300, 4)), url="https://www.wikiwand.com/en/Harbour"),
        make_document("blog", prose(300, 5)),
    ]
    write_docs(tmp_path / "docs", [pages])
    summary = run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG)
    assert summary.outcomes == {"wikipedia_domain": 4} and list(documents(tmp_path / "out")) == ["blog"]
    rejected = documents(tmp_path / "out" / "rejected" / "decontaminate" / "wikipedia_domain")
    assert set(rejected) == {"en", "mobile", "moved", "mirror"}


def test_an_eval_passage_is_cut_from_original_text_and_the_rest_survives(tmp_path: Path) -> None:
    head, tail = prose(200, 10), prose(200, 11)
    quoting = make_document("quoting", f"{head}\n\nAs the story goes: {PASSAGE.upper()}!\n\n{tail}")
    write_docs(tmp_path / "docs", [[quoting, make_document("clean", prose(300, 12))]])
    lambada = eval_set(tmp_path, [PASSAGE, prose(50, 13)])
    summary = run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG, eval_sets=[lambada])
    assert summary.counts["trimmed"] == 1 and summary.outcomes == {} and summary.counts["kept"] == 2
    kept = documents(tmp_path / "out")
    original = quoting.text
    start = original.index(PASSAGE.upper())
    end = start + len(PASSAGE)
    assert kept["quoting"]["text"] == original[: start - 200] + "\n\n" + original[end + 200 :]
    assert kept["clean"]["text"] == documents(tmp_path / "docs")["clean"]["text"]
    assert kept["clean"]["overlap_score"] == 0
    assert kept["quoting"]["overlap_score"] == pytest.approx((end - start + 400) / len(original), rel=1e-6)
    (span,) = pq.read_table(next((tmp_path / "out/rejected/decontaminate/removed_span").glob("*.parquet"))).to_pylist()
    assert (span["start"], span["end"], span["references"]) == (start - 200, end + 200, ["lambada"])
    assert summary.details["per_reference"] == {
        "lambada": {"trimmed": 1, "dropped": 0, "chars_removed": end - start + 400}
    }
    assert summary.details["overlap_before"]["eval_sets"][0]["found"] > 0
    assert summary.details["overlap_after"]["eval_sets"][0]["found"] == 0


def test_the_overlap_reports_are_fed_by_the_stage_and_match_reports_computed_from_scratch(tmp_path: Path) -> None:
    # 8-grams of the eval set sit in a page kept as it is, in a page trimmed for a 13-gram, in a page masked around
    # an address, and in a Wikipedia page (in the input's report only).
    shared = " ".join(random_words(random.Random(70), 10))  # 3 eight-grams, no 13-gram
    address = "please write to jane.doe@example.com for the full programme"
    pages = [
        make_document("kept", f"{prose(150, 71)} {shared} {prose(150, 72)}"),
        make_document("trimmed", f"{prose(150, 73)} {PASSAGE} {prose(100, 74)} {shared} {prose(150, 75)}"),
        make_document("masked", f"{prose(150, 76)} {address} {prose(150, 77)}"),
        dataclasses.replace(make_document("wiki", f"{shared} {prose(200, 78)}"), url="https://en.wikipedia.org/"),
    ]
    write_docs(tmp_path / "docs", [pages[:2], pages[2:]])
    lambada = eval_set(tmp_path, [PASSAGE, shared, address])
    summary = run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG, eval_sets=[lambada])
    reports = tmp_path / "out" / "_reports"
    assert summary.details["overlap_before"]["shards_computed"] == 0  # both fed while the stage read the text
    assert summary.details["overlap_after"]["shards_computed"] == 0
    for moment, corpus in (("before", tmp_path / "docs"), ("after", tmp_path / "out")):
        fresh = overlap_report(corpus, [lambada], tmp_path / moment)
        assert fresh["shards_computed"] == 2 and fresh["eval_sets"] == summary.details[f"overlap_{moment}"]["eval_sets"]
        for shard in complete_shards(corpus):
            assert saved_hits(reports / moment, shard) == saved_hits(tmp_path / moment, shard)
    before, after = (summary.details[f"overlap_{moment}"]["eval_sets"][0] for moment in ("before", "after"))
    assert before["ngrams"] == after["ngrams"] and before["found"] > after["found"] > 0


def saved_hits(report_dir: Path, shard: Path) -> tuple[list[int], list[int]]:
    with np.load(hits_file(report_dir, shard.name)) as saved:
        return saved["positions"].tolist(), saved["hashes"].tolist()


def test_a_document_in_too_many_pieces_or_with_nothing_left_is_dropped(tmp_path: Path) -> None:
    passages = [" ".join(random_words(random.Random(100 + i), 14)) for i in range(12)]
    riddled = make_document("riddled", " ".join(f"{prose(60, 20 + i)} {p}" for i, p in enumerate(passages)))
    whole = make_document("whole", passages[0] + " " + passages[1])
    write_docs(tmp_path / "docs", [[riddled, whole, make_document("clean", prose(300, 40))]])
    rules = DecontaminateConfig(workers=1, margin_chars=10, min_piece_chars=20)
    summary = run_decontaminate(tmp_path / "docs", tmp_path / "out", rules, eval_sets=[eval_set(tmp_path, passages)])
    assert summary.outcomes == {"contaminated": 2} and list(documents(tmp_path / "out")) == ["clean"]
    assert summary.details["per_reference"]["lambada"]["dropped"] == 2


def test_an_ngram_in_more_than_the_cutoff_documents_is_boilerplate(tmp_path: Path) -> None:
    boiler = " ".join(random_words(random.Random(50), 20))
    pages = [make_document(f"p{i}", f"{prose(120, 60 + i)} {boiler} {prose(120, 80 + i)}") for i in range(11)]
    write_docs(tmp_path / "docs", [pages[:6], pages[6:]])
    lambada = eval_set(tmp_path, [boiler])
    common = run_decontaminate(tmp_path / "docs", tmp_path / "common", CFG, eval_sets=[lambada])
    assert common.counts["trimmed"] == 0  # in 11 documents: more than the cut-off of 10
    rare = run_decontaminate(tmp_path / "docs", tmp_path / "rare", dataclasses.replace(CFG, max_ngram_documents=11))
    assert rare.counts["trimmed"] == 0  # no eval set given: nothing to match
    cut = run_decontaminate(
        tmp_path / "docs", tmp_path / "rare", dataclasses.replace(CFG, max_ngram_documents=11), eval_sets=[lambada]
    )
    assert cut.counts["trimmed"] == 11


def write_wikipedia_dump(path: Path, articles: dict[str, str], truncate: bool = False) -> Path:
    pages = "".join(
        f"<page><title>{title}</title><ns>0</ns><revision><text>{text}</text></revision></page>"
        for title, text in articles.items()
    )
    redirect = (
        "<page><title>R</title><ns>0</ns><redirect title='X'/><revision><text>#REDIRECT [[X]]</text></revision></page>"
    )
    talk = f"<page><title>Talk:Y</title><ns>1</ns><revision><text>{PASSAGE}</text></revision></page>"
    xml = f'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">{pages}{redirect}{talk}</mediawiki>'
    data = bz2.compress(xml.encode("utf-8"))
    path.write_bytes(data[: len(data) // 2] if truncate else data)
    return path


def test_wikipedia_text_from_a_dump_is_cut_like_an_eval_set(tmp_path: Path) -> None:
    article = prose(250, 90)
    wikitext = "'''Harbour''' is a [[port|sheltered]] place.\n\n" + article
    dump = write_wikipedia_dump(tmp_path / "enwiki-pages-articles.xml.bz2", {"Harbour": wikitext})
    copy = make_document("copy", article)  # the whole article, on another site
    paragraph = make_document("paragraph", f"{prose(150, 91)} {article[:600]} {prose(150, 92)}")
    talk_quote = make_document("talk", f"{prose(150, 93)} {PASSAGE} {prose(150, 94)}")  # talk pages do not count
    write_docs(tmp_path / "docs", [[copy, paragraph, talk_quote]])
    summary = run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG, wikipedia_dumps=[dump])
    assert summary.outcomes == {"contaminated": 1} and summary.counts["trimmed"] == 1
    assert set(documents(tmp_path / "out")) == {"paragraph", "talk"}
    # markup stripped: "Harbour is a sheltered place." (5 words, the link shown by its label) + the article
    assert summary.details["references"]["wikipedia"] == 5 + len(article.split()) - 13 + 1


def test_bad_input_is_named_and_nothing_is_half_written(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", [[make_document("a", prose(300, 1))]])
    truncated = write_wikipedia_dump(tmp_path / "cut.xml.bz2", {"A": prose(300, 2)}, truncate=True)
    with pytest.raises(CorruptWikipediaDump, match="cut.xml.bz2"):
        run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG, wikipedia_dumps=[truncated])
    assert complete_shards(tmp_path / "out") == []
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.txt"):
        run_decontaminate(tmp_path / "docs", tmp_path / "out2", CFG, eval_sets=[EvalSet.parse(f"e={empty}")])
    assert not (tmp_path / "out2").exists()


def test_a_run_killed_mid_stage_resumes_to_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    quoting = [make_document(f"d{i}", f"{prose(100, i)} {PASSAGE} {prose(100, 99)}") for i in range(3)]
    write_docs(tmp_path / "docs", [quoting, [make_document("e", prose(200, 5))]])
    lambada = eval_set(tmp_path, [PASSAGE])
    run_decontaminate(tmp_path / "docs", tmp_path / "clean", CFG, eval_sets=[lambada])
    real = stage.decontaminate_shard

    def dies_on_the_second(docs_shard: Path, *args: object) -> object:
        if docs_shard.name == "part-00001.parquet":
            raise KeyboardInterrupt
        return real(docs_shard, *args)

    monkeypatch.setattr(stage, "decontaminate_shard", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        run_decontaminate(tmp_path / "docs", tmp_path / "crashed", CFG, eval_sets=[lambada])
    monkeypatch.setattr(stage, "decontaminate_shard", real)
    resumed = run_decontaminate(tmp_path / "docs", tmp_path / "crashed", CFG, eval_sets=[lambada])
    assert resumed.units_skipped == 1 and resumed.units_done == 1
    for shard in complete_shards(tmp_path / "clean"):
        assert file_sha256(shard) == file_sha256(tmp_path / "crashed" / shard.name)


def test_a_run_sigkilled_while_writing_a_shard_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    quoting = [make_document(f"d{i}", f"{prose(100, i)} {PASSAGE} {prose(100, 99)}") for i in range(3)]
    write_docs(tmp_path / "docs", [quoting, [make_document("e", prose(200, 5))]])
    lambada = eval_set(tmp_path, [PASSAGE])
    run_decontaminate(tmp_path / "docs", tmp_path / "clean", CFG, eval_sets=[lambada])
    killed = tmp_path / "killed"
    setup = (
        "from pipeline.decontaminate.config import DecontaminateConfig; "
        "from pipeline.decontaminate.evalsets import EvalSet; "
        "from pipeline.decontaminate.stage import run_decontaminate; "
    )
    spec, docs = f"lambada={tmp_path / 'lambada.jsonl'}", str(tmp_path / "docs")
    call = (
        f"run_decontaminate(Path({docs!r}), Path({str(killed)!r}), DecontaminateConfig(workers=1), "
        f"eval_sets=[EvalSet.parse({spec!r})])"
    )
    run_killed_while_writing("pipeline.decontaminate.stage", killed / "part-00001.parquet", setup + call)
    assert (killed / "part-00000.parquet").is_file() and list(killed.glob(".part-00001.parquet.*.tmp"))
    resumed = run_decontaminate(tmp_path / "docs", killed, CFG, eval_sets=[lambada])
    assert resumed.units_skipped == 1 and resumed.units_done == 1
    for shard in complete_shards(tmp_path / "clean"):
        assert file_sha256(shard) == file_sha256(killed / shard.name)
    assert not list(killed.rglob(".*.tmp"))


def test_two_workers_write_the_same_bytes_as_one(tmp_path: Path) -> None:
    shards = [[make_document(f"s{s}d{i}", f"{prose(100, 10 * s + i)} {PASSAGE}") for i in range(2)] for s in range(3)]
    write_docs(tmp_path / "docs", shards)
    lambada = eval_set(tmp_path, [PASSAGE])
    one = run_decontaminate(tmp_path / "docs", tmp_path / "one", CFG, eval_sets=[lambada])
    two = run_decontaminate(tmp_path / "docs", tmp_path / "two", DecontaminateConfig(workers=2), eval_sets=[lambada])
    assert one.counts == two.counts and one.counts["trimmed"] == 6
    for shard in complete_shards(tmp_path / "one"):
        assert file_sha256(shard) == file_sha256(tmp_path / "two" / shard.name)


def test_an_edit_of_the_decontaminate_code_redoes_both_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_docs(
        tmp_path / "docs", [[make_document("d", f"{prose(100, 1)} {PASSAGE}")], [make_document("e", prose(9, 2))]]
    )
    lambada = eval_set(tmp_path, [PASSAGE])
    first = run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG, eval_sets=[lambada])
    counted = {shard.name: read_stats(shard)["fingerprint"] for shard in complete_shards(tmp_path / "out" / "_counts")}
    monkeypatch.setattr(stage, "code_fingerprint", lambda *packages: "edited")
    again = run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG, eval_sets=[lambada])
    assert again.units_done == 2 and again.details["code_fingerprint"] == "edited" != first.details["code_fingerprint"]
    recounted = {
        shard.name: read_stats(shard)["fingerprint"] for shard in complete_shards(tmp_path / "out" / "_counts")
    }
    assert recounted.keys() == counted.keys() and not set(recounted.values()) & set(counted.values())
    assert again.counts == first.counts
    assert run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG, eval_sets=[lambada]).units_skipped == 2


def test_personal_data_is_masked_after_the_overlaps_were_found_in_the_original_text(tmp_path: Path) -> None:
    words = random_words(random.Random(34), 12)  # an eval example whose every 13-gram holds part of an address:
    quoted = f"{' '.join(words[:6])} write to jane.doe@example.com {' '.join(words[6:])}"  # masked, none would match
    head, tail = prose(200, 30), prose(200, 31)
    quoting = make_document("quoting", f"Call +44 20 7946 0958. {head}\n\n{quoted}\n\n{tail} Mail bob@example.org.")
    plain = make_document("plain", f"{prose(300, 32)} Server 81.2.69.142, router 192.168.1.1.")
    wiki = dataclasses.replace(
        make_document("wiki", f"{prose(300, 33)} ann@example.net"), url="https://en.wikipedia.org/"
    )
    write_docs(tmp_path / "docs", [[quoting, plain, wiki]])
    summary = run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG, eval_sets=[eval_set(tmp_path, [quoted])])
    assert summary.counts["trimmed"] == 1  # the quote was matched with its address in it, then cut
    assert (summary.counts["pii_email"], summary.counts["pii_phone"], summary.counts["pii_ip"]) == (1, 1, 1)
    kept = documents(tmp_path / "out")
    assert kept["quoting"]["text"].endswith("Mail <EMAIL_ADDRESS>.") and "<PHONE_NUMBER>" in kept["quoting"]["text"]
    assert kept["plain"]["text"].endswith("Server <IP_ADDRESS>, router 192.168.1.1.")
    assert "jane.doe" not in kept["quoting"]["text"] and "@" not in kept["quoting"]["text"]
    assert summary.config["mask_pii"] is True
    rejected = documents(tmp_path / "out" / "rejected" / "decontaminate" / "wikipedia_domain")
    assert rejected["wiki"]["text"] == wiki.text  # rejects keep the original


def test_masking_switched_off_keeps_the_text_warns_and_redoes_every_shard(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = f"{prose(300, 40)} Write to jane.doe@example.com."
    write_docs(tmp_path / "docs", [[make_document("a", text)], [make_document("b", prose(300, 41))]])
    masked = run_decontaminate(tmp_path / "docs", tmp_path / "out", CFG)
    assert masked.counts["pii_email"] == 1 and "WARNING" not in caplog.text
    with caplog.at_level("WARNING", logger="pipeline.decontaminate.stage"):
        off = run_decontaminate(tmp_path / "docs", tmp_path / "out", dataclasses.replace(CFG, mask_pii=False))
    assert "mask_pii is off" in caplog.text and str(tmp_path / "out") in caplog.text
    assert off.units_done == 2 and off.config["mask_pii"] is False  # the setting is part of every shard's key
    assert not any(name.startswith("pii_") for name in off.counts)  # not counted: zeros would say there is none
    assert documents(tmp_path / "out")["a"]["text"] == text
