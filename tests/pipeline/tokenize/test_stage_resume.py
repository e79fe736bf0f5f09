"""The tokenize stage across runs: a rerun touches nothing, new documents shards add groups, a changed setting
redoes what it affects, a crash or a kill mid-unit resumes to the bytes of an uninterrupted run, a truncated shard is
redone."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tokenize_fixtures import ENGLISH, make_document, manifest, outputs, snapshot, stray_files, write_docs

from pipeline.tokenize import units
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.stage import run_tokenize
from training.data import TokenDataError, TokenSplit


def test_a_rerun_skips_every_unit_and_touches_no_file(docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig) -> None:
    out = tmp_path / "out"
    first = run_tokenize(docs, out, gpt2_cfg)
    before = snapshot(out)
    again = run_tokenize(docs, out, dataclasses.replace(gpt2_cfg, workers=2))
    assert (again.units, again.units_skipped) == (3, 3) and again.counts == first.counts
    assert again.outcomes == first.outcomes  # counts of the skipped units come from their records
    assert snapshot(out) == before
    unrelated = run_tokenize(
        docs, out, dataclasses.replace(gpt2_cfg, vocab_size=1000)
    )  # a bpe setting: gpt2 ignores it
    assert unrelated.units_skipped == 3
    assert {name: files for name, files in snapshot(out).items() if name != "manifest.json"} == {
        name: files for name, files in before.items() if name != "manifest.json"
    }


def test_a_new_documents_shard_adds_a_group_and_leaves_the_others_alone(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig
) -> None:
    out = tmp_path / "out"
    first = run_tokenize(docs, out, gpt2_cfg)
    before = snapshot(out)
    added = [make_document(f"late-{slug}", text.upper()) for slug, text in sorted(ENGLISH.items())[:6]]
    write_docs(docs, [added], first=3)
    grown = run_tokenize(docs, out, gpt2_cfg)
    assert (grown.units, grown.units_skipped) == (4, 3)
    after = snapshot(out)
    for name, (data, mtime) in before.items():
        if name != "manifest.json":
            assert after[name] == (data, mtime), name
    new_files = sorted(set(after) - set(before))
    assert new_files and all("part-00003" in name for name in new_files)
    meta = manifest(out)
    assert "part-00003.parquet" in meta["inputs"] and len(meta["inputs"]) == 4
    assert meta["documents"] == first.counts["documents"] + 6 and grown.counts["documents"] == meta["documents"]
    assert stray_files(out) == []


@pytest.mark.parametrize("change", [{"seed": 7}, {"val_fraction": 0.1}, {"shard_tokens": 900}, {"dtype": "uint32"}])
def test_a_setting_that_changes_the_shards_redoes_every_unit(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, change: dict
) -> None:
    out = tmp_path / "out"
    run_tokenize(docs, out, gpt2_cfg)
    changed = dataclasses.replace(gpt2_cfg, **change)
    redone = run_tokenize(docs, out, changed)
    assert (redone.units, redone.units_skipped) == (3, 0)
    run_tokenize(docs, tmp_path / "fresh", changed)
    assert outputs(out) == outputs(tmp_path / "fresh") and stray_files(out) == []


def test_a_crash_mid_unit_resumes_to_the_same_bytes(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_tokenize(docs, tmp_path / "clean", gpt2_cfg)
    crashed = tmp_path / "crashed"
    real = units.SplitWriter

    class FailingWriter(real):
        """Fails on the second documents shard, after it has written some documents and a first shard."""

        def add(self, ids):
            if self._stem == "part-00001" and self._pieces:
                raise OSError("disk full")
            return super().add(ids)

    monkeypatch.setattr(units, "SplitWriter", FailingWriter)
    with pytest.raises(OSError, match="disk full"):
        run_tokenize(docs, crashed, gpt2_cfg)
    assert not (crashed / "_units" / "part-00001.json").exists() and any(crashed.rglob("train/part-00001-*.bin"))
    assert not list(crashed.rglob(".*.tmp")) and not (crashed / "manifest.json").exists()
    monkeypatch.setattr(units, "SplitWriter", real)
    resumed = run_tokenize(docs, crashed, gpt2_cfg)
    assert (resumed.units, resumed.units_skipped) == (3, 1)
    assert outputs(crashed) == outputs(tmp_path / "clean") and stray_files(crashed) == []


KILL = """
import os, signal, sys
from pathlib import Path
from pipeline import shards
from pipeline.tokenize import units
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.stage import run_tokenize

where = sys.argv[3]
real_add, real_write = units.SplitWriter.add, units.atomic_write_json

def add(self, ids):
    real_add(self, ids)
    if where == "writing" and self._stem == "part-00001" and self._pieces:
        os.kill(os.getpid(), signal.SIGKILL)  # a shard of the group committed, the next one half written

def write_record(path, payload):
    if where == "recording" and path.name == "part-00001.json":
        shards.temporary_path(path).write_text("{")  # killed between writing the record and renaming it
        os.kill(os.getpid(), signal.SIGKILL)
    real_write(path, payload)

units.SplitWriter.add, units.atomic_write_json = add, write_record
cfg = TokenizeConfig(gpt2_vocab_dir=Path(sys.argv[4]), val_fraction=0.25, shard_tokens=1500, workers=1)
run_tokenize(Path(sys.argv[1]), Path(sys.argv[2]), cfg)
"""


@pytest.mark.parametrize("where", ["writing", "recording"])
def test_a_killed_run_leaves_nothing_behind_once_rerun(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, gpt2_dir: Path, where: str
) -> None:
    run_tokenize(docs, tmp_path / "clean", gpt2_cfg)
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-c", KILL, str(docs), str(killed), where, str(gpt2_dir)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    assert list(killed.rglob(".*.tmp")) and (killed / "_units" / "part-00000.json").exists()
    resumed = run_tokenize(docs, killed, gpt2_cfg)
    assert (resumed.units, resumed.units_skipped) == (3, 1)
    assert outputs(killed) == outputs(tmp_path / "clean") and stray_files(killed) == []


def test_a_truncated_token_shard_fails_the_reader_and_the_next_run_redoes_its_group(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig
) -> None:
    out = tmp_path / "out"
    run_tokenize(docs, out, gpt2_cfg)
    before = outputs(out)
    victim = out / manifest(out)["splits"]["train"]["shards"][-1]["path"]
    victim.write_bytes(victim.read_bytes()[:-2])
    with pytest.raises(TokenDataError, match=f"{victim.name}.*truncated or stale"):
        TokenSplit.open(out, "train")
    redone = run_tokenize(docs, out, gpt2_cfg)
    assert (redone.units, redone.units_skipped) == (3, 2) and outputs(out) == before
    index = out / manifest(out)["splits"]["val"]["shards"][0]["index"]
    index.write_bytes(index.read_bytes()[:-8])
    with pytest.raises(TokenDataError, match=f"{index.name}"):
        TokenSplit.open(out, "val")
    assert run_tokenize(docs, out, gpt2_cfg).units_skipped == 2 and outputs(out) == before
