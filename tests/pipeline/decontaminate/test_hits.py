"""Batched search of documents' n-grams in references: the same pairs as a per-document set computation, whatever
the batch size."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.decontaminate.hits import HashSets, HitFinder, contains
from pipeline.decontaminate.ngrams import distinct, joined_ngrams, joined_words, words_of
from pipeline.sample.corpus import ARTICLES

TEXTS = [paragraph for article in ARTICLES for paragraph in article.paragraphs]


def per_document(ngrams: list[np.ndarray], reference: np.ndarray) -> list[tuple[int, int]]:
    return [(p, h) for p, hashes in enumerate(ngrams) for h in sorted(set(hashes.tolist()) & set(reference.tolist()))]


def add_each(finder: HitFinder, ngrams: list[np.ndarray], n: int, skipped: frozenset[int] = frozenset()) -> None:
    """Each document's n-grams on their own: a batch of one text of ``len + n - 1`` words."""
    for position, hashes in enumerate(ngrams):
        if position not in skipped:
            finder.add_joined(np.array([position]), np.array([len(hashes) + n - 1]), hashes, n)


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
    add_each(finder, ngrams, 5)
    found = finder.finish()
    for name, reference in references.items():
        pairs = list(zip(found[name].positions.tolist(), found[name].hashes.tolist(), strict=True))
        assert pairs == per_document(ngrams, reference)
    assert len(found["some"].hashes) >= 400 and found["none"].documents() == []
    assert found["some"].documents() == sorted({p for p, _ in per_document(ngrams, references["some"])})


@pytest.mark.parametrize("batch_ngrams", [1, 1 << 20])
def test_joined_documents_give_the_pairs_of_each_document_alone(batch_ngrams: int) -> None:
    """``add_joined``: n-grams across two documents are never found, and a document at position -1 is skipped."""
    ngrams = [words_of(text).ngrams(5) for text in TEXTS]
    everything = np.concatenate(ngrams)
    joined = words_of(" ".join(TEXTS)).ngrams(5)  # those across two paragraphs too
    across = np.setdiff1d(joined, everything)[:50]
    references = {"some": distinct(np.concatenate([everything[::7], across]))}
    skipped = frozenset({2, 9})
    alone = HitFinder(HashSets.of(references))
    add_each(alone, ngrams, 5, skipped)
    together = HitFinder(HashSets.of(references), batch_ngrams=batch_ngrams)
    positions = np.array([-1 if position in skipped else position for position in range(len(TEXTS))])
    for start in range(0, len(TEXTS), 10):
        hashes, ends = joined_words(TEXTS[start : start + 10])
        together.add_joined(positions[start : start + 10], ends, joined_ngrams(hashes, (5,))[5], 5)
    expected, found = alone.finish()["some"], together.finish()["some"]
    assert len(across) and len(expected.hashes) > 100 and not set(expected.documents()) & skipped
    assert np.array_equal(found.positions, expected.positions) and np.array_equal(found.hashes, expected.hashes)


def test_contains_on_an_empty_reference() -> None:
    assert contains(np.empty(0, np.uint64), np.array([1, 2], np.uint64)).tolist() == [False, False]
