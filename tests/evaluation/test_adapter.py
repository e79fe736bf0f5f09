"""The model adapter: lm-eval's log-likelihoods, checked against plain per-request forward passes on a tiny model
(context 16, so truncation and several rolling windows happen), the same numbers from every way of naming a
model (export, checkpoint, run folder, MLflow run), and clear errors for anything else."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from evaluation.adapter import ModelAdapter, get_rolling_token_windows, rolling_windows
from evaluation.model_loading import load_model
from pipeline.tokenize.config import TokenizeConfig
from pipeline.tokenize.folder import new_tokenizer
from training.checkpoint import save_checkpoint
from training.export import export_hf
from training.model import GPT, GPTConfig

CONTEXT = 16
PARAGRAPHS = [
    "The web is a large and diverse source of text, and language models learn from it.",
    "Outbound links from Reddit with at least three karma were used as a heuristic for quality.",
    "Documents were deduplicated, filtered, tokenized and packed into windows of tokens.",
    "Zero-shot evaluation asks the model for the probability of a continuation given a context.",
]
TEXTS = [
    " ".join(PARAGRAPHS),  # several windows of 16 tokens
    PARAGRAPHS[1] + "\n\n" + PARAGRAPHS[2],
    "Hi there",  # shorter than one window
]
REQUESTS = [
    ("The model reads", " tokens"),
    (" ".join(PARAGRAPHS[:2]), " quality."),  # longer than the context: left-truncated
    ("", "Hello world"),  # an empty context: end-of-text
    ("Trailing space ", "models"),  # the space moves to the continuation
    ("Two spaces  ", "and a tail"),
    ("Short", " language models learn"),
    (PARAGRAPHS[3], " The web is a large"),  # a long continuation after a truncated context
]
METADATA = {"model_size": "test", "mlflow_run_id": "0" * 32, "tokens_manifest_sha256": "a" * 64}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tokens folder's tokenizer: a 300-id byte-level BPE trained on the paragraphs."""
    folder = tmp_path_factory.mktemp("tokens")
    new_tokenizer(folder, "bpe", TokenizeConfig(tokenizer="bpe", vocab_size=300), lambda: iter(PARAGRAPHS * 20), [])
    return folder


def tiny_model(vocab_size: int, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    model = GPT(GPTConfig(n_layer=1, n_head=2, n_embd=32, block_size=CONTEXT, vocab_size=vocab_size))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.5 * torch.randn_like(parameter))  # sharp, varied predictions
    return model.eval()


