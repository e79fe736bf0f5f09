"""trafilatura and resiliparse: the same keep/drop decisions and fields on the sample; switching redoes shards."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.extract.config import BACKENDS, ExtractConfig
from pipeline.extract.html_text import ExtractedPage, extract_page
from pipeline.extract.stage import run_extract
from pipeline.sample.web import Route
from pipeline.shards import complete_shards

TOKEN = re.compile(r"\w+")


def documents(out_dir: Path) -> dict[str, dict]:
    return {row["url"]: row for shard in complete_shards(out_dir) for row in pq.read_table(shard).to_pylist()}


def word_jaccard(first: str, second: str) -> float:
    words_a, words_b = set(TOKEN.findall(first.lower())), set(TOKEN.findall(second.lower()))
    return len(words_a & words_b) / len(words_a | words_b)


def test_both_backends_keep_and_drop_the_same_sample_pages(sample_fetch_dir: Path, tmp_path: Path) -> None:
    summaries = {
        backend: run_extract(sample_fetch_dir, tmp_path / backend, ExtractConfig(backend=backend, workers=2))
        for backend in BACKENDS
    }
    assert {backend: summary.outcomes for backend, summary in summaries.items()} == {
        backend: {"not_text": 2, "too_short": 3, "tdm_reserved": 2, "robots_noai": 1} for backend in BACKENDS
    }
    kept = {backend: documents(tmp_path / backend) for backend in BACKENDS}
    assert kept["trafilatura"].keys() == kept["resiliparse"].keys() and len(kept["trafilatura"]) == 36
    pairs = [(kept["trafilatura"][url], kept["resiliparse"][url]) for url in kept["trafilatura"]]
    jaccards = [word_jaccard(first["text"], second["text"]) for first, second in pairs]
    assert sum(jaccards) / len(jaccards) > 0.9  # 0.933 measured: resiliparse keeps a little more boilerplate
    assert all(first["title"] == second["title"] for first, second in pairs)
    assert all("\n\n" in second["text"] for _, second in pairs if second["text"].count(" ") > 100)


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_gives_title_date_and_paragraphs(routes: list[Route], backend: str) -> None:
    news = next(route for route in routes if route.role == "article")
    rules = ExtractConfig(backend=backend).page_rules()
    page = extract_page(news.body or b"", news.content_type, "utf-8", news.url, rules)
    assert isinstance(page, ExtractedPage)
    assert (page.title, page.published) == ("The Bees on the Fourth Floor", "2019-01-03")
    paragraphs = page.text.split("\n\n")
    assert paragraphs[0] == page.title and len(paragraphs) >= 6
    assert all(paragraph == paragraph.strip() and "\n\n" not in paragraph for paragraph in paragraphs)


def test_switching_the_backend_redoes_every_shard(sample_fetch_dir: Path, tmp_path: Path) -> None:
    run_extract(sample_fetch_dir, tmp_path, ExtractConfig(workers=2))
    switched = run_extract(sample_fetch_dir, tmp_path, ExtractConfig(backend="resiliparse", workers=2))
    assert (switched.units_done, switched.units_skipped) == (2, 0)
    again = run_extract(sample_fetch_dir, tmp_path, ExtractConfig(backend="resiliparse", workers=1))
    assert (again.units_done, again.units_skipped) == (0, 2)
