"""The token-shard reader and samplers, on tokens folders written in the tokenize stage's exact format."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.tokenize.tokens_folder import TokensFolderError
from training.data import BlockSampler, TokenDataError, TokenSplit, iter_blocks
from training.permutation import FeistelPermutation

EOT = 50256


def write_tokens(
    root: Path, splits: dict[str, dict[str, list[list[int]]]], dtype: str = "uint16", eot: int = EOT
) -> Path:
    """A tokens folder: ``splits[split][input_name]`` lists one shard's documents (each gets an EOT appended)."""
    numpy_dtype = np.dtype({"uint16": "<u2", "uint32": "<u4"}[dtype])
    manifest_splits: dict[str, dict] = {}
    for split, shards in splits.items():
        entries = []
        for shard_name, documents in sorted(shards.items()):
            tokens = np.array([t for document in documents for t in [*document, eot]], dtype=numpy_dtype)
            starts = np.concatenate([[0], np.cumsum([len(d) + 1 for d in documents])]).astype("<u8")
            path = root / split / f"{shard_name}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(tokens.tobytes())
            path.with_suffix(".idx").write_bytes(starts.tobytes())
            entries.append(
                {
                    "path": f"{split}/{shard_name}.bin",
                    "index": f"{split}/{shard_name}.idx",
                    "tokens": len(tokens),
                    "documents": len(documents),
                    "bytes": tokens.nbytes,
                    "sha256": hashlib.sha256(tokens.tobytes()).hexdigest(),
                    "input": f"{shard_name.rsplit('-', 1)[0]}.parquet",
                }
            )
        manifest_splits[split] = {
            "tokens": sum(e["tokens"] for e in entries),
            "documents": sum(e["documents"] for e in entries),
            "shards": entries,
        }
    manifest = {
        "format": "webtext-tokens/1",
        "dtype": dtype,
        "tokenizer": {"kind": "gpt2", "name": "gpt2", "vocab_size": 50257, "eot_id": eot, "files": {}},
        "config": {},
        "inputs": {},
        "splits": manifest_splits,
        "tokens": sum(s["tokens"] for s in manifest_splits.values()),
        "documents": sum(s["documents"] for s in manifest_splits.values()),
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root


def random_documents(rng: np.random.Generator, count: int, high: int = 50000) -> list[list[int]]:
    return [rng.integers(0, high, size=int(rng.integers(1, 60))).tolist() for _ in range(count)]


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, dict[str, dict[str, list[list[int]]]]]:
    """Three train shards of different sizes (one smaller than a window) and one val shard."""
    rng = np.random.default_rng(7)
    splits = {
        "train": {
            "part-00000-0000": random_documents(rng, 40),
            "part-00000-0001": random_documents(rng, 3),
            "part-00003-0000": random_documents(rng, 25),
        },
        "val": {"part-00001-0000": random_documents(rng, 8)},
    }
    return write_tokens(tmp_path / "tokens", splits), splits


