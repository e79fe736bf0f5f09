"""Signatures equal datasketch's bit for bit; normalisation and shingling on awkward texts."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash

from pipeline.dedup.minhash import (
    EMPTY_HASH,
    Permutations,
    document_signature,
    estimated_jaccard,
    normalised_words,
    shingle_hash,
    shingle_hashes,
    shingles,
    sketch,
    text_hash,
)

TEXTS = [
    "The quick brown fox jumps over the lazy dog, again and again — “quoted” and ‘single’.",
    "Der schnelle braune Fuchs springt über den faulen Hund. Straße, Größe, Ähnlichkeit!",
    "Быстрая коричневая лиса прыгает через ленивую собаку и снова убегает в лес.",
    "敏捷的棕色狐狸跳过了懒狗。这是一个测试句子，用于检查中文分词。",
    "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ",
    "नमस्ते दुनिया, यह एक परीक्षण वाक्य है जो हिंदी में लिखा गया है।",
    "emoji 🦊 between words 🐕 and snake_case_names with 2024 numbers",
    "",
    "   \n\t  ",
    "one",
    "exactly five words here now",
]


@pytest.mark.parametrize("text", TEXTS)
def test_signature_equals_datasketch(text: str) -> None:
    reference = MinHash(num_perm=128, seed=1, hashfunc=shingle_hash)
    reference.update_batch(shingles(text))
    signature, count = document_signature(text, Permutations.make(128, 1))
    assert count == len(shingles(text))
    assert np.array_equal(signature, reference.hashvalues)


@pytest.mark.parametrize(("num_perm", "seed", "size"), [(64, 7, 3), (256, 42, 5), (128, 1, 1)])
def test_other_permutations_and_shingle_sizes_equal_datasketch(num_perm: int, seed: int, size: int) -> None:
    rng = random.Random(seed)
    text = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "épsilon", "ζήτα"]) for _ in range(300))
    reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash)
    reference.update_batch(shingles(text, size))
    assert np.array_equal(document_signature(text, Permutations.make(num_perm, seed), size)[0], reference.hashvalues)


def test_vectorised_hashes_equal_the_per_shingle_reference() -> None:
    for text in TEXTS:
        assert shingle_hashes(text).tolist() == [shingle_hash(shingle) for shingle in shingles(text)]


def test_normalisation_ignores_case_punctuation_and_spacing() -> None:
    assert normalised_words("Hello,   WORLD!! it's--fine") == ["hello", "world", "it", "s", "fine"]
    assert text_hash("Hello, world") == text_hash("hello   WORLD!")
    assert text_hash("hello world") != text_hash("hello worlds")


def test_unspaced_scripts_are_split_into_characters() -> None:
    assert normalised_words("中文字") == ["中", "文", "字"]
    assert len(shingles("敏捷的棕色狐狸")) == 3  # 7 characters, 5-grams


def test_empty_and_short_texts() -> None:
    permutations = Permutations.make(128, 1)
    signature, count = document_signature("  ...  ", permutations)
    assert count == 0 and (signature == EMPTY_HASH).all()
    assert len(shingles("a b c")) == 1 and len(shingles("a b c d e f")) == 2


def test_long_documents_are_processed_in_chunks_with_the_same_result() -> None:
    rng = random.Random(3)
    text = " ".join(f"w{rng.randrange(50_000)}" for _ in range(20_000))  # more shingles than one chunk
    reference = MinHash(num_perm=32, seed=1, hashfunc=shingle_hash)
    reference.update_batch(shingles(text))
    assert np.array_equal(document_signature(text, Permutations.make(32, 1))[0], reference.hashvalues)


def test_jaccard_estimate_tracks_the_true_similarity() -> None:
    rng = random.Random(5)
    words = [f"w{rng.randrange(10**6)}" for _ in range(2000)]
    changed = list(words)
    for position in range(0, len(words), 20):  # 5% of words: about 22% of 5-grams change
        changed[position] = "x"
    first, second = set(shingles(" ".join(words))), set(shingles(" ".join(changed)))
    truth = len(first & second) / len(first | second)
    permutations = Permutations.make(256, 1)
    estimate = estimated_jaccard(
        sketch(" ".join(words), permutations).signature, sketch(" ".join(changed), permutations).signature
    )
    assert abs(estimate - truth) < 0.08
