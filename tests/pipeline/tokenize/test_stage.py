"""The tokenize stage end to end on realistic documents, read back with the training reader: exact round trips,
a manifest that adds up, shards cut between documents, the dtype, the split rule, the same bytes every run."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from tokenize_fixtures import (
    GPT2_EOT_ID,
    TRICKY,
    all_texts,
    decoded,
    expected_val,
    input_hashes,
    manifest,
    outputs,
    read_documents,
    stray_files,
)

from pipeline.records import Document
from pipeline.shards import file_sha256
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.encoders import Gpt2Encoder, find_gpt2_files
from pipeline.tokenize.stage import run_tokenize
from training.data import BlockSampler, TokenSplit, iter_blocks


@pytest.fixture
def gpt2(gpt2_dir: Path) -> Gpt2Encoder:
    return Gpt2Encoder(find_gpt2_files(gpt2_dir))


def doc_ids(docs: Path) -> dict[str, str]:
    """Each non-empty document's text by id."""
    rows = [row for shard in sorted(docs.glob("part-*.parquet")) for row in pq.read_table(shard).to_pylist()]
    return {row["id"]: row["text"] for row in rows if row["text"]}


def test_every_document_decodes_back_exactly_in_one_split(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, gpt2: Gpt2Encoder, shards: list[list[Document]]
) -> None:
    out = tmp_path / "out"
    summary = run_tokenize(docs, out, gpt2_cfg)
    train, val = (decoded(out, split, GPT2_EOT_ID, gpt2.decode) for split in ("train", "val"))
    assert train + val == all_texts(shards) and not set(train) & set(val) and val and train
    texts = doc_ids(docs)
    assert set(val) == {texts[i] for i in expected_val(list(texts), gpt2_cfg.seed, gpt2_cfg.val_fraction)}
    assert (train + val)[TRICKY["endoftext"]] == 1 and "" not in train + val
    for split in ("train", "val"):  # EOT ends each document and appears nowhere else
        tokens = np.concatenate([shard.tokens for shard in TokenSplit.open(out, split)])
        assert int((tokens == GPT2_EOT_ID).sum()) == sum(shard.documents for shard in TokenSplit.open(out, split))
    assert summary.units == 3 and summary.units_skipped == 0
    assert summary.outcomes == {"train": sum(train.values()), "val": sum(val.values()), "empty_text": 1}
    assert summary.counts["documents"] == len(texts) and summary.details["tokenizer"] == "gpt2"


def test_documents_are_shuffled_within_their_shard_by_seed(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, gpt2: Gpt2Encoder, shards: list[list[Document]]
) -> None:
    run_tokenize(docs, tmp_path / "a", gpt2_cfg)
    run_tokenize(docs, tmp_path / "b", dataclasses.replace(gpt2_cfg, val_fraction=0.0, shard_tokens=10**6))
    run_tokenize(docs, tmp_path / "c", dataclasses.replace(gpt2_cfg, val_fraction=0.0, shard_tokens=10**6, seed=9))
    written = [
        [gpt2.decode(ids.tolist()) for ids in shard] for shard in read_documents(tmp_path / "b", "train", GPT2_EOT_ID)
    ]
    order = [[document.text for document in shard if document.text] for shard in shards]
    assert [sorted(shard) for shard in written] == [sorted(shard) for shard in order]  # a shard's group: its documents
    assert written != order
    other = [
        [gpt2.decode(ids.tolist()) for ids in shard] for shard in read_documents(tmp_path / "c", "train", GPT2_EOT_ID)
    ]
    assert other != written and [sorted(s) for s in other] == [sorted(s) for s in written]


