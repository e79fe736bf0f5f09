"""A training run folder's layout, read without torch: which folder is a run, which run a path belongs to, where a
model's weights are."""

from __future__ import annotations

from pathlib import Path

from training.run_folder import (
    CHECKPOINTS_DIR,
    HF_DIR,
    RUN_RECORD,
    STATE_FILE,
    WEIGHTS_FILE,
    checkpoint_run_folder,
    has_run,
    model_weights_file,
    run_folder_of,
)


def test_a_run_is_known_by_any_file_training_leaves(tmp_path: Path) -> None:
    for name in ("summary.json", CHECKPOINTS_DIR, RUN_RECORD):
        folder = tmp_path / name.replace(".", "_")
        (folder / name).mkdir(parents=True)
        assert has_run(folder)
    (tmp_path / "empty").mkdir()
    assert not has_run(tmp_path / "empty") and not has_run(tmp_path / "missing")


def test_every_path_in_a_run_leads_to_its_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "models" / "tiny" / "v0001"
    step = out / CHECKPOINTS_DIR / "train" / "step-00000100"
    step.mkdir(parents=True)
    (out / HF_DIR).mkdir()
    assert checkpoint_run_folder(step) == out.resolve()
    assert checkpoint_run_folder(out / HF_DIR) is None
    for path in (out, out / HF_DIR, out / CHECKPOINTS_DIR, step):
        assert run_folder_of(path) == out.resolve()
    assert run_folder_of(tmp_path / "gpt2") == (tmp_path / "gpt2").resolve()  # a foreign model is its own


def test_the_weights_of_an_export_a_run_and_a_checkpoint(tmp_path: Path) -> None:
    step = tmp_path / "run" / CHECKPOINTS_DIR / "train" / "step-00000001"
    step.mkdir(parents=True)
    (tmp_path / "run" / HF_DIR).mkdir()
    (step / STATE_FILE).write_bytes(b"")
    (tmp_path / "run" / HF_DIR / WEIGHTS_FILE).write_bytes(b"")
    assert model_weights_file(step) == step / STATE_FILE
    assert model_weights_file(tmp_path / "run") == tmp_path / "run" / HF_DIR / WEIGHTS_FILE
    assert model_weights_file(tmp_path / "run" / HF_DIR) == tmp_path / "run" / HF_DIR / WEIGHTS_FILE
    assert model_weights_file(tmp_path) is None
