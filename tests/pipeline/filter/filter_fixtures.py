"""Texts for the filter tests: real prose in many languages, synthetic clean prose and keyword spam, and the
docs folder the stage tests filter."""

from __future__ import annotations

import json
import random
from pathlib import Path

from dedup_fixtures import make_document, write_docs

from pipeline.sample.corpus import ARTICLES

SUBJECTS = ("The council", "A local teacher", "Our neighbour", "The engineer", "My grandmother", "The museum")
VERBS = ("explained", "described", "remembered", "argued", "noticed", "wrote")
OBJECTS = (
    "that the old bridge had been repaired with timber from the valley",
    "how the harvest was gathered before the first autumn storm",
    "why the library kept its doors open late during the winter",
    "that the river had changed its course over many decades",
    "how the choir practised every Thursday in the village hall",
    "that the new railway line would shorten the journey to the coast",
    "why children in the town learned to swim in the harbour",
    "how the bakery survived the long years of the depression",
)
SPAM_WORDS = (
    "cheap", "best", "deal", "buy", "now", "free", "shipping", "discount", "online", "casino", "bonus", "win",
    "pills", "loans", "fast", "click", "here", "offer", "sale", "viagra", "replica", "watches", "crypto", "profit",
)  # fmt: skip


def article_text(language: str) -> str:
    """The sample corpus's first article in ``language`` (original prose written for the project)."""
    article = next(article for article in ARTICLES if article.language == language and article.kind != "thin")
    return "\n".join(article.paragraphs)


def clean_prose(seed: int, count: int) -> list[str]:
    """Paragraph-long documents of varied, grammatical English sentences."""
    rng = random.Random(seed)
    documents = []
    for _ in range(count):
        sentences = [
            f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}." for _ in range(rng.randint(8, 14))
        ]
        documents.append(" ".join(sentences))
    return documents


def spam_texts(seed: int, count: int) -> list[str]:
    """Keyword-stuffed pages: lists of sales words, shouting and links."""
    rng = random.Random(seed)
    documents = []
    for _ in range(count):
        words = [rng.choice(SPAM_WORDS) for _ in range(rng.randint(60, 120))]
        documents.append(" ".join(words) + " CLICK HERE >>> www.best-deals.example <<<")
    return documents


def write_jsonl(path: Path, texts: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    return path


ENGLISH = ["\n".join(a.paragraphs) for a in ARTICLES if a.kind in ("article", "wikipedia") and a.language == "en"]


def build_docs(directory: Path) -> Path:
    """Two shards: English articles, foreign ones, keyword spam and a stub."""
    first = [make_document(f"en{i}", text) for i, text in enumerate(ENGLISH[:6])]
    first += [make_document(f"lang-{code}", article_text(code)) for code in ("de", "fr", "ru")]
    first += [make_document("spam0", spam_texts(seed=1, count=1)[0])]
    second = [make_document(f"en{i}", text) for i, text in enumerate(ENGLISH[6:12], start=6)]
    second += [make_document(f"lang-{code}", article_text(code)) for code in ("zh", "es")]
    second += [make_document("stub", "Photo gallery: the harbour at dawn. Share this.")]
    write_docs(directory, [first, second])
    return directory
