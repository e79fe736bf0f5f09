"""A multistream Wikipedia dump parsed by two worker processes against the single-process parser on the same
file: the same articles' n-grams and the same cached reference bytes; a corrupt stream, a truncated dump and an
index that does not match are errors naming them, and leave no reference marked complete."""

from __future__ import annotations

import bz2
import random
import shutil
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from dedup_fixtures import random_words

from pipeline.decontaminate import references
from pipeline.decontaminate.multistream import dump_ngrams, index_path, range_jobs, write_multistream
from pipeline.decontaminate.ngrams import words_of
from pipeline.decontaminate.references import COMPLETE, wikipedia_ngrams
from pipeline.decontaminate.wikipedia import CorruptWikipediaDump, article_texts

HEADER = (
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">\n'
    "  <siteinfo><sitename>Wikipedia</sitename><dbname>enwiki</dbname></siteinfo>\n"
)
PAGES, PER_STREAM = 64, 5  # 13 page streams


def wikitext(rng: random.Random, title: str) -> str:
    """An article as editors write it: bold title, a template, links, a reference, a table, sections."""

    def words(count: int) -> str:
        return " ".join(random_words(rng, count))

    return (
        f"{{{{Infobox place|name={title}|population={rng.randint(100, 9999)}}}}}\n"
        f"'''{title}''' is a [[{words(1)}|{words(2)}]] {words(40)}.<ref>{{{{cite web|title={words(3)}}}}}</ref>\n\n"
        f"== {words(2)} ==\n{words(60)} [[Category:{words(1)}]]\n"
        f'{{| class="wikitable"\n! {words(1)} !! {words(1)}\n|-\n| {words(3)} || {rng.randint(1, 99)}\n|}}\n'
        f"{words(rng.randint(0, 80))} &amp; {words(5)}."
    )


def page_xml(page_id: int, title: str, namespace: int, text: str, redirect: str | None = None) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    redirect_tag = f'<redirect title="{redirect}" />' if redirect else ""
    return (
        f"  <page>\n    <title>{title}</title>\n    <ns>{namespace}</ns>\n    <id>{page_id}</id>\n    {redirect_tag}"
        f'<revision><id>{page_id * 10}</id><text bytes="{len(text)}" xml:space="preserve">{escaped}</text>'
        "</revision>\n  </page>\n"
    )


def make_dump(directory: Path, seed: int = 5) -> tuple[Path, Path]:
    """A multistream dump of articles, redirects, talk and category pages, short stubs; and its index."""
    rng = random.Random(seed)
    pages = []
    for page_id in range(1, PAGES + 1):
        title = f"Place {page_id}"
        if page_id % 9 == 0:
            xml = page_xml(page_id, title, 0, f"#REDIRECT [[Place {page_id - 1}]]", redirect=f"Place {page_id - 1}")
        elif page_id % 7 == 0:
            xml = page_xml(page_id, f"Talk:{title}", 1, wikitext(rng, title))
        elif page_id % 11 == 0:
            xml = page_xml(page_id, title, 0, "'''Stub''' [[x]]")  # an article under 13 words: no n-gram
        else:
            xml = page_xml(page_id, title, 0, wikitext(rng, title))
        pages.append((page_id, title, xml))
    dump = directory / "enwiki-20240601-pages-articles-multistream.xml.bz2"
    directory.mkdir(parents=True, exist_ok=True)
    return dump, write_multistream(dump, HEADER, pages, per_stream=PER_STREAM)


def serial_ngrams(dump: Path) -> list[np.ndarray]:
    return [words_of(text).ngrams(13) for text in article_texts(dump)]


def test_two_workers_give_the_single_process_articles_in_order(tmp_path: Path) -> None:
    dump, index = make_dump(tmp_path)
    assert index_path(dump) == index
    jobs = range_jobs(dump, index, 13, workers=2)
    assert len(jobs) > 2 and sum(job.pages for job in jobs) == PAGES and [job.closes for job in jobs].count(True) == 1
    assert all(job.end == after.offsets[0] for job, after in pairwise(jobs)) and jobs[-1].closes
    expected = serial_ngrams(dump)  # bz2.open reads the streams one after the other, the index unused
    assert len(expected) == len([i for i in range(1, PAGES + 1) if i % 9 and i % 7])  # redirects, talk out
    parallel = list(dump_ngrams(dump, 13, workers=2))
    assert len(parallel) == len(expected)
    assert all(np.array_equal(got, want) for got, want in zip(parallel, expected, strict=True))
    assert sum(len(ngrams) == 0 for ngrams in parallel) == 5  # the stubs (ids 11 to 55): no n-gram, in place


