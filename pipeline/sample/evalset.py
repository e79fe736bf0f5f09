"""The sample's own evaluation set, in LAMBADA's format, and the sample page that quotes it.

Each paragraph of the held-out articles (kind ``heldout``: never served on the sample web) is
one example, a JSON object per line whose ``text`` is the passage, as in LAMBADA's OpenAI
release. One blog post of the sample web quotes a passage of it inside its own text, so the
offline demo's decontaminate stage has a real overlap to cut without the real evaluation files.
"""

from __future__ import annotations

import dataclasses
import json

from pipeline.sample.corpus import ARTICLES, Article

EVAL_SET_FILE = "eval/sample_lambada.jsonl"
EVAL_SET_NAME = "sample_lambada"


def eval_passages() -> list[str]:
    return [paragraph for article in ARTICLES if article.kind == "heldout" for paragraph in article.paragraphs]


def sample_lambada_jsonl() -> bytes:
    return "".join(json.dumps({"text": passage}) + "\n" for passage in eval_passages()).encode("utf-8")


def quoted_passage() -> str:
    """The evaluation passage the sample web quotes."""
    return eval_passages()[1]


def quoting(article: Article) -> Article:
    """``article`` with the quoted passage inside it, after its second paragraph."""
    quote = f"A line I keep coming back to, from a piece about an old lighthouse: {quoted_passage()}"
    paragraphs = (*article.paragraphs[:2], quote, *article.paragraphs[2:])
    return dataclasses.replace(article, paragraphs=paragraphs)
