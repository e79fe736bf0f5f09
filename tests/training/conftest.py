"""The training tests' shared pieces: tokens folders made by the real tokenize stage from the bundled sample's
texts (once per session), and one local Ray for every test that trains through Ray Train (it takes seconds to
start). Tests that do not ask for ``ray_cluster`` never start Ray."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from token_fixtures import sample_texts, tokenize_texts

from pipeline.sample.corpus import ARTICLES
from pipeline.services.ray_token import enable_ray_token

RAY_CPUS = 4  # two 1-CPU training workers, with room for a restarted group while the old one is torn down


@pytest.fixture(scope="session")
def sample_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every article of the bundled sample (about 24,000 training tokens, 1,700 validation tokens)."""
    return tokenize_texts(tmp_path_factory.mktemp("sample-tokens"), sample_texts())


@pytest.fixture(scope="session")
def small_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few paragraphs: some windows of 65 tokens, but fewer than one batch of 8."""
    english = [article for article in ARTICLES if article.language == "en" and article.kind == "article"]
    texts = {article.slug: article.paragraphs[0] for article in english[:2]}
    return tokenize_texts(tmp_path_factory.mktemp("small-tokens"), texts, shards=1)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[dict[str, Any]]:
    """One local Ray for the session (``run_training`` reuses an initialised Ray and leaves it running)."""
    import ray

    enable_ray_token(create=True)  # as run_training does: token authentication on
    ray.init(
        address="local", include_dashboard=False, num_cpus=RAY_CPUS, logging_config=ray.LoggingConfig(log_level="ERROR")
    )
    try:
        yield ray.cluster_resources()
    finally:
        ray.shutdown()
