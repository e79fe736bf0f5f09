"""Loading a model to evaluate, ours or Hugging Face's: an export, a checkpoint, a run folder or an MLflow run.

One reference names any trained model, so evaluation can run on what training left wherever it is:
an exported Hugging Face folder (ours or any causal LM's; ``webtext.json`` says which run made it),
a training checkpoint (our ``GPT``, scored at that step, with the tokenizer of its run's export), a
training run folder (its ``hf/``), or an MLflow run id (the training run's ``hf`` artifacts). Each becomes a
``ModelAdapter`` around the model's forward call. Only torch is imported up front (transformers and MLflow
when a reference needs them), so a GPU machine without MLflow can still load a folder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch

from evaluation.adapter import ModelAdapter
from pipeline.tracking import KIND_TAG
from training.checkpoint import model_weights, read_meta
from training.model import GPT, GPTConfig
from training.run_folder import CHECKPOINTS_DIR, HF_DIR, META_FILE, METADATA_FILE, STATE_FILE, checkpoint_run_folder

CONFIG_FILE = "config.json"  # a Hugging Face model folder's
RUN_ID = re.compile(r"[0-9a-f]{32}")  # MLflow's run ids
NO_LIMIT = int(1e30)  # transformers' "no maximum length": texts are windowed here, never truncated by the tokenizer
DEFAULT_MAX_LENGTH = 2048  # lm-eval's, for a model whose config names no context length


def load_model(
    ref: str | Path, device: str = "cpu", batch_size: int = 8, mlflow_uri: str | None = None
) -> ModelAdapter:
    """A model to evaluate, on ``device``: an exported Hugging Face folder, a training checkpoint or run folder, or
    an MLflow training run's id (its ``hf`` artifacts, at ``mlflow_uri`` or ``$MLFLOW_TRACKING_URI``)."""
    check_device(device)
    path = Path(ref).expanduser()
    if path.exists():
        return load_path(path, device, batch_size)
    if RUN_ID.fullmatch(str(ref)):
        return load_run(str(ref), mlflow_uri, device, batch_size)
    raise FileNotFoundError(f"{ref}: no such file or folder, and not an MLflow run id (32 hexadecimal characters)")


def check_device(device: str) -> None:
    try:
        parsed = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device {device!r}: {error}") from error
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: CUDA is not available on this machine")


def load_path(path: Path, device: str, batch_size: int) -> ModelAdapter:
    """A Hugging Face folder, a checkpoint folder or a training run folder, told apart by their files."""
    if not path.is_dir():
        raise ValueError(f"{path} is a file; a model is a folder (a Hugging Face export, a checkpoint or a run folder)")
    if (path / CONFIG_FILE).is_file():
        return load_hf(path, device, batch_size)
    if (path / META_FILE).is_file() or (path / STATE_FILE).is_file():
        return load_checkpoint(path, device, batch_size)
    if (path / HF_DIR / CONFIG_FILE).is_file():
        return load_hf(path / HF_DIR, device, batch_size)
    if (path / CHECKPOINTS_DIR).is_dir():
        raise ValueError(
            f"{path} is a training run folder without its Hugging Face export {path / HF_DIR} (written when training "
            "finishes): finish the run, or name the export"
        )
    raise ValueError(
        f"{path} is not a model folder: expected a Hugging Face export ({CONFIG_FILE}), a training checkpoint "
        f"({STATE_FILE} + {META_FILE}) or a training run folder (with {HF_DIR}/)"
    )


def read_metadata(folder: Path) -> dict[str, Any]:
    """An export's ``webtext.json``, or {} for a folder without one."""
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(metadata, dict):
        raise ValueError(f"{path} holds {type(metadata).__name__}, not an object")
    return metadata


def load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"{folder}: no tokenizer transformers can load offline: {error}") from error
    tokenizer.model_max_length = NO_LIMIT  # so encoding a long text does not warn about the model's context
    return tokenizer


def end_of_text(tokenizer: Any, where: Path | str) -> int:
    """The id that conditions a text's first token and an empty context (lm-eval: the tokenizer's EOS)."""
    if tokenizer.eos_token_id is None:
        raise ValueError(f"{where}: the tokenizer has no end-of-text (eos) token to condition the first token on")
    return int(tokenizer.eos_token_id)


def folder_name(path: Path) -> str:
    """The folder's name, or the run folder's for a run's ``hf/`` export (``models/124M/hf`` is ``124M``)."""
    resolved = path.resolve()
    return resolved.parent.name if resolved.name == HF_DIR and resolved.parent.name else resolved.name


def context_length(config: Any) -> int:
    """The model's context as lm-eval's HFLM reads it from the config."""
    for attribute in ("n_positions", "max_position_embeddings", "n_ctx"):
        if isinstance(getattr(config, attribute, None), int):
            return getattr(config, attribute)
    return DEFAULT_MAX_LENGTH


