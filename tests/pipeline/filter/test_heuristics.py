"""Each Gopher rule at its boundary (bounds are inclusive), and the n-gram measures against a plain reference."""

from __future__ import annotations

import dataclasses
import random

import pytest
from filter_fixtures import article_text

from pipeline.filter import heuristics
from pipeline.filter.config import HeuristicConfig
from pipeline.filter.heuristics import check_text
from pipeline.filter.text_view import (
    LETTERLESS_WORD,
    PUNCTUATION,
    TextView,
    duplicate_ngram_char_fraction,
    top_ngram_char_fraction,
    top_ngram_share_exceeds,
)

CFG = HeuristicConfig()


def unique_words(count: int, length: int = 5, start: int = 0) -> list[str]:
    """Distinct letter-only words of equal length: no n-gram repeats among them."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = []
    for number in range(start, start + count):
        word = ""
        for _ in range(length):
            number, digit = divmod(number, 26)
            word += letters[digit]
        words.append(word)
    return words


def rule(name: str, text: str, cfg: HeuristicConfig = CFG) -> str | None:
    return getattr(heuristics, name)(TextView(text), cfg)


def test_real_prose_passes_every_rule() -> None:
    assert check_text(article_text("en"), CFG) is None


def test_word_count_bounds() -> None:
    cfg = dataclasses.replace(CFG, max_words=60)
    assert rule("word_count", " ".join(unique_words(50)), cfg) is None
    assert rule("word_count", " ".join(unique_words(49)), cfg) == "too_few_words"
    assert rule("word_count", " ".join(unique_words(60)), cfg) is None
    assert rule("word_count", " ".join(unique_words(61)), cfg) == "too_many_words"


def test_mean_word_length_ignores_punctuation() -> None:
    assert rule("mean_word_length", " ".join(["abc,"] * 10)) is None  # 3.0, the lower bound
    assert rule("mean_word_length", " ".join(["ab."] * 10)) == "mean_word_length"
    assert rule("mean_word_length", " ".join(["a" * 10] * 10)) is None  # 10.0, the upper bound
    assert rule("mean_word_length", " ".join(["a" * 11] * 10)) == "mean_word_length"


def test_symbol_ratio_counts_hashes_and_ellipses() -> None:
    words = unique_words(90)
    assert rule("symbol_ratio", " ".join(words + ["#tag"] * 10)) is None  # 10 / 100 = 0.1
    assert rule("symbol_ratio", " ".join(words + ["#tag"] * 11)) == "symbol_ratio"
    assert rule("symbol_ratio", " ".join(words + ["more..."] * 6 + ["etc…"] * 5)) == "symbol_ratio"


def test_bullet_line_share() -> None:
    lines = [f"• item {word}" for word in unique_words(9)] + ["A closing sentence."]
    assert rule("bullet_lines", "\n".join(lines)) is None  # 0.9
    assert rule("bullet_lines", "\n".join([*lines[:9], "- the last item"])) == "bullet_lines"


def test_ellipsis_line_share() -> None:
    endings = ["Read more...", "Continue…", "And then..."] + [f"Plain line {word}." for word in unique_words(7)]
    assert rule("ellipsis_lines", "\n".join(endings)) is None  # 0.3
    assert rule("ellipsis_lines", "\n".join([*endings[:9], "One more..."])) == "ellipsis_lines"


def test_alphabetic_word_fraction_counts_any_script() -> None:
    letters = unique_words(8)
    assert rule("alphabetic_words", " ".join([*letters, "2019", "—"])) is None  # 0.8
    assert rule("alphabetic_words", " ".join([*letters[:7], "2019", "—", "###"])) == "non_alphabetic_words"
    assert rule("alphabetic_words", "日本語 の 文章 です 12") is None  # ideographs and kana are letters


def test_stop_words_are_distinct_bare_words() -> None:
    assert rule("stop_words", "The cat and the hat") is None  # the, and
    assert rule("stop_words", "The cat, the hat, the bat") == "few_stop_words"  # only "the", however often
    assert rule("stop_words", "cat hat", dataclasses.replace(CFG, min_stop_words=0)) is None


def test_repeated_lines_by_count_and_by_characters() -> None:
    by_count = dataclasses.replace(CFG, max_duplicate_line_char_fraction=1.0)
    lines = [f"line {word}" for word in unique_words(7)] + ["x", "x", "x", "x"]  # "x" then 3 repeats: 3 / 11
    assert rule("repeated_lines", "\n".join(lines), by_count) is None
    assert rule("repeated_lines", "\n".join([*lines, "x"]), by_count) == "repeated_lines"  # 4 / 12
    by_chars = dataclasses.replace(CFG, max_duplicate_line_fraction=1.0)
    long_line, short_lines = "a long line " * 4, [f"w{word}" for word in unique_words(10)]
    text = "\n".join([long_line.strip(), *short_lines, long_line.strip()])
    assert rule("repeated_lines", text, by_chars) == "repeated_lines"  # one repeat, but most characters


def test_repeated_paragraphs_are_blank_line_blocks() -> None:
    blocks = [f"Paragraph {word} has some words." for word in unique_words(7)]
    text = "\n\n".join([*blocks, blocks[0], blocks[1], blocks[2]])  # 3 of 10 repeat, 30% of characters
    cfg = dataclasses.replace(CFG, max_duplicate_paragraph_char_fraction=0.3)
    assert rule("repeated_paragraphs", text, cfg) is None
    assert rule("repeated_paragraphs", text + "\n\n" + blocks[3], cfg) == "repeated_paragraphs"
    assert rule("repeated_paragraphs", "\n".join([*blocks, blocks[0]])) is None  # one block: lines are not blocks


def top_bigram_text(occurrences: int) -> str:
    """100 words of 4 letters where the bigram "aaaa bbbb" occurs ``occurrences`` times, apart."""
    words = unique_words(100 - 2 * occurrences, length=4, start=500)
    out = []
    for index in range(occurrences):
        out += ["aaaa", "bbbb", *words[index * 3 : index * 3 + 3]]
    return " ".join(out + words[occurrences * 3 :])


def test_top_ngram_share_at_its_bound() -> None:
    assert top_ngram_char_fraction(TextView(top_bigram_text(10)), 2) == pytest.approx(0.2)
    assert rule("top_ngrams", top_bigram_text(10)) is None
    assert rule("top_ngrams", top_bigram_text(11)) == "repeated_top_ngram"


def repeated_span_text(occurrences: int) -> str:
    """Unique 4-letter words with one 5-word span repeated ``occurrences`` times, apart; 100+ words."""
    span = unique_words(5, length=4, start=9000)
    filler = unique_words(80, length=4, start=100)
    out, step = [], len(filler) // occurrences
    for index in range(occurrences):
        out += span + filler[index * step : (index + 1) * step]
    return " ".join(out)


def test_duplicate_ngram_share_at_its_bound() -> None:
    at_bound = TextView(repeated_span_text(4))  # 3 later copies x 5 words of 100: 0.15
    assert duplicate_ngram_char_fraction(at_bound, 5) == pytest.approx(0.15)
    assert duplicate_ngram_char_fraction(at_bound, 6) == 0.0
    assert rule("duplicate_ngrams", repeated_span_text(4)) is None
    assert rule("duplicate_ngrams", repeated_span_text(5)) == "repeated_ngrams"


def reference_duplicate_fraction(words: list[str], n: int) -> float:
    """Plain Python: characters of words covered by any non-first occurrence of an n-gram."""
    seen, covered = set(), [False] * len(words)
    for start in range(len(words) - n + 1):
        gram = tuple(words[start : start + n])
        if gram in seen:
            covered[start : start + n] = [True] * n
        seen.add(gram)
    total = sum(map(len, words))
    return sum(len(word) for word, hit in zip(words, covered, strict=True) if hit) / total


def reference_top_fraction(words: list[str], n: int) -> float:
    counts: dict[tuple[str, ...], int] = {}
    for start in range(len(words) - n + 1):
        gram = tuple(words[start : start + n])
        counts[gram] = counts.get(gram, 0) + 1
    gram, count = max(counts.items(), key=lambda item: item[1] * sum(map(len, item[0])))
    best = max(count * sum(map(len, gram)) for gram, count in counts.items() if count > 1) if count > 1 else 0
    return best / sum(map(len, words))


@pytest.mark.parametrize("seed", range(20))
def test_ngram_measures_equal_the_plain_definitions_on_repetitive_text(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = unique_words(rng.randint(3, 30), length=rng.randint(1, 6))
    words = [rng.choice(vocabulary) for _ in range(rng.randint(12, 300))]
    view = TextView(" ".join(words))
    previous = 1.0
    for n in range(2, 11):
        assert top_ngram_char_fraction(view, n) == pytest.approx(reference_top_fraction(words, n))
        fraction = duplicate_ngram_char_fraction(view, n)
        assert fraction == pytest.approx(reference_duplicate_fraction(words, n))
        assert fraction <= previous  # what lets the rule stop at the first n under every bound
        previous = fraction


# Pieces of web text that the byte-level counts must get right: typographic and Unicode punctuation,
# accents, other scripts, odd whitespace (no-break space, ideographic space, the separators U+001C-1F).
TRICKY_TOKENS = [
    "word",
    "Word,",
    "it’s",
    "“quoted”",
    "—",
    "–",
    "...",
    "…",
    "naïve",
    "café.",
    "«guillemets»",
    "¿qué?",
    "Straße",
    "東京",
    "日本語。",
    "123",
    "4.5%",
    "$10",
    "#tag",
    "_",
    "__init__",
    ":-)",
    "C++",
    "e-mail",
    "x²",
    "\u00a0",
    "\u3000",
    "\u2009",
    "\x1c",
    "\x1f",
    "\t",
    "\n",
    "\n\n",
    "•",
    "·",
    "½",
    "٣",
    "Ⅻ",
    "🙂",
    "a🙂b",
]


def tricky_text(rng: random.Random) -> str:
    words = rng.choices(TRICKY_TOKENS + unique_words(20, length=3), k=rng.randint(0, 120))
    return "".join(word + rng.choice([" ", " ", "\n", "\u00a0"]) for word in words)


@pytest.mark.parametrize("seed", range(30))
def test_byte_level_counts_equal_the_plain_definitions(seed: int) -> None:
    rng = random.Random(seed)
    text = tricky_text(rng) if seed % 3 else tricky_text(rng).encode("ascii", "ignore").decode()
    words = text.split()
    view = TextView(text)
    letters = len("".join(words).translate(str.maketrans("", "", PUNCTUATION)))
    assert view.mean_word_length == pytest.approx(letters / len(words) if words else 0.0)
    letterless = len(LETTERLESS_WORD.findall(text))
    assert view.alphabetic_word_fraction == pytest.approx(1 - letterless / len(words) if words else 0.0)
    for minimum in (0.0, 0.5, 0.8, view.alphabetic_word_fraction, 1.0):
        assert view.alphabetic_fraction_at_least(minimum) == (view.alphabetic_word_fraction >= minimum)
    stop_words = frozenset(["word", "it’s", "the", "a"])
    for minimum in range(4):
        assert view.has_stop_words(stop_words, minimum) == (view.stop_word_count(stop_words) >= minimum)


@pytest.mark.parametrize("seed", range(20))
def test_top_ngram_bound_gives_the_exact_verdict(seed: int) -> None:
    rng = random.Random(seed)
    vocabulary = unique_words(rng.randint(3, 200), length=rng.randint(1, 6))
    view = TextView(" ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 400))))
    for n in (2, 3, 4):
        fraction = top_ngram_char_fraction(view, n)
        for limit in (0.0, fraction / 2, fraction, fraction + 1e-9, 0.05, 0.2):
            assert top_ngram_share_exceeds(view, n, limit) == (fraction > limit)


def test_rules_stop_at_the_first_failure_and_can_be_disabled() -> None:
    spam = "cheap watches " * 100
    assert check_text(spam, CFG) == "few_stop_words"
    assert check_text(spam, dataclasses.replace(CFG, min_stop_words=0)) == "repeated_top_ngram"
    assert check_text("too short", CFG) == "too_few_words"
    assert check_text("too short", dataclasses.replace(CFG, enabled=False)) is None


def test_bad_thresholds_are_named() -> None:
    with pytest.raises(ValueError, match="max_words"):
        HeuristicConfig(min_words=100, max_words=10)
    with pytest.raises(ValueError, match="top_ngram_max_fraction fraction for n=2"):
        HeuristicConfig(top_ngram_max_fraction=((2, 1.5),))
    with pytest.raises(ValueError, match="stop_words"):
        HeuristicConfig(stop_words=("The",))


def test_rules_apply_to_their_languages_only() -> None:
    german = article_text("de")
    assert check_text(german, CFG, "de") is None  # English stop words would fail it
    assert check_text(german, CFG, "en") == "few_stop_words"
    assert check_text(german, dataclasses.replace(CFG, languages=("en", "de")), "de") == "few_stop_words"
