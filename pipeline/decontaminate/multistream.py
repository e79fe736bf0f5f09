"""Wikipedia's n-grams from a multistream dump, parsed in one process per core.

English Wikipedia's ~6.8 M articles are hours of mwparserfromhell on one core. Wikimedia publishes
``*-pages-articles-multistream.xml.bz2`` with an index beside it (``*-multistream-index.txt.bz2``, lines
``offset:page_id:title``): each distinct offset starts an independent bz2 stream of about 100 whole pages;
the stream before the first offset holds the ``<mediawiki>`` start tag and ``<siteinfo>``, the one after the
last the closing ``</mediawiki>``. So the dump splits at stream boundaries into byte ranges that a worker
decompresses and parses alone, inside the dump's own ``<mediawiki>`` start tag (same namespaces).

A worker returns its articles' n-gram hashes (one flat array and each article's count), never their text:
only compact arrays cross process boundaries. The caller gets every article's n-grams in dump order, the
arrays the single-process path (``wikipedia.article_texts``) gives, so the cached reference is the same bytes
whatever the number of workers. A dump without an index beside it is read by that single-process path.

The index is checked against the dump: every offset must start a bz2 stream that ends exactly where the next
offset (or the range) does, and every stream must hold as many pages as the index lists for it.
"""

from __future__ import annotations

import bz2
import collections
import dataclasses
import multiprocessing
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import pairwise
from pathlib import Path

import numpy as np

from pipeline.decontaminate.ngrams import words_of
from pipeline.decontaminate.wikipedia import CorruptWikipediaDump, article_text, article_texts, local_name

DUMP_SUFFIX, INDEX_SUFFIX = ".xml.bz2", "-index.txt.bz2"
RANGE_BYTES = 2 << 20  # compressed bytes per task at most (~10 MB of XML): bounds a result's size
RANGES_PER_WORKER = 4  # at least this many tasks per worker, so a slow range does not idle the others
MEDIAWIKI_TAG = re.compile(rb"<mediawiki\b[^>]*>")
END_TAG = b"</mediawiki>"