def load_hf(path: Path, device: str, batch_size: int, name: str | None = None) -> ModelAdapter:
    """A Hugging Face causal LM folder; ``webtext.json``, when there, is the adapter's metadata."""
    from transformers import AutoModelForCausalLM

    metadata = read_metadata(path)
    tokenizer = load_tokenizer(path)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a causal language model transformers can load offline: {error}") from error
    vocab_size, model_vocab = len(tokenizer), model.get_output_embeddings().weight.shape[0]
    # Our exports hold exactly the tokenizer's rows; another model's table may be padded, never smaller
    if vocab_size > model_vocab or (metadata and vocab_size != model_vocab):
        raise ValueError(
            f"{path}: vocabulary mismatch: the tokenizer has {vocab_size} tokens, the model's output layer "
            f"{model_vocab} rows"
        )
    n_params = metadata.get("n_params")
    if not isinstance(n_params, int):
        n_params = sum(parameter.numel() for parameter in model.parameters())  # a tied embedding counted once
    model = model.to(device).eval()
    return ModelAdapter(
        lambda tokens: model(input_ids=tokens, use_cache=False).logits,
        tokenizer,
        name=name or folder_name(path),
        n_params=n_params,
        max_length=context_length(model.config),
        eot_id=end_of_text(tokenizer, path),
        vocab_size=vocab_size,
        metadata=metadata,
        device=device,
        batch_size=batch_size,
        model=model,
    )


def gpt_adapter(
    model: GPT,
    tokenizer: Any,
    name: str,
    metadata: dict[str, Any] | None = None,
    device: str = "cpu",
    batch_size: int = 8,
) -> ModelAdapter:
    """Our ``GPT`` with a tokenizer of its vocabulary (a checkpoint, or a model built in memory)."""
    config = model.config
    if len(tokenizer) != config.vocab_size:
        raise ValueError(
            f"{name}: vocabulary mismatch: the tokenizer has {len(tokenizer)} tokens, the model's vocab_size is "
            f"{config.vocab_size}"
        )
    model = model.to(device).eval()
    return ModelAdapter(
        lambda tokens: model(tokens)[0],
        tokenizer,
        name=name,
        n_params=model.num_parameters(),
        max_length=config.block_size,
        eot_id=end_of_text(tokenizer, name),
        vocab_size=config.vocab_size,
        metadata=metadata,
        device=device,
        batch_size=batch_size,
        model=model,
    )


def load_checkpoint(path: Path, device: str, batch_size: int) -> ModelAdapter:
    """A training checkpoint as our ``GPT``; the tokenizer is the one its run exported (``OUT/hf``)."""
    meta = read_meta(path)
    if meta is None or not isinstance(meta.get("model_config"), dict):
        raise ValueError(
            f"{path} is not a complete training checkpoint: expected {STATE_FILE} and a {META_FILE} with model_config"
        )
    run_dir = checkpoint_run_folder(path)
    export = run_dir / HF_DIR if run_dir is not None else None
    if export is None or not (export / CONFIG_FILE).is_file():
        raise ValueError(
            f"checkpoint {path}: its tokenizer comes from the run's Hugging Face export, not found at "
            f"{export or f'OUT/{HF_DIR} (the checkpoint is not inside a run folder OUT/{CHECKPOINTS_DIR}/)'}"
        )
    exported = read_metadata(export)
    trained_on, exported_from = meta.get("tokens_sha256"), exported.get("tokens_manifest_sha256")
    if trained_on and exported_from and trained_on != exported_from:
        raise ValueError(
            f"checkpoint {path} was trained on another tokens folder than {export} was exported from: its "
            "tokenizer may not be the checkpoint's"
        )
    try:
        config = GPTConfig(**meta["model_config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path / META_FILE}: model_config is not a model shape: {error}") from error
    model = GPT(config)
    model.load_state_dict(model_weights(path))
    metadata = {
        **exported,
        "checkpoint": str(path),
        "step": meta.get("step"),
        "model_config": meta["model_config"],
        "mlflow_run_id": meta.get("mlflow_run_id", exported.get("mlflow_run_id")),
        "n_params": model.num_parameters(),
    }
    assert run_dir is not None
    name = f"{run_dir.name}@{path.name}"
    return gpt_adapter(model, load_tokenizer(export), name, metadata, device, batch_size)


def load_run(run_id: str, mlflow_uri: str | None, device: str, batch_size: int) -> ModelAdapter:
    """A training run's exported model from MLflow: its ``hf`` artifacts, downloaded to a temporary folder."""
    uri = mlflow_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ValueError(f"{run_id} is read as an MLflow run id: pass the tracking URI or set MLFLOW_TRACKING_URI")
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient(uri)
    try:
        run = client.get_run(run_id)
    except MlflowException as error:
        raise ValueError(f"no MLflow run {run_id} at {uri}: {error.message}") from error
    kind = run.data.tags.get(KIND_TAG)
    if kind is not None and kind != "train":
        trained = run.data.tags.get("training_run_id")
        raise ValueError(
            f"MLflow run {run_id} ({run.info.run_name}) is a {kind!r} run, not a training run"
            + (f": the model it evaluated is training run {trained}" if trained else "")
        )
    if not any(info.path == HF_DIR and info.is_dir for info in client.list_artifacts(run_id)):
        raise ValueError(
            f"MLflow run {run_id} ({run.info.run_name}) has no {HF_DIR}/ artifacts: not a training run with an "
            "exported model (an evaluation run's id?)"
        )
    with tempfile.TemporaryDirectory(prefix="webtext-eval-") as temporary:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=HF_DIR, dst_path=temporary, tracking_uri=uri
        )
        adapter = load_hf(Path(local), device, batch_size, name=run.info.run_name or run_id)
    adapter.metadata.setdefault("mlflow_run_id", run_id)
    return adapter
