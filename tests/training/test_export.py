"""The Hugging Face export: ``GPT2LMHeadModel`` and ``AutoTokenizer`` load it offline, compute our logits and
encode as our tokenizers do, for GPT-2's tokenizer and a trained BPE; the folder is readable and replaced whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.encoders import BpeEncoder, Encoder, Gpt2Encoder
from pipeline.tokenize.folder import new_tokenizer
from training.export import EXPORT_FORMAT, ExportError, export_hf
from training.model import GPT, GPTConfig

GPT2_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gpt2"  # as conftest's shared_data
TEXTS = [
    "Hello world",
    " leading space, trailing space ",
    "Ünïcödé façade — naïve café; 日本語のテキスト; Ελληνικά",
    "emoji 🤖🚀 and a family 👨\u200d👩\u200d👧 in one line",
    "tabs\tand\n\nnewlines   runs of spaces\r\n",
    "it's, we'll, they'd: 12345 + 6.78 = $$",
]
BPE_CORPUS = [f"{text} Document {i} talks about models, tokens and the web." for i in range(40) for text in TEXTS]
METADATA = {"model_size": "tiny", "n_params": 123, "mlflow_run_id": "abc123", "tokens_manifest_sha256": "f" * 64}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def random_model(config: GPTConfig, seed: int = 0) -> GPT:
    """A model with every parameter perturbed, so biases and LayerNorms are no longer their 0/1 initial values."""
    torch.manual_seed(seed)
    model = GPT(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return model.eval()


@pytest.fixture(scope="module")
def gpt2_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tokens folder with GPT-2's tokenizer, as ``webtext tokenize`` saves it."""
    if not GPT2_DIR.is_dir():
        pytest.skip(f"GPT-2's encoder.json and vocab.bpe not found at {GPT2_DIR} (clone with ../shared beside)")
    tokens = tmp_path_factory.mktemp("tokens-gpt2")
    new_tokenizer(tokens, "gpt2", TokenizeConfig(tokenizer="gpt2", gpt2_vocab_dir=GPT2_DIR), list, [])
    return tokens


