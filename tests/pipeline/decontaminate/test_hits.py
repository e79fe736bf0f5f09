"""Batched search of documents' n-grams in references: the same pairs as a per-document set computation, whatever
the batch size."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.decontaminate.hits import HashSets, HitFinder, contains
from pipeline.decontaminate.ngrams import distinct, words_of
from pipeline.sample.corpus import ARTICLES

TEXTS = [paragraph for article in ARTICLES for paragraph in article.paragraphs]


def per_document(ngrams: list[np.ndarray], reference: np.ndarray) -> list[tuple[int, int]]:
    return [(p, h) for p, hashes in enumerate(ngrams) for h in sorted(set(hashes.tolist()) & set(reference.tolist()))]


@pytest.mark.parametrize("batch_ngrams", [1, 100, 1 << 20])
def test_batches_find_each_documents_hashes_once(batch_ngrams: int) -> None:
    ngrams = [words_of(text).ngrams(5) for text in TEXTS]
    ngrams[3] = np.concatenate([ngrams[3], ngrams[3][:10]])  # a document repeating its own phrases
    rng = np.random.default_rng(5)
    everything = np.concatenate(ngrams)
    references = {
        "some": distinct(rng.choice(everything, 400, replace=False)),
        "none": distinct(rng.integers(0, 2**63, 50, dtype=np.int64).astype(np.uint64)),
    }
    finder = HitFinder(HashSets.of(references), batch_ngrams=batch_ngrams)
    for position, hashes in enumerate(ngrams):
        finder.add(position, hashes)
    found = finder.finish()
    for name, reference in references.items():
        pairs = list(zip(found[name].positions.tolist(), found[name].hashes.tolist(), strict=True))
        assert pairs == per_document(ngrams, reference)
    assert len(found["some"].hashes) >= 400 and found["none"].documents() == []
    assert found["some"].documents() == sorted({p for p, _ in per_document(ngrams, references["some"])})


def test_contains_on_an_empty_reference() -> None:
    assert contains(np.empty(0, np.uint64), np.array([1, 2], np.uint64)).tolist() == [False, False]