def test_the_cached_reference_is_the_same_bytes_with_and_without_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump, index = make_dump(tmp_path / "dumps")
    monkeypatch.setattr(references, "CHUNK_NGRAMS", 2_000)  # several chunks, cut after the same articles
    parallel = wikipedia_ngrams([dump], 13, tmp_path / "parallel", workers=2)
    index.rename(tmp_path / "index-elsewhere.txt.bz2")  # no index: the single-process path
    serial = wikipedia_ngrams([dump], 13, tmp_path / "serial", workers=2)
    assert len(parallel.chunks) == len(serial.chunks) > 2 and parallel.ngrams == serial.ngrams
    for ours, theirs in zip(parallel.chunks, serial.chunks, strict=True):
        assert ours.read_bytes() == theirs.read_bytes()
    assert np.array_equal(parallel.load(), serial.load())


def corrupt_stream(dump: Path, index: Path, stream: int) -> int:
    """Flip bytes inside the ``stream``-th page stream; returns its offset."""
    offsets = sorted({int(line.split(":", 1)[0]) for line in bz2.decompress(index.read_bytes()).decode().splitlines()})
    data = bytearray(dump.read_bytes())
    middle = (offsets[stream] + offsets[stream + 1]) // 2
    data[middle : middle + 8] = bytes(byte ^ 0xFF for byte in data[middle : middle + 8])
    dump.write_bytes(bytes(data))
    return offsets[stream]


def test_a_corrupt_stream_is_named_and_no_reference_is_marked_complete(tmp_path: Path) -> None:
    dump, index = make_dump(tmp_path / "dumps")
    good = dump.read_bytes()
    offset = corrupt_stream(dump, index, stream=6)
    with pytest.raises(CorruptWikipediaDump, match=rf"{dump.name} .*bytes {offset}-"):
        wikipedia_ngrams([dump], 13, tmp_path / "cache", workers=2)
    assert not list((tmp_path / "cache").glob(f"*/{COMPLETE}"))
    dump.write_bytes(good)  # fixed: the next run replaces the half-written build
    rebuilt = wikipedia_ngrams([dump], 13, tmp_path / "cache", workers=2)
    assert [path.parent for path in (tmp_path / "cache").glob(f"*/{COMPLETE}")] == [rebuilt.chunks[0].parent]
    assert len(list((tmp_path / "cache").iterdir())) == 1


def test_a_truncated_multistream_dump_is_named(tmp_path: Path) -> None:
    dump, _ = make_dump(tmp_path)
    dump.write_bytes(dump.read_bytes()[:-20])  # the closing stream cut short
    with pytest.raises(CorruptWikipediaDump, match=f"{dump.name}.*does not end"):
        list(dump_ngrams(dump, 13, workers=2))


def rewrite_index(index: Path, edit: Callable[[list[str]], list[str]]) -> None:
    lines = bz2.decompress(index.read_bytes()).decode().splitlines(keepends=True)
    index.write_bytes(bz2.compress("".join(edit(lines)).encode()))


def shifted(line: str) -> str:
    offset, rest = line.split(":", 1)
    return f"{int(offset) + 1}:{rest}"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: [*lines[:30], *map(shifted, lines[30:35]), *lines[35:]], "a bz2 stream does not end in it"),
        (lambda lines: lines[:32] + lines[33:], r"\d+ pages, but the index lists \d+"),  # a page left out
        (lambda lines: [*lines[:10], "999999999:1:Far\n"], "past the dump's"),
        (lambda lines: [*lines[:10], "not an index line\n"], "line 11: not offset:page_id:title"),
        (lambda lines: [f"0:{x.split(':', 1)[1]}" for x in lines], "not a <mediawiki> header"),
    ],
)
def test_an_index_that_does_not_match_the_dump_is_named(
    tmp_path: Path, edit: Callable[[list[str]], list[str]], message: str
) -> None:
    dump, index = make_dump(tmp_path)
    rewrite_index(index, edit)
    with pytest.raises(CorruptWikipediaDump, match=message) as raised:
        list(dump_ngrams(dump, 13, workers=1))
    assert index.name in str(raised.value)


def test_a_dump_without_its_index_is_read_by_one_process(tmp_path: Path) -> None:
    dump, _ = make_dump(tmp_path / "a")
    plain = tmp_path / "b" / "enwiki-pages-articles.xml.bz2"  # not multistream by name: no index looked for
    plain.parent.mkdir()
    shutil.copy(dump, plain)
    assert index_path(plain) is None
    assert all(np.array_equal(a, b) for a, b in zip(dump_ngrams(plain, 13, 2), serial_ngrams(dump), strict=True))