@pytest.fixture(scope="module")
def bpe_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tokens folder with a byte-level BPE trained here."""
    tokens = tmp_path_factory.mktemp("tokens-bpe")
    config = TokenizeConfig(tokenizer="bpe", vocab_size=600, bpe_min_frequency=2)
    new_tokenizer(tokens, "bpe", config, lambda: iter(BPE_CORPUS), [])
    return tokens


@pytest.fixture(scope="module")
def gpt2_export(gpt2_tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GPT, Path]]:
    model = random_model(GPTConfig.named("tiny"))
    out = tmp_path_factory.mktemp("exports") / "gpt2-tiny"
    yield model, export_hf(model, gpt2_tokens / "tokenizer", out, METADATA)


def load_hf(path: Path) -> Any:
    from transformers import GPT2LMHeadModel

    model, info = GPT2LMHeadModel.from_pretrained(path, local_files_only=True, output_loading_info=True)
    assert not any(info.values()), info  # no missing, unexpected or mismatched weights: nothing re-initialised
    return model.eval()


def assert_same_logits(ours: GPT, exported: Path) -> None:
    hf = load_hf(exported)
    assert hf.config.vocab_size == ours.config.vocab_size and hf.config.n_positions == ours.config.block_size
    torch.manual_seed(1)
    idx = torch.randint(0, ours.config.vocab_size, (2, ours.config.block_size))
    with torch.no_grad():
        expected, _ = ours(idx)
        actual = hf(idx).logits
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() <= 1e-4


def assert_encodes_like(exported: Path, encoder: Encoder, block_size: int) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(exported, local_files_only=True)
    assert len(tokenizer) == encoder.spec.vocab_size
    assert tokenizer.eos_token_id == tokenizer.bos_token_id == encoder.spec.eot_id
    assert tokenizer.model_max_length == block_size
    for text, ours in zip(TEXTS, encoder.encode(TEXTS)):
        ids = tokenizer(text)["input_ids"]  # no BOS/EOS added, as GPT-2's tokenizer does
        assert ids == ours.tolist(), text
        assert tokenizer.decode(ids) == text


def test_gpt2_export_loads_offline_with_our_logits(gpt2_export: tuple[GPT, Path]) -> None:
    model, exported = gpt2_export
    config = json.loads((exported / "config.json").read_text())
    assert config["vocab_size"] == 50257  # the padded rows (50,304) trimmed back to GPT-2's vocabulary
    assert (config["activation_function"], config["layer_norm_epsilon"], config["tie_word_embeddings"]) == (
        "gelu_new",
        1e-5,
        True,
    )
    assert config["bos_token_id"] == config["eos_token_id"] == 50256
    assert_same_logits(model, exported)


def test_gpt2_export_tokenizer_encodes_like_ours(gpt2_export: tuple[GPT, Path], gpt2_tokens: Path) -> None:
    _, exported = gpt2_export
    assert (exported / "vocab.json").read_bytes() == (gpt2_tokens / "tokenizer" / "encoder.json").read_bytes()
    assert (exported / "merges.txt").read_bytes() == (gpt2_tokens / "tokenizer" / "vocab.bpe").read_bytes()
    encoder = Gpt2Encoder({name: gpt2_tokens / "tokenizer" / name for name in ("encoder.json", "vocab.bpe")})
    assert_encodes_like(exported, encoder, block_size=256)


def test_export_writes_metadata_and_readable_files(gpt2_export: tuple[GPT, Path], gpt2_tokens: Path) -> None:
    model, exported = gpt2_export
    metadata = json.loads((exported / "webtext.json").read_text())
    assert {key: metadata[key] for key in METADATA} == METADATA
    assert metadata["format"] == EXPORT_FORMAT
    assert metadata["model_config"]["n_layer"] == model.config.n_layer
    identity = json.loads((gpt2_tokens / "tokenizer" / "identity.json").read_text())
    assert metadata["tokenizer"] == identity
    files = {path.name for path in exported.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer_config.json"} <= files
    for path in [exported, *exported.iterdir()]:
        assert path.stat().st_mode & 0o044 == 0o044, path  # save_pretrained's 0600 would hide it from others
    assert [path.name for path in exported.parent.iterdir()] == [exported.name]  # no temporaries left


@pytest.mark.parametrize("bias", [True, False])
def test_bpe_export_loads_with_our_logits_and_encoding(bpe_tokens: Path, tmp_path: Path, bias: bool) -> None:
    encoder = BpeEncoder(bpe_tokens / "tokenizer" / "tokenizer.json")
    assert encoder.spec.eot_id == 0
    config = GPTConfig.named("tiny", vocab_size=encoder.spec.vocab_size, block_size=64, bias=bias)
    model = random_model(config)
    exported = export_hf(model, bpe_tokens, tmp_path / "bpe", {"model_size": "tiny"})  # the tokens folder works too
    hf_config = json.loads((exported / "config.json").read_text())
    assert hf_config["eos_token_id"] == 0 and hf_config["vocab_size"] == encoder.spec.vocab_size
    assert_same_logits(model, exported)
    assert_encodes_like(exported, encoder, block_size=64)


def test_export_replaces_an_earlier_export_but_never_a_foreign_folder(bpe_tokens: Path, tmp_path: Path) -> None:
    encoder = BpeEncoder(bpe_tokens / "tokenizer" / "tokenizer.json")
    config = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=encoder.spec.vocab_size)
    out = tmp_path / "export"
    export_hf(random_model(config, seed=0), bpe_tokens, out, {"run": 1})
    second = random_model(config, seed=1)
    export_hf(second, bpe_tokens, out, {"run": 2})
    assert json.loads((out / "webtext.json").read_text())["run"] == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export"]
    assert_same_logits(second, out)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not replacing"):
        export_hf(second, bpe_tokens, foreign, {})
    assert (foreign / "notes.txt").read_text() == "mine"


def test_export_refuses_inconsistent_inputs(bpe_tokens: Path, tmp_path: Path) -> None:
    encoder = BpeEncoder(bpe_tokens / "tokenizer" / "tokenizer.json")
    wrong_vocab = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=encoder.spec.vocab_size + 1)
    with pytest.raises(ExportError, match="vocab_size"):
        export_hf(random_model(wrong_vocab), bpe_tokens, tmp_path / "a", {})
    model = random_model(GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8, vocab_size=encoder.spec.vocab_size))
    with pytest.raises(ExportError, match="written by the export"):
        export_hf(model, bpe_tokens, tmp_path / "b", {"format": "mine"})
    with pytest.raises(ExportError, match="has no tokenizer"):
        export_hf(model, tmp_path, tmp_path / "c", {})
    changed = tmp_path / "changed"
    (changed / "tokenizer").mkdir(parents=True)
    for path in (bpe_tokens / "tokenizer").iterdir():
        (changed / "tokenizer" / path.name).write_bytes(path.read_bytes())
    (changed / "tokenizer" / "tokenizer.json").write_text("{}")
    with pytest.raises(ExportError, match="changed since"):
        export_hf(model, changed, tmp_path / "d", {})
    assert sorted(path.name for path in tmp_path.iterdir()) == ["changed"]  # nothing half-written left behind
