"""Language ID with the real lid.176 model and langdetect: many languages, mixed and very short texts."""

from __future__ import annotations

import dataclasses

import pytest
from filter_fixtures import article_text

from pipeline.filter.config import LanguageConfig
from pipeline.filter.fasttext_models import ModelError, load_model
from pipeline.filter.language import (
    crosscheck_reason,
    crosscheck_sample,
    identify_language,
    identify_languages,
    langdetect_language,
    language_reason,
)

LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "ru", "zh", "ja")


@pytest.mark.parametrize("language", LANGUAGES)
def test_fasttext_and_langdetect_name_the_language_of_real_prose(language: str) -> None:
    text = article_text(language)
    label, score = identify_language(text)
    assert label == language and score > 0.9
    assert langdetect_language(text) == language


def test_batch_prediction_equals_one_at_a_time() -> None:
    texts = [article_text(language).replace("\n", " ") for language in LANGUAGES]
    labels, scores = identify_languages(texts, LanguageConfig())
    assert labels == list(LANGUAGES)
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_mixed_language_page_is_led_by_its_main_language_with_lower_confidence() -> None:
    english, german = article_text("en"), article_text("de")
    mostly_english = english + "\n" + german.split("\n")[0]
    assert identify_language(mostly_english)[0] == "en"
    half_and_half = " ".join(english.split()[:60] + german.split()[:60])
    _, mixed_score = identify_language(half_and_half)
    assert mixed_score < identify_language(english)[1]


def test_very_short_texts_get_a_label_and_a_low_score_when_ambiguous() -> None:
    assert identify_language("Danke schön!")[0] == "de"
    assert identify_language("Merci beaucoup, à demain.")[0] == "fr"
    assert identify_language("ok")[1] < 0.65  # two letters say little: such a document falls below the keep threshold


def test_reason_order_and_the_threshold_is_inclusive() -> None:
    cfg = LanguageConfig()
    assert language_reason("en", 0.65, cfg) is None
    assert language_reason("en", 0.6499, cfg) == "language_low_score"
    assert language_reason("de", 0.99, cfg) == "language_not_allowed"
    assert language_reason("de", 0.99, dataclasses.replace(cfg, languages=("en", "de"))) is None


def test_crosscheck_drops_a_short_keep_that_langdetect_reads_as_another_language() -> None:
    cfg = LanguageConfig()
    german = "Der alte Hafen wurde im Winter renoviert und die Fischer sind zufrieden."
    assert len(german) < cfg.crosscheck_max_chars
    # As if fastText had said English for this short German sentence: langdetect disagrees.
    assert crosscheck_reason(german, "en", 0.9, cfg) == "language_disputed"
    assert crosscheck_reason(german, "en", 0.9, dataclasses.replace(cfg, crosscheck=False)) is None
    # A long, confidently English text is not cross-checked at all.
    assert crosscheck_reason(article_text("de"), "en", 0.95, cfg) is None
    # A long one with a doubtful score is.
    assert crosscheck_reason(article_text("de"), "en", 0.7, cfg) == "language_disputed"
    assert crosscheck_reason(article_text("en"), "en", 0.7, cfg) is None


def test_crosscheck_reads_windows_spread_over_a_long_text() -> None:
    english, german = article_text("en")[:2000], article_text("de")[:2000]
    assert crosscheck_sample(english[:500]) == english[:500]
    sample = crosscheck_sample(english + german)
    assert len(sample) <= 1000 + 3  # four windows and the newlines between them
    assert sample.startswith(english[:250]) and sample.endswith(german[-250:])


def test_crosscheck_has_no_opinion_on_text_without_letters() -> None:
    assert langdetect_language("12345 67 890") is None
    assert crosscheck_reason("12345 67 890", "en", 0.9, LanguageConfig()) is None


def test_langdetect_is_seeded() -> None:
    ambiguous = "Ciao amigo, bom dia"
    assert len({langdetect_language(ambiguous) for _ in range(5)}) == 1


def test_missing_or_broken_model_is_named(tmp_path) -> None:
    with pytest.raises(ModelError, match="not found: .*lid.bin"):
        load_model(tmp_path / "lid.bin")
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="broken.bin"):
        load_model(broken)
