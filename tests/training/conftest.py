"""The training tests' shared pieces: tokens folders made by the real tokenize stage from the bundled sample's
texts (once per session), and one local Ray for every test that trains through Ray Train (it takes seconds to
start). Tests that do not ask for ``ray_cluster`` never start Ray."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.records import Document, document_id, to_table
from pipeline.sample.corpus import ARTICLES
from pipeline.services.ray_token import enable_ray_token
from pipeline.shards import write_shard
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.stage import run_tokenize

RAY_CPUS = 4  # two 1-CPU training workers, with room for a restarted group while the old one is torn down


def make_document(name: str, text: str) -> Document:
    url = f"https://example.org/{name}"
    when = datetime(2019, 2, 1, tzinfo=UTC)
    return Document(id=document_id(url), url=url, domain="example.org", title=name, text=text, karma=5, fetched_at=when)


def tokenize_texts(root: Path, texts: dict[str, str], shards: int = 2) -> Path:
    """``root/tokens``: ``texts`` (name → text) as ``shards`` documents shards, tokenized by the tokenize stage with
    a 512-id BPE trained on them, a tenth of the documents held out."""
    documents = [make_document(name, text) for name, text in sorted(texts.items())]
    docs_dir = root / "docs"
    for number in range(shards):
        table = to_table(documents[number::shards], Document)
        write_shard(table, docs_dir / f"part-{number:05d}.parquet", shard_fingerprint="test")
    config = TokenizeConfig(tokenizer="bpe", vocab_size=512, val_fraction=0.1, workers=1)
    run_tokenize(docs_dir, root / "tokens", config)
    return root / "tokens"


@pytest.fixture(scope="session")
def sample_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every article of the bundled sample (about 24,000 training tokens, 1,700 validation tokens)."""
    texts = {article.slug: "\n\n".join(article.paragraphs) for article in ARTICLES if article.paragraphs}
    return tokenize_texts(tmp_path_factory.mktemp("sample-tokens"), texts)


@pytest.fixture(scope="session")
def small_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few paragraphs: some windows of 65 tokens, but fewer than one batch of 8."""
    english = [article for article in ARTICLES if article.language == "en" and article.kind == "article"]
    texts = {article.slug: article.paragraphs[0] for article in english[:2]}
    return tokenize_texts(tmp_path_factory.mktemp("small-tokens"), texts, shards=1)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[dict[str, Any]]:
    """One local Ray for the session (``run_training`` reuses an initialised Ray and leaves it running)."""
    import ray

    enable_ray_token(create=True)  # as run_training does: token authentication on
    ray.init(
        address="local", include_dashboard=False, num_cpus=RAY_CPUS, logging_config=ray.LoggingConfig(log_level="ERROR")
    )
    try:
        yield ray.cluster_resources()
    finally:
        ray.shutdown()