@pytest.mark.parametrize("tokenizer", ["gpt2", "bpe"])
def test_the_same_content_gives_the_same_tokens_whatever_else_the_files_hold(
    tmp_path: Path, request: pytest.FixtureRequest, tokenizer: str, shards: list[list[Document]]
) -> None:
    """Order and split come from the seed and each document's id and text: other columns (a later fetch, another
    karma), the order the documents are stored in, and the files' bytes change nothing."""
    from datetime import UTC, datetime

    from tokenize_fixtures import write_docs

    refetched = [
        [dataclasses.replace(doc, fetched_at=datetime(2026, 12, 6, tzinfo=UTC), karma=doc.karma + 7) for doc in shard]
        for shard in shards
    ]
    write_docs(tmp_path / "docs-a", shards)
    write_docs(tmp_path / "docs-b", [list(reversed(shard)) for shard in refetched])
    assert input_hashes(tmp_path / "docs-a") != input_hashes(tmp_path / "docs-b")  # the files differ byte for byte
    cfg = request.getfixturevalue(f"{tokenizer}_cfg")  # bpe: a tokenizer trained on the documents, too
    if tokenizer == "bpe":  # on some of them: which ones follows their content, not where the files put them
        cfg = dataclasses.replace(cfg, bpe_max_documents=12)
    run_tokenize(tmp_path / "docs-a", tmp_path / "a", cfg)
    run_tokenize(tmp_path / "docs-b", tmp_path / "b", cfg)
    lasting = [outputs(tmp_path / run) for run in ("a", "b")]  # records and manifest name the input files' hashes
    tokens = [{name: data for name, data in files.items() if name.endswith((".bin", ".idx"))} for files in lasting]
    assert tokens[0] == tokens[1] and tokens[0]
    tokenizers = [{name: data for name, data in files.items() if name.startswith("tokenizer/")} for files in lasting]
    assert tokenizers[0] == tokenizers[1] and tokenizers[0]
    assert manifest(tmp_path / "a")["splits"] == manifest(tmp_path / "b")["splits"]


def test_the_manifest_describes_every_file(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, gpt2_dir: Path
) -> None:
    out = tmp_path / "out"
    summary = run_tokenize(docs, out, gpt2_cfg)
    meta = manifest(out)
    assert meta["format"] == "webtext-tokens/1" and meta["dtype"] == "uint16"
    tokenizer = meta["tokenizer"]
    assert (tokenizer["kind"], tokenizer["vocab_size"], tokenizer["eot_id"]) == ("gpt2", 50257, GPT2_EOT_ID)
    for name, sha256 in tokenizer["files"].items():
        assert file_sha256(out / "tokenizer" / name) == sha256 == file_sha256(gpt2_dir / name)
    assert set(tokenizer["files"]) == {"encoder.json", "vocab.bpe"}
    assert meta["inputs"] == input_hashes(docs)
    pieces = []
    for split in ("train", "val"):
        entries = meta["splits"][split]["shards"]
        assert [entry["path"] for entry in entries] == sorted(entry["path"] for entry in entries)
        for entry in entries:
            tokens = np.fromfile(out / entry["path"], dtype="<u2")
            starts = np.fromfile(out / entry["index"], dtype="<u8")
            assert entry["sha256"] == file_sha256(out / entry["path"])
            assert entry["tokens"] == len(tokens) and entry["bytes"] == 2 * len(tokens)
            assert entry["documents"] == len(starts) - 1 and starts[0] == 0 and starts[-1] == len(tokens)
            assert (tokens[starts[1:] - 1] == GPT2_EOT_ID).all()  # every document ends with the EOT
            assert re.fullmatch(rf"{split}/part-\d{{5}}-\d{{4}}\.bin", entry["path"])
            assert entry["index"] == entry["path"][:-4] + ".idx" and entry["path"].startswith(
                f"{split}/{entry['input'][:-8]}-"
            )
        assert meta["splits"][split]["tokens"] == sum(entry["tokens"] for entry in entries)
        assert meta["splits"][split]["documents"] == sum(entry["documents"] for entry in entries)
        pieces += [entry["path"] for entry in entries]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.bin")) == sorted(pieces)
    assert meta["tokens"] == summary.counts["tokens"] == sum(meta["splits"][s]["tokens"] for s in ("train", "val"))
    assert meta["documents"] == summary.counts["documents"]
    assert summary.details["token_shards"] == len(pieces) and stray_files(out) == []
    assert meta["config"]["seed"] == gpt2_cfg.seed and "workers" not in meta["config"]


def test_small_shards_are_cut_between_documents_and_a_long_document_has_its_own(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, gpt2: Gpt2Encoder
) -> None:
    out = tmp_path / "out"
    run_tokenize(docs, out, gpt2_cfg)
    meta = manifest(out)
    long_text = doc_ids(docs)[next(i for i, t in doc_ids(docs).items() if len(t) > 10_000)]
    found = 0
    for split in ("train", "val"):
        per_input = Counter(entry["input"] for entry in meta["splits"][split]["shards"])
        assert max(per_input.values()) >= 2, per_input  # several shards for one documents shard
        for shard in TokenSplit.open(out, split):
            texts = [gpt2.decode(document[:-1].tolist()) for document in shard.iter_documents()]
            assert len(shard.tokens) <= gpt2_cfg.shard_tokens or texts == [long_text] * len(texts) == [long_text]
            found += texts.count(long_text)
    assert found == 1 and len(gpt2.encode([long_text])[0]) > gpt2_cfg.shard_tokens


