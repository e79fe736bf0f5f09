"""A small "random crawl" for the sample: the negatives the demo's quality classifier learns from.

GPT-3 trained its quality classifier with curated text as positives and unfiltered Common
Crawl as negatives. This is the sample's stand-in for the latter: pages assembled from the
spam, thin-page and boilerplate texts of ``corpus`` (navigation, cookie banners, footers,
reader comments, related-story teasers), the way a crawler sees link farms and shells.
"""

from __future__ import annotations

import json
import random

from pipeline.sample.corpus import ARTICLES, COMMENTS, COOKIE_BANNERS, FOOTERS, NAV_LINKS, RELATED_HEADLINES

CRAWL_PAGES = 40


def _crawl_page(rng: random.Random) -> str:
    junk = [article for article in ARTICLES if article.kind in ("spam", "thin")]
    lines = [" ".join(rng.sample(NAV_LINKS, k=min(8, len(NAV_LINKS))))]
    lines += list(rng.choice(junk).paragraphs)
    lines += rng.sample(RELATED_HEADLINES, k=min(4, len(RELATED_HEADLINES)))
    lines += rng.sample(COMMENTS, k=min(rng.randint(2, 6), len(COMMENTS)))
    lines += [rng.choice(COOKIE_BANNERS), rng.choice(FOOTERS)]
    rng.shuffle(lines)
    return "\n".join(lines)


def random_crawl_jsonl(rng: random.Random, pages: int = CRAWL_PAGES) -> bytes:
    """``pages`` crawl pages as JSONL records with a ``text`` field."""
    records = (json.dumps({"text": _crawl_page(rng)}, ensure_ascii=False) for _ in range(pages))
    return ("\n".join(records) + "\n").encode("utf-8")