@pytest.fixture(scope="module")
def run(tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[GPT, Path]:
    """A training run folder as training leaves it: a checkpoint under checkpoints/ and the export in hf/."""
    vocab_size = json.loads((tokens / "tokenizer" / "identity.json").read_text())["vocab_size"]
    model = tiny_model(vocab_size)
    out = tmp_path_factory.mktemp("runs") / "tiny-run"
    metadata = METADATA | {"n_params": model.num_parameters()}
    export_hf(model, tokens / "tokenizer", out / "hf", metadata)
    meta = {"model_config": dataclasses.asdict(model.config), "tokens_sha256": "a" * 64, "mlflow_run_id": "0" * 32}
    optimizer = torch.optim.AdamW(model.parameters())
    save_checkpoint(out / "checkpoints" / "train" / "step-00000001", model, optimizer, 1, {}, meta)
    return model, out


@pytest.fixture(scope="module")
def adapter(run: tuple[GPT, Path]) -> ModelAdapter:
    return load_model(run[1] / "hf")


def assert_close(actual: list[tuple[float, Any]], expected: list[tuple[float, Any]], tolerance: float) -> None:
    """Log-likelihoods within ``tolerance``, the second fields (is greedy, tokens scored) equal."""
    assert len(actual) == len(expected)
    for (value, other), (expected_value, expected_other) in zip(actual, expected):
        assert value == pytest.approx(expected_value, abs=tolerance) and other == expected_other


def hand_pair(adapter: ModelAdapter, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's encoding rules, written out again with the tokenizer itself."""
    encode = adapter.tokenizer.encode
    if not context:
        return [adapter.eot_id], encode(continuation, add_special_tokens=False)
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    context_enc = encode(context, add_special_tokens=False)
    return context_enc, encode(context + continuation, add_special_tokens=False)[len(context_enc) :]


def hand_logprobs(model: Any, window: list[int], targets: list[int]) -> tuple[float, bool]:
    """One unbatched, unpadded forward pass over ``window``; ``targets`` are its last positions' next tokens."""
    with torch.no_grad():
        logits = model(torch.tensor([window])).logits[0].float()
    logprobs = torch.log_softmax(logits[len(window) - len(targets) :], dim=-1)
    picked = logprobs[torch.arange(len(targets)), torch.tensor(targets)]
    return picked.sum().item(), bool((logprobs.argmax(dim=-1) == torch.tensor(targets)).all())


def hand_rolling(adapter: ModelAdapter, text: str, stride: int) -> tuple[float, int]:
    """Windows ending at context, context + stride, …: each predicts the tokens since the previous end, seeing the
    window's full context (end-of-text before the first token)."""
    tokens = adapter.encode(text)
    full = [adapter.eot_id, *tokens]
    total, previous, end = 0.0, 0, min(CONTEXT, len(tokens))
    while previous < len(tokens):
        start = max(0, end - CONTEXT)
        total += hand_logprobs(adapter.model, full[start:end], tokens[start:end][-(end - previous) :])[0]
        previous, end = end, min(end + stride, len(tokens))
    return total, len(tokens)


def test_loglikelihood_matches_a_plain_forward_pass_per_request(adapter: ModelAdapter) -> None:
    results = adapter.loglikelihood(REQUESTS)
    assert len(results) == len(REQUESTS)
    truncated = 0
    for (context, continuation), (logprob, greedy) in zip(REQUESTS, results):
        context_enc, continuation_enc = hand_pair(adapter, context, continuation)
        assert continuation_enc and len(continuation_enc) <= CONTEXT
        truncated += len(context_enc) + len(continuation_enc) > CONTEXT + 1
        window = (context_enc + continuation_enc)[-(CONTEXT + 1) :][:-1]
        expected, expected_greedy = hand_logprobs(adapter.model, window, continuation_enc)
        assert logprob == pytest.approx(expected, abs=1e-4), (context, continuation)
        assert greedy == expected_greedy
    assert truncated >= 2  # left truncation was exercised
    assert_close(adapter.loglikelihood(REQUESTS[::-1]), results[::-1], 1e-6)  # request order kept


def test_batch_size_does_not_change_the_numbers(run: tuple[GPT, Path]) -> None:
    one = load_model(run[1] / "hf", batch_size=1)
    eight = load_model(run[1] / "hf", batch_size=8)
    assert_close(one.loglikelihood(REQUESTS), eight.loglikelihood(REQUESTS), 1e-5)
    assert_close(one.loglikelihood_rolling(TEXTS), eight.loglikelihood_rolling(TEXTS), 1e-5)


def test_trailing_spaces_move_to_the_continuation(adapter: ModelAdapter) -> None:
    assert adapter.encode_pair("Trailing space ", "models") == adapter.encode_pair("Trailing space", " models")
    assert adapter.encode_pair("", "Hello")[0] == [adapter.eot_id]


def test_is_greedy_for_the_argmax_continuation(adapter: ModelAdapter) -> None:
    context = adapter.encode(PARAGRAPHS[0])[:8]
    with torch.no_grad():
        first = int(adapter.model(torch.tensor([context])).logits[0, -1].argmax())
        second = int(adapter.model(torch.tensor([[*context, first]])).logits[0, -1].argmax())
    other = (second + 1) % adapter.vocab_size
    results = adapter.score([(context, [first, second]), (context, [first, other]), (context, [first])])
    assert [greedy for _, greedy in results] == [True, False, True]
    chain = [adapter.eot_id]  # greedy decoding from end-of-text: every position scored, the other reduction path
    for _ in range(5):
        with torch.no_grad():
            chain.append(int(adapter.model(torch.tensor([chain])).logits[0, -1].argmax()))
    wrong = [*chain[1:-1], (chain[-1] + 1) % adapter.vocab_size]
    results = adapter.score([([adapter.eot_id], chain[1:]), ([adapter.eot_id], wrong)])
    assert [greedy for _, greedy in results] == [True, False]
    assert results[0][0] == pytest.approx(hand_logprobs(adapter.model, chain[:-1], chain[1:])[0], abs=1e-5)


def test_a_continuation_without_tokens_is_an_error(adapter: ModelAdapter) -> None:
    with pytest.raises(ValueError, match=r"request 1 .*encodes to no tokens"):
        adapter.loglikelihood([("a", " b"), ("context", "")])


def test_rolling_scores_every_token_once_as_by_hand(adapter: ModelAdapter) -> None:
    results = adapter.loglikelihood_rolling(TEXTS)
    assert len(adapter.encode(TEXTS[0])) > 3 * CONTEXT  # several windows, the last one partial
    assert len(adapter.encode(TEXTS[2])) < CONTEXT
    for text, (logprob, count) in zip(TEXTS, results):
        assert count == len(adapter.encode(text))
        expected, expected_count = hand_rolling(adapter, text, stride=CONTEXT)  # disjoint windows
        assert count == expected_count and logprob == pytest.approx(expected, abs=1e-4)
    assert adapter.loglikelihood_rolling([""]) == [(0.0, 0)]


@pytest.mark.parametrize("stride", [2, 5, 12])
def test_strided_rolling_scores_every_token_once_as_by_hand(adapter: ModelAdapter, stride: int) -> None:
    for text, (logprob, count) in zip(TEXTS, adapter.loglikelihood_rolling(TEXTS, stride=stride)):
        expected, expected_count = hand_rolling(adapter, text, stride=stride)
        assert count == expected_count and logprob == pytest.approx(expected, abs=1e-4)
    disjoint = adapter.loglikelihood_rolling(TEXTS)
    assert_close(adapter.loglikelihood_rolling(TEXTS, stride=CONTEXT), disjoint, 1e-6)
    with pytest.raises(ValueError, match="stride"):
        adapter.loglikelihood_rolling(TEXTS, stride=CONTEXT + 1)


def test_rolling_windows_are_lm_evals() -> None:
    gold = [  # lm-eval's own test of get_rolling_token_windows (tests/test_utils.py, v1)
        ([-100, *range(9)], list(range(10))),
        (list(range(9, 19)), list(range(10, 20))),
        (list(range(19, 29)), list(range(20, 30))),
        (list(range(23, 33)), list(range(30, 34))),
    ]
    assert list(get_rolling_token_windows(list(range(34)), -100, 10, 1)) == gold
    tokens = list(range(100, 140))  # 40 tokens, context 16: windows predicting 16, 16 and 8
    windows = rolling_windows(tokens, 0, 16, None)
    assert windows[0] == ([0], tokens[:16])
    assert windows[1] == ([tokens[15]], tokens[16:32])
    assert windows[2] == (tokens[23:32], tokens[32:40])  # input = the 16 tokens before the last one predicted
    assert [len((context + continuation)[:-1]) for context, continuation in windows] == [16, 16, 16]
    strided = rolling_windows(tokens, 0, 16, 10)
    assert [len(continuation) for _, continuation in strided] == [16, 10, 10, 4]
    assert strided[1] == (tokens[9:16], tokens[16:26])


def test_export_checkpoint_and_run_folder_give_the_same_numbers(run: tuple[GPT, Path], adapter: ModelAdapter) -> None:
    model, out = run
    checkpoint = load_model(out / "checkpoints" / "train" / "step-00000001")
    assert isinstance(checkpoint.model, GPT)
    assert_close(checkpoint.loglikelihood(REQUESTS), adapter.loglikelihood(REQUESTS), 1e-4)
    assert_close(checkpoint.loglikelihood_rolling(TEXTS), adapter.loglikelihood_rolling(TEXTS), 1e-4)
    folder = load_model(out)
    assert_close(folder.loglikelihood(REQUESTS[:2]), adapter.loglikelihood(REQUESTS[:2]), 1e-6)
    assert (adapter.name, folder.name, checkpoint.name) == ("tiny-run", "tiny-run", "tiny-run@step-00000001")
    assert adapter.metadata["model_size"] == "test" and adapter.metadata["format"].startswith("webtext-hf-export")
    assert adapter.n_params == checkpoint.n_params == model.num_parameters()
    assert checkpoint.metadata["step"] == 1 and checkpoint.metadata["mlflow_run_id"] == "0" * 32
    assert (adapter.max_length, adapter.eot_id, adapter.vocab_size) == (CONTEXT, 0, model.config.vocab_size)


def test_a_folder_without_webtext_json_loads_with_its_parameters_counted(
    run: tuple[GPT, Path], adapter: ModelAdapter, tmp_path: Path
) -> None:
    plain = shutil.copytree(run[1] / "hf", tmp_path / "plain")
    (plain / "webtext.json").unlink()
    loaded = load_model(plain)
    assert (loaded.name, loaded.metadata) == ("plain", {})
    assert loaded.n_params == run[0].num_parameters()  # the tied embedding counted once
    assert_close(loaded.loglikelihood(REQUESTS[:3]), adapter.loglikelihood(REQUESTS[:3]), 1e-6)


def test_bad_references_are_named(run: tuple[GPT, Path], tmp_path: Path) -> None:
    out = run[1]
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_model(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        load_model(tmp_path / "file.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="not a model folder"):
        load_model(tmp_path / "empty")
    lonely = shutil.copytree(out / "checkpoints" / "train" / "step-00000001", tmp_path / "lonely")
    with pytest.raises(ValueError, match="tokenizer comes from the run's Hugging Face export"):
        load_model(lonely)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            load_model(out / "hf", device="cuda")


def test_a_checkpoint_the_tokenizer_does_not_fit_is_refused(run: tuple[GPT, Path], tmp_path: Path) -> None:
    model, out = run
    other = tmp_path / "other-run"
    shutil.copytree(out / "hf", other / "hf")
    wider = tiny_model(model.config.vocab_size + 1)
    meta = {"model_config": dataclasses.asdict(wider.config), "tokens_sha256": "a" * 64}
    step = other / "checkpoints" / "train" / "step-00000002"
    save_checkpoint(step, wider, torch.optim.AdamW(wider.parameters()), 2, {}, meta)
    with pytest.raises(ValueError, match="vocabulary mismatch"):
        load_model(step)
    meta = {"model_config": dataclasses.asdict(model.config), "tokens_sha256": "b" * 64}
    save_checkpoint(step, model, torch.optim.AdamW(model.parameters()), 2, {}, meta)
    with pytest.raises(ValueError, match="another tokens folder"):
        load_model(step)


def test_an_mlflow_run_id_loads_the_runs_export(
    run: tuple[GPT, Path], adapter: ModelAdapter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("webtext", artifact_location=(tmp_path / "mlartifacts").as_uri())
    training = client.create_run(experiment, run_name="train-test").info.run_id
    client.log_artifacts(training, str(run[1] / "hf"), artifact_path="hf")
    loaded = load_model(training, mlflow_uri=uri)
    assert loaded.name == "train-test" and loaded.metadata["model_size"] == "test"
    assert_close(loaded.loglikelihood(REQUESTS), adapter.loglikelihood(REQUESTS), 1e-6)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert_close(load_model(training).loglikelihood_rolling(TEXTS[:1]), adapter.loglikelihood_rolling(TEXTS[:1]), 1e-6)
    evaluation = client.create_run(experiment, tags={"webtext.kind": "evaluate", "training_run_id": training})
    with pytest.raises(ValueError, match=f"'evaluate' run, not a training run: .* training run {training}"):
        load_model(evaluation.info.run_id)
    bare = client.create_run(experiment).info.run_id
    with pytest.raises(ValueError, match="no hf/ artifacts"):
        load_model(bare)
    with pytest.raises(ValueError, match="no MLflow run"):
        load_model("f" * 32)
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    with pytest.raises(ValueError, match="MLFLOW_TRACKING_URI"):
        load_model("f" * 32)


def test_the_numbers_are_lm_evaluation_harness_own(run: tuple[GPT, Path], adapter: ModelAdapter) -> None:
    """lm-eval's HFLM on the same export: the same log-likelihoods, greedy flags and rolling totals."""
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness (a dev dependency) is not installed")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=str(run[1] / "hf"), device="cpu", batch_size=4, dtype="float32")
    assert (lm.max_length, lm.prefix_token_id) == (adapter.max_length, adapter.eot_id)
    theirs = lm.loglikelihood([Instance("loglikelihood", {}, request, i) for i, request in enumerate(REQUESTS)])
    assert_close(adapter.loglikelihood(REQUESTS), [(value, bool(greedy)) for value, greedy in theirs], 1e-4)
    rolling = lm.loglikelihood_rolling(
        [Instance("loglikelihood_rolling", {}, (text,), i) for i, text in enumerate(TEXTS)]
    )
    ours = adapter.loglikelihood_rolling(TEXTS)
    assert [value for value, _ in ours] == pytest.approx(rolling, abs=1e-3)
