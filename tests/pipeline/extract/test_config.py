"""ExtractConfig validates itself with messages that name the bad field."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.extract.config import ExtractConfig


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_words": -1}, "min_words"),
        ({"min_words": 2.5}, "min_words"),
        ({"page_timeout_s": 0}, "page_timeout_s"),
        ({"page_timeout_s": "10"}, "page_timeout_s"),
        ({"max_chars_per_page": 10}, "max_chars_per_page"),
        ({"workers": 0}, "workers"),
        ({"extractor": "trafilatura.extract"}, "extractor"),
        ({"backend": "lxml"}, "backend must be one of trafilatura, resiliparse"),
        ({"dates": "htmldate"}, "dates must be one of none, meta, full"),
    ],
)
def test_bad_fields_are_named(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ExtractConfig(**overrides)


def test_defaults_and_identity() -> None:
    cfg = ExtractConfig()
    assert (cfg.min_words, cfg.page_timeout_s, cfg.workers) == (50, 10.0, None)
    identity = cfg.identity()
    assert "workers" not in identity and identity["min_words"] == 50
    assert identity["trafilatura"]  # an upgraded extractor redoes the shards
    assert ExtractConfig(workers=3).identity() == identity
    assert ExtractConfig(min_words=10).identity() != identity
    assert cfg.page_rules().extractor == "pipeline.extract.backends:trafilatura_extract"


def test_the_backend_and_its_library_are_part_of_the_identity() -> None:
    trafilatura, resiliparse = ExtractConfig().identity(), ExtractConfig(backend="resiliparse").identity()
    assert (trafilatura["backend"], resiliparse["backend"]) == ("trafilatura", "resiliparse")
    assert "trafilatura" not in resiliparse and resiliparse["resiliparse"]  # upgrading the other one redoes nothing
    assert ExtractConfig(backend="resiliparse").page_rules().extractor.endswith(":resiliparse_extract")
    assert ExtractConfig(extractor="hooks:misbehave").page_rules().extractor == "hooks:misbehave"


def test_dates_and_the_library_each_setting_runs_are_part_of_the_identity() -> None:
    meta, full, none = (ExtractConfig(dates=dates).identity() for dates in ("meta", "full", "none"))
    assert (meta["dates"], full["dates"], none["dates"]) == ("meta", "full", "none")
    assert meta["resiliparse"] and "htmldate" not in meta  # the markup is read by resiliparse's parser
    assert full["htmldate"] and "resiliparse" not in full  # trafilatura's metadata: htmldate's search
    assert ExtractConfig(dates="none").page_rules().dates == "none"