def test_a_forced_uint32_writes_four_bytes_a_token_and_the_reader_reads_them(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig
) -> None:
    run_tokenize(docs, tmp_path / "u16", gpt2_cfg)
    run_tokenize(docs, tmp_path / "u32", dataclasses.replace(gpt2_cfg, dtype="uint32"))
    assert manifest(tmp_path / "u32")["dtype"] == "uint32"
    for split in ("train", "val"):
        narrow, wide = TokenSplit.open(tmp_path / "u16", split), TokenSplit.open(tmp_path / "u32", split)
        assert wide.dtype == np.dtype("<u4") and narrow.dtype == np.dtype("<u2")
        for a, b in zip(narrow, wide, strict=True):
            assert b.path.stat().st_size == 4 * len(b.tokens) == 2 * a.path.stat().st_size
            assert np.array_equal(np.asarray(a.tokens), np.asarray(b.tokens)) and np.array_equal(a.starts, b.starts)


def test_two_runs_and_one_or_two_workers_write_the_same_bytes(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig
) -> None:
    run_tokenize(docs, tmp_path / "one", gpt2_cfg)
    run_tokenize(docs, tmp_path / "again", gpt2_cfg)
    two = run_tokenize(docs, tmp_path / "two", dataclasses.replace(gpt2_cfg, workers=2))
    reference = outputs(tmp_path / "one")
    assert any(name.endswith(".bin") for name in reference) and "manifest.json" in reference
    assert outputs(tmp_path / "again") == reference
    assert outputs(tmp_path / "two") == reference and two.units == 3


def test_the_split_follows_the_document_across_shardings_and_growth(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig, gpt2: Gpt2Encoder, shards: list[list[Document]]
) -> None:
    from tokenize_fixtures import write_docs

    run_tokenize(docs, tmp_path / "a", gpt2_cfg)
    val = decoded(tmp_path / "a", "val", GPT2_EOT_ID, gpt2.decode)
    run_tokenize(docs, tmp_path / "b", dataclasses.replace(gpt2_cfg, shard_tokens=200))
    assert decoded(tmp_path / "b", "val", GPT2_EOT_ID, gpt2.decode) == val
    resharded = tmp_path / "resharded"  # the same documents, regrouped into other shards
    everything = [document for shard in shards for document in shard]
    write_docs(resharded, [everything[::2], everything[1::2]])
    run_tokenize(resharded, tmp_path / "c", gpt2_cfg)
    assert decoded(tmp_path / "c", "val", GPT2_EOT_ID, gpt2.decode) == val
    other_seed = run_tokenize(docs, tmp_path / "d", dataclasses.replace(gpt2_cfg, seed=4))
    assert decoded(tmp_path / "d", "val", GPT2_EOT_ID, gpt2.decode) != val and other_seed.counts["val_tokens"] > 0


def test_the_reader_samples_disjoint_windows_per_rank_from_the_stage_output(
    docs: Path, tmp_path: Path, gpt2_cfg: TokenizeConfig
) -> None:
    out = tmp_path / "out"
    run_tokenize(docs, out, gpt2_cfg)
    train = TokenSplit.open(out, "train", verify="sha256")
    ranks = [BlockSampler(train, block_size=32, rank=rank, world_size=2, seed=5) for rank in range(2)]
    taken = [set(sampler.next_numbers(sampler.per_rank).tolist()) for sampler in ranks]
    assert ranks[0].per_rank > 50 and len(taken[0]) == len(taken[1]) == ranks[0].per_rank
    assert not taken[0] & taken[1] and max(taken[0] | taken[1]) < ranks[0].windows.count
    x, y = ranks[0].next_batch(4)
    assert x.shape == y.shape == (4, 32) and np.array_equal(x[:, 1:], y[:, :-1]) and int(x.max()) <= GPT2_EOT_ID
    batches = list(iter_blocks(TokenSplit.open(out, "val"), block_size=32, batch_size=8))
    assert batches and all(x.shape[1] == 32 for x, _ in batches)
