"""The tokenize stage as a flow maps it (``open_tokenize``: the tokenizer trained in the run holding the folder,
loaded by each job from the folder), and its code fingerprint in the unit fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest
from sharded_runs import check_mapped_against_local
from tokenize_fixtures import outputs

from pipeline.tokenize import stage
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.stage import open_tokenize, run_tokenize


def test_jobs_run_alone_in_any_order_write_what_run_tokenize_writes(
    docs: Path, tmp_path: Path, bpe_cfg: TokenizeConfig
) -> None:
    """Every lasting file compared: token shards, indexes, group records, the tokenizer and the manifest."""
    check_mapped_against_local(run_tokenize, open_tokenize, docs, bpe_cfg, tmp_path, jobs=3, files=outputs)


def test_an_edit_of_the_tokenize_code_redoes_its_units(
    docs: Path, tmp_path: Path, bpe_cfg: TokenizeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_tokenize(docs, tmp_path / "out", bpe_cfg)
    monkeypatch.setattr(stage, "code_fingerprint", lambda *packages: "edited")
    again = run_tokenize(docs, tmp_path / "out", bpe_cfg)
    assert again.units_done == 3 and again.details["code_fingerprint"] == "edited" != first.details["code_fingerprint"]
    assert again.counts == first.counts and run_tokenize(docs, tmp_path / "out", bpe_cfg).units_skipped == 3
