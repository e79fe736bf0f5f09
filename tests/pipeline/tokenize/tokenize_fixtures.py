"""A realistic documents corpus for the tokenize tests, and helpers that read a tokens folder back independently."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline.records import Document
from pipeline.sample.corpus import ARTICLES
from pipeline.shards import file_sha256, read_stats
from training.data import TokenSplit

GPT2_EOT_ID = 50256
ENGLISH = {a.slug: "\n\n".join(a.paragraphs) for a in ARTICLES if a.language == "en" and a.kind != "thin"}
FOREIGN = {a.slug: "\n\n".join(a.paragraphs) for a in ARTICLES if a.kind == "foreign"}
SLUGS = sorted(ENGLISH)

TRICKY = {
    "unicode": (
        "Café au lait in Zürich, a naïve résumé, «guillemets» and ‘curly quotes’ — Ωμέγα, Москва, Kraków.\n\n"
        "東京タワーは高い。北京欢迎你！서울 날씨가 좋아요.\n\n"
        "Emoji: 😀👍🏽 🇫🇷 👨‍👩‍👧 ✓ ∑ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, combining e\u0301 and a zero\u200bwidth space, non\u00a0breaking."
    ),
    "whitespace": (
        "Name\tValue\t\tNote\r\nfirst\t1\r\nsecond\t22\r\n\r\n"
        "    indented   by   four   spaces   \n\n\n\n"
        "Trailing spaces and tabs   \t\n \n\t\n   end of the page   "
    ),
    "endoftext": (
        "A forum post quoting a language model: the sample ended with <|endoftext|> and then the model went on "
        "with another story.<|endoftext|>\n\nWe don't know why; I'll ask, we've tried, they're sure it's fine."
    ),
    "numbers": "Figures for 2019-03-14: 3.14159, 1,000,000 and $42.50 (up 7%); call 555-0199 at 10:30pm.",
    "short": "Ok.",
    "empty": "",
}


def make_document(name: str, text: str) -> Document:
    from datetime import UTC, datetime

    from pipeline.records import document_id

    url = f"https://example.org/{name}"
    when = datetime(2019, 2, 1, tzinfo=UTC)
    return Document(id=document_id(url), url=url, domain="example.org", title=name, text=text, karma=5, fetched_at=when)


def shard_documents() -> list[list[Document]]:
    """Three documents shards of different sizes: English prose, foreign scripts, the tricky texts, an empty text,
    and one long document (several articles joined) that outgrows a small ``shard_tokens``."""
    english = [make_document(slug, ENGLISH[slug]) for slug in SLUGS]
    foreign = [make_document(slug, text) for slug, text in sorted(FOREIGN.items())]
    tricky = [make_document(name, text) for name, text in TRICKY.items()]
    long_text = "\n\n".join(ENGLISH[slug] for slug in SLUGS[:8])
    return [
        english[:8] + tricky[:3] + [tricky[5]],
        english[8:14] + foreign[:5] + tricky[3:5],
        english[14:] + foreign[5:] + [make_document("long", long_text)],
    ]


def write_docs(directory: Path, shards: list[list[Document]], first: int = 0) -> list[Path]:
    """Completed Document shards ``part-NNNNN.parquet`` as the decontaminate stage leaves them."""
    from pipeline.records import to_table
    from pipeline.shards import write_shard

    paths = []
    for number, documents in enumerate(shards, start=first):
        path = directory / f"part-{number:05d}.parquet"
        write_shard(to_table(documents, Document), path, shard_fingerprint="test")
        paths.append(path)
    return paths


def all_texts(shards: list[list[Document]]) -> Counter[str]:
    return Counter(document.text for shard in shards for document in shard if document.text)


def expected_val(ids: list[str], seed: int, val_fraction: float) -> set[str]:
    """The documented split rule, written out independently: blake2b-64 of ``seed:id`` below the fraction."""
    threshold = int(val_fraction * 2**64)
    return {
        doc_id
        for doc_id in ids
        if int.from_bytes(hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest(), "little") < threshold
    }


def read_documents(out: Path, split: str, eot_id: int) -> list[list[np.ndarray]]:
    """Each shard's documents (ids without their end-of-text) through the training reader, checking that the
    end-of-text id ends every document and appears nowhere else."""
    documents = []
    for shard in TokenSplit.open(out, split, verify="sha256"):
        ids = []
        for document in shard.iter_documents():
            assert len(document) >= 2 and int(document[-1]) == eot_id, shard.path  # empty texts are not written
            assert not (np.asarray(document[:-1]) == eot_id).any(), shard.path  # the EOT only ends a document
            ids.append(np.asarray(document[:-1]))
        documents.append(ids)
    return documents


def decoded(out: Path, split: str, eot_id: int, decode: Callable[[list[int]], str]) -> Counter[str]:
    return Counter(decode(ids.tolist()) for shard in read_documents(out, split, eot_id) for ids in shard)


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mtime, but the per-run files (summary, lock) and the manifest's mtime."""
    files = {}
    for path in sorted(out.rglob("*")):
        name = path.relative_to(out).as_posix()
        if path.is_file() and name not in ("summary.json", "_lock.json"):
            files[name] = (path.read_bytes(), 0 if name == "manifest.json" else path.stat().st_mtime_ns)
    return files


def outputs(out: Path) -> dict[str, bytes]:
    """The bytes of the tokens folder's lasting files: token shards, indexes, records, tokenizer, manifest."""
    return {name: data for name, (data, _) in snapshot(out).items()}


def stray_files(out: Path) -> list[str]:
    """Temporaries anywhere, and .bin/.idx files the manifest does not list."""
    listed = {
        piece[key]
        for split in manifest(out)["splits"].values()
        for piece in split["shards"]
        for key in ("path", "index")
    }
    strays = [p.relative_to(out).as_posix() for p in out.rglob(".*.tmp")]
    strays += [
        p.relative_to(out).as_posix()
        for p in [*out.rglob("*.bin"), *out.rglob("*.idx")]
        if p.relative_to(out).as_posix() not in listed
    ]
    return sorted(strays)


def input_hashes(docs: Path) -> dict[str, str]:
    shards = sorted(docs.glob("part-*.parquet"))
    for shard in shards:
        assert read_stats(shard)["sha256"] == file_sha256(shard)
    return {shard.name: file_sha256(shard) for shard in shards}