@dataclasses.dataclass(frozen=True, slots=True)
class StreamIndex:
    """Where each bz2 stream of pages starts in the dump, and how many pages the index lists in it."""

    offsets: tuple[int, ...]  # increasing
    pages: tuple[int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class RangeJob:
    """Consecutive page streams of one dump, for one worker."""

    dump: Path
    index: Path  # named in errors only
    tag: bytes  # the dump's ``<mediawiki ...>`` start tag
    offsets: tuple[int, ...]  # the streams' starts
    end: int  # where the last stream ends (the file's size for the last range: the closing stream is in it)
    closes: bool  # the last range: ``</mediawiki>`` is in it
    pages: int  # pages the index lists in these streams
    n: int


@dataclasses.dataclass(frozen=True, slots=True)
class RangeNgrams:
    """The n-gram hashes of a range's articles, concatenated in dump order, and each article's count."""

    hashes: np.ndarray  # uint64
    lengths: np.ndarray  # int64, one per article with text

    def per_article(self) -> list[np.ndarray]:
        return np.split(self.hashes, np.cumsum(self.lengths)[:-1]) if len(self.lengths) else []


def index_path(dump: Path) -> Path | None:
    """The index Wikimedia publishes beside a multistream dump (``X.xml.bz2``: ``X-index.txt.bz2``), if present."""
    if not dump.name.endswith(DUMP_SUFFIX):
        return None
    index = dump.with_name(dump.name.removesuffix(DUMP_SUFFIX) + INDEX_SUFFIX)
    return index if index.is_file() else None


def read_index(index: Path, dump_size: int) -> StreamIndex:
    """The stream offsets of ``index`` (``offset:page_id:title`` lines), with their page counts."""
    offsets: list[int] = []
    pages: list[int] = []
    try:
        with bz2.open(index, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                offset_text, _, rest = line.partition(":")
                if not offset_text.isdigit() or ":" not in rest:
                    raise CorruptWikipediaDump(f"Wikipedia dump index {index}, line {number}: not offset:page_id:title")
                offset = int(offset_text)
                if offsets and offset == offsets[-1]:
                    pages[-1] += 1
                elif (offsets and offset < offsets[-1]) or offset >= dump_size:
                    raise CorruptWikipediaDump(
                        f"Wikipedia dump index {index}, line {number}: offset {offset} is out of order or past the "
                        f"dump's {dump_size} bytes"
                    )
                else:
                    offsets.append(offset)
                    pages.append(1)
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise CorruptWikipediaDump(f"Wikipedia dump index {index} is truncated or not bz2 text ({error})") from None
    if not offsets:
        raise CorruptWikipediaDump(f"Wikipedia dump index {index} lists no pages")
    return StreamIndex(tuple(offsets), tuple(pages))


def _streams(data: memoryview, where: str) -> Iterator[bytes]:
    """The decompressed bz2 streams that fill ``data`` exactly (one, where the index names every stream)."""
    while len(data):
        decompressor = bz2.BZ2Decompressor()
        try:
            xml = decompressor.decompress(data)
        except OSError as error:
            raise CorruptWikipediaDump(f"{where}: not a valid bz2 stream ({error})") from None
        if not decompressor.eof:
            raise CorruptWikipediaDump(f"{where}: a bz2 stream does not end in it (truncated, or a misplaced offset)")
        yield xml
        data = data[len(data) - len(decompressor.unused_data) :]


def _read(dump: Path, start: int, end: int, where: str) -> memoryview:
    with open(dump, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    if len(data) != end - start:
        raise CorruptWikipediaDump(f"{where}: the file ends at byte {start + len(data)}")
    return memoryview(data)


def mediawiki_tag(dump: Path, index: Path, first_offset: int) -> bytes:
    """The dump's ``<mediawiki ...>`` start tag, from the header streams before the first page stream."""
    where = f"Wikipedia dump {dump} (index {index}), header bytes 0-{first_offset}"
    header = b"".join(_streams(_read(dump, 0, first_offset, where), where))
    tag = MEDIAWIKI_TAG.search(header)
    if tag is None or b"<page>" in header:
        raise CorruptWikipediaDump(f"{where}: not a <mediawiki> header without pages (does the index match?)")
    return tag.group()


def range_jobs(dump: Path, index: Path, n: int, workers: int) -> list[RangeJob]:
    """The dump's page streams in consecutive ranges of about equal bytes: ``RANGES_PER_WORKER`` per worker at
    least, ``RANGE_BYTES`` each at most."""
    size = dump.stat().st_size
    streams = read_index(index, size)
    tag = mediawiki_tag(dump, index, streams.offsets[0])
    offsets, body = streams.offsets, size - streams.offsets[0]
    count = min(len(offsets), max(workers * RANGES_PER_WORKER, -(-body // RANGE_BYTES)))
    targets = [offsets[0] + body * part // count for part in range(1, count)]
    cuts = sorted({0, len(offsets), *np.searchsorted(offsets, targets).tolist()})
    jobs = []
    for first, stop in pairwise(cuts):
        closes = stop == len(offsets)
        end = size if closes else offsets[stop]
        jobs.append(RangeJob(dump, index, tag, offsets[first:stop], end, closes, sum(streams.pages[first:stop]), n))
    return jobs


def _forget(root: ElementTree.Element, page: ElementTree.Element) -> None:
    """Drop a parsed page from the tree, so memory holds one page, not the range."""
    if len(root) and root[-1] is page:
        del root[-1]
    else:  # a page nested deeper than the dump's pages are
        page.clear()


def range_ngrams(job: RangeJob) -> RangeNgrams:
    """Decompress and parse one range's streams (a worker's task): its articles' n-grams, in dump order."""
    where = f"Wikipedia dump {job.dump} (index {job.index}), bytes {job.offsets[0]}-{job.end}"
    base, data = job.offsets[0], _read(job.dump, job.offsets[0], job.end, where)
    parser = ElementTree.XMLPullParser(events=("start", "end"))
    parser.feed(job.tag)
    root, pages, arrays = None, 0, []
    try:
        for start, stop in pairwise([*job.offsets, job.end]):
            stream = f"Wikipedia dump {job.dump} (index {job.index}), the stream at bytes {start}-{stop}"
            for xml in _streams(data[start - base : stop - base], stream):
                parser.feed(xml)
                for event, element in parser.read_events():
                    if root is None:
                        root = element
                    elif event == "end" and local_name(element.tag) == "page":
                        pages += 1
                        if text := article_text(element):
                            arrays.append(words_of(text).ngrams(job.n))
                        _forget(root, element)
        if not job.closes:
            parser.feed(END_TAG)  # the dump's own closing tag is in the last range
        parser.close()
    except ElementTree.ParseError as error:
        raise CorruptWikipediaDump(f"{where}: not MediaWiki XML pages, or truncated ({error})") from None
    if pages != job.pages:
        raise CorruptWikipediaDump(f"{where}: {pages} pages, but the index lists {job.pages} (index does not match)")
    lengths = np.array([len(array) for array in arrays], dtype=np.int64)
    return RangeNgrams(np.concatenate([np.empty(0, np.uint64), *arrays]), lengths)


def _in_order(jobs: Sequence[RangeJob], workers: int) -> Iterator[RangeNgrams]:
    """``range_ngrams`` of every job, in job order: in ``workers`` spawned processes, at most two tasks per worker
    ahead of the consumer (results wait in memory until their turn)."""
    if workers <= 1 or len(jobs) <= 1:
        yield from map(range_ngrams, jobs)
        return
    context = multiprocessing.get_context("spawn")  # never a fork of a threaded parent (Prefect, Arrow)
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
        pending: collections.deque[Future[RangeNgrams]] = collections.deque()
        try:
            for job in jobs:
                pending.append(pool.submit(range_ngrams, job))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool as error:
            raise RuntimeError(f"a worker parsing Wikipedia dump {jobs[0].dump} died ({error})") from error
        finally:
            for future in pending:
                future.cancel()


def dump_ngrams(dump: Path, n: int, workers: int) -> Iterator[np.ndarray]:
    """The n-gram hashes of every article in ``dump``, one array per article in dump order: from ``workers``
    processes when a multistream index is beside it, else from one streaming pass."""
    index = index_path(dump)
    if index is None:
        for text in article_texts(dump):
            yield words_of(text).ngrams(n)
        return
    for result in _in_order(range_jobs(dump, index, n, workers), workers):
        yield from result.per_article()


def write_multistream(dump: Path, header: str, pages: Sequence[tuple[int, str, str]], per_stream: int = 100) -> Path:
    """Write ``dump`` and its index as Wikimedia does: a stream of ``header`` (the ``<mediawiki>`` start tag and
    ``<siteinfo>``), streams of ``per_stream`` pages (``(page_id, title, page XML)``), a closing stream. Returns the
    index's path. No real dump can be downloaded where the tests and the bench run: they build theirs with it."""
    assert dump.name.endswith(DUMP_SUFFIX), f"a multistream dump is named *{DUMP_SUFFIX}, got {dump.name}"
    index_lines = []
    with open(dump, "wb") as out:
        out.write(bz2.compress(header.encode("utf-8")))
        for first in range(0, len(pages), per_stream):
            offset = out.tell()
            stream = pages[first : first + per_stream]
            out.write(bz2.compress("".join(xml for _, _, xml in stream).encode("utf-8")))
            index_lines += [f"{offset}:{page_id}:{title}\n" for page_id, title, _ in stream]
        out.write(bz2.compress(b"</mediawiki>\n"))
    index = dump.with_name(dump.name.removesuffix(DUMP_SUFFIX) + INDEX_SUFFIX)
    index.write_bytes(bz2.compress("".join(index_lines).encode("utf-8")))
    return index