def window_count(split: TokenSplit, block_size: int) -> int:
    return sum(max(0, (len(shard.tokens) - 1) // block_size) for shard in split)


def window_keys(x: np.ndarray, y: np.ndarray) -> list[tuple[int, ...]]:
    return [tuple(row) for row in np.concatenate([x, y[:, -1:]], axis=1).tolist()]


@pytest.mark.parametrize("dtype, high", [("uint16", 50257), ("uint32", 100_000)])
def test_documents_read_back_as_written(tmp_path: Path, dtype: str, high: int) -> None:
    rng = np.random.default_rng(1)
    shards = {"part-00000-0000": random_documents(rng, 5, high), "part-00002-0000": random_documents(rng, 9, high)}
    root = write_tokens(tmp_path, {"train": shards, "val": {}}, dtype=dtype, eot=high - 1)
    split = TokenSplit.open(root, "train", verify="sha256")
    assert split.dtype == np.dtype({"uint16": "<u2", "uint32": "<u4"}[dtype]) and len(split) == 2
    assert split.tokens == sum(len(d) + 1 for docs in shards.values() for d in docs)
    assert split.documents == 14 and split.tokenizer["eot_id"] == high - 1
    for shard, documents in zip(split, shards.values()):
        assert [d.tolist() for d in shard.iter_documents()] == [[*d, high - 1] for d in documents]
    assert TokenSplit.open(root, "val").tokens == 0


def test_truncated_shard_is_named(corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    shard = root / "train" / "part-00000-0001.bin"
    shard.write_bytes(shard.read_bytes()[:-2])
    with pytest.raises(TokenDataError, match=r"part-00000-0001\.bin.*truncated.*webtext tokenize"):
        TokenSplit.open(root, "train")
    TokenSplit.open(root, "val")  # the other split is unaffected


def test_corrupt_bytes_are_caught_by_sha256(corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    shard = root / "train" / "part-00003-0000.bin"
    data = bytearray(shard.read_bytes())
    data[10] ^= 0xFF
    shard.write_bytes(bytes(data))
    TokenSplit.open(root, "train")  # same size: the cheap check passes
    with pytest.raises(TokenDataError, match=r"part-00003-0000\.bin.*sha256"):
        TokenSplit.open(root, "train", verify="sha256")


def test_missing_or_bad_manifest(tmp_path: Path, corpus: tuple[Path, dict]) -> None:
    """The tokens folder's own reader fails (its cases: tests/pipeline/tokenize/test_tokens_folder.py)."""
    root, _ = corpus
    with pytest.raises(TokensFolderError, match="manifest.json not found"):
        TokenSplit.open(tmp_path / "nowhere")
    with pytest.raises(TokensFolderError, match="no split 'test'"):
        TokenSplit.open(root, "test")
    manifest = root / "manifest.json"
    good = json.loads(manifest.read_text())
    manifest.write_text("{not json")
    with pytest.raises(TokensFolderError, match="unreadable"):
        TokenSplit.open(root)
    manifest.write_text(json.dumps({**good, "format": "webtext-tokens/0"}))
    with pytest.raises(TokensFolderError, match="format 'webtext-tokens/0'"):
        TokenSplit.open(root)
    manifest.write_text(json.dumps({**good, "dtype": "int8"}))
    with pytest.raises(TokensFolderError, match="dtype 'int8'"):
        TokenSplit.open(root)


def test_missing_shard_and_bad_index(corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    index = root / "train" / "part-00003-0000.idx"
    starts = np.fromfile(index, dtype="<u8")
    index.write_bytes(starts[:-1].tobytes())
    with pytest.raises(TokenDataError, match=r"part-00003-0000\.idx does not hold 25 documents"):
        TokenSplit.open(root)
    swapped = starts.copy()
    swapped[[3, 4]] = swapped[[4, 3]]
    index.write_bytes(swapped.tobytes())
    with pytest.raises(TokenDataError, match=r"part-00003-0000\.idx is inconsistent"):
        TokenSplit.open(root)
    index.write_bytes(starts.tobytes())
    (root / "train" / "part-00000-0000.bin").unlink()
    with pytest.raises(TokenDataError, match=r"part-00000-0000\.bin is missing"):
        TokenSplit.open(root)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 16, 17, 100, 1000, 4097])
def test_permutation_is_a_bijection(size: int) -> None:
    permutation = FeistelPermutation(size, seed=3, epoch=1)
    image = permutation(np.arange(size))
    assert sorted(image.tolist()) == list(range(size))
    assert permutation(np.arange(size)[::-1]).tolist() == image[::-1].tolist()  # position by position
    if size >= 100:
        assert image.tolist() != list(range(size))
        assert image.tolist() != FeistelPermutation(size, seed=3, epoch=2)(np.arange(size)).tolist()


def test_x_and_y_are_a_window_shifted_by_one(corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    split = TokenSplit.open(root)
    block_size = 16
    x, y = BlockSampler(split, block_size, seed=5).next_batch(8)
    assert x.shape == y.shape == (8, block_size) and x.dtype == y.dtype == np.int64
    assert (y[:, :-1] == x[:, 1:]).all()
    streams = [np.asarray(shard.tokens, dtype=np.int64) for shard in split]
    for row_x, row_y in zip(x, y):  # each window is block_size + 1 consecutive tokens of one shard, at a stride
        window = np.append(row_x, row_y[-1])
        found = [
            start
            for stream in streams
            for start in range(0, len(stream) - block_size, block_size)
            if (stream[start : start + block_size + 1] == window).all()
        ]
        assert found


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_ranks_share_no_window_in_an_epoch(corpus: tuple[Path, dict], world_size: int) -> None:
    root, _ = corpus
    split, block_size = TokenSplit.open(root), 8
    windows = window_count(split, block_size)
    per_rank = windows // world_size
    seen: list[tuple[int, ...]] = []
    for rank in range(world_size):
        sampler = BlockSampler(split, block_size, rank=rank, world_size=world_size, seed=11)
        x, y = sampler.next_batch(per_rank)
        seen += window_keys(x, y)
        assert (sampler.epoch, sampler.position) == (1, 0)
    every_window = window_keys(*next(iter_blocks(split, block_size, batch_size=windows)))
    assert len(seen) == windows - windows % world_size == len(set(seen))
    assert set(seen) <= set(every_window) and len(set(every_window)) == windows


def test_same_seed_same_batches_other_seed_other_order(corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    split = TokenSplit.open(root)
    first, again, other = (BlockSampler(split, 8, seed=seed) for seed in (1, 1, 2))
    for _ in range(5):
        a, b, c = first.next_batch(6), again.next_batch(6), other.next_batch(6)
        assert (a[0] == b[0]).all() and (a[1] == b[1]).all()
    assert not (a[0] == c[0]).all()


@pytest.mark.parametrize("drawn_before", [7, 40, 130])  # mid-epoch, just before the boundary, epochs later
def test_resume_gives_the_same_batches(corpus: tuple[Path, dict], drawn_before: int) -> None:
    root, _ = corpus
    split = TokenSplit.open(root)
    reference = BlockSampler(split, 10, rank=1, world_size=2, seed=4)
    for _ in range(drawn_before):
        reference.next_batch(3)
    state = json.loads(json.dumps(reference.state_dict()))
    resumed = BlockSampler(TokenSplit.open(root), 10, rank=1, world_size=2, seed=99)
    resumed.load_state_dict(state)
    assert resumed.state_dict() == reference.state_dict()
    for _ in range(30):  # crosses at least one epoch boundary (about 40 windows per rank)
        (x1, y1), (x2, y2) = reference.next_batch(3), resumed.next_batch(3)
        assert (x1 == x2).all() and (y1 == y2).all()
    assert reference.epoch > state["epoch"]


def test_state_of_other_data_or_layout_is_refused(corpus: tuple[Path, dict], tmp_path: Path) -> None:
    root, splits = corpus
    split = TokenSplit.open(root)
    state = BlockSampler(split, 8, world_size=2).state_dict()
    with pytest.raises(TokenDataError, match="block_size=8"):
        BlockSampler(split, 16, world_size=2).load_state_dict(state)
    with pytest.raises(TokenDataError, match="world_size=2"):
        BlockSampler(split, 8, world_size=3).load_state_dict(state)
    splits["train"]["part-00000-0001"][0][0] += 1  # same sizes, other tokens: other sha256
    other = TokenSplit.open(write_tokens(tmp_path / "other", splits))
    with pytest.raises(TokenDataError, match="shards="):
        BlockSampler(other, 8, world_size=2).load_state_dict(state)
    BlockSampler(split, 8, rank=1, world_size=2).load_state_dict(state)  # rank 0's checkpoint resumes rank 1


def test_iter_blocks_walks_the_windows_in_order(corpus: tuple[Path, dict]) -> None:
    root, _ = corpus
    split, block_size = TokenSplit.open(root, "val"), 12
    stream = np.concatenate([np.asarray(shard.tokens, dtype=np.int64) for shard in split])
    windows = window_count(split, block_size)
    expected = [tuple(stream[k * block_size : (k + 1) * block_size + 1]) for k in range(windows)]
    batches = list(iter_blocks(split, block_size, batch_size=4))
    assert [len(x) for x, _ in batches] == [4] * (windows // 4) + ([windows % 4] if windows % 4 else [])
    assert [key for x, y in batches for key in window_keys(x, y)] == expected
    ranks = [list(iter_blocks(split, block_size, 2, rank=rank, world_size=2)) for rank in (0, 1)]
    assert len(ranks[0]) == len(ranks[1])
    assert [key for x, y in ranks[1] for key in window_keys(x, y)] == expected[1 : 2 * (windows // 2) : 2]
    assert len(list(iter_blocks(split, block_size, 1, max_batches=3))) == 3


def test_empty_split_fails_only_when_sampled(tmp_path: Path) -> None:
    root = write_tokens(tmp_path, {"train": {"part-00000-0000": [[1, 2, 3]] * 10}, "val": {}})
    val = TokenSplit.open(root, "val")
    assert val.tokens == 0 and len(val) == 0
    with pytest.raises(TokenDataError, match="val split .* is empty.*--val-fraction > 0"):
        BlockSampler(val, 8)
    with pytest.raises(TokenDataError, match="val split .* is empty"):
        next(iter_blocks(val, 8, 4))
    train = TokenSplit.open(root)
    with pytest.raises(TokenDataError, match="4 windows of 9 tokens.*fewer than the 5 ranks"):
        BlockSampler(train, 8, world_size=5)
