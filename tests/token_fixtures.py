"""Tokens folders made by the real tokenize stage from the bundled sample's texts: the training tests' and the
cluster training fault tests' input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pipeline.records import Document, document_id, to_table
from pipeline.sample.corpus import ARTICLES
from pipeline.shards import write_shard
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.stage import run_tokenize


def sample_texts() -> dict[str, str]:
    """Every article of the bundled sample (about 24,000 training tokens, 1,700 validation tokens once tokenized)."""
    return {article.slug: "\n\n".join(article.paragraphs) for article in ARTICLES if article.paragraphs}


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
