"""The evaluation config checks its fields once, when it is built; what it passes on is not checked again."""

from __future__ import annotations

import pytest

from evaluation.config import EvalConfig
from evaluation.tasks import EvalOptions


def test_the_stride_is_checked_when_the_config_is_built() -> None:
    assert EvalConfig().stride is None and EvalConfig(stride=512).stride == 512
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="stride"):
            EvalConfig(stride=bad)  # type: ignore[arg-type]
    assert EvalOptions().stride is None and EvalOptions(stride=512).stride == 512
