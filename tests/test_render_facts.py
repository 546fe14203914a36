"""The model summary agrees with itself (issue 11): the headline's layer count is the
"layers:" line's first number, on every real fixture model that has a config."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envdoctor.modelfiles.detect import read_model
from envdoctor.render.facts import layer_count_text

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = sorted(
    p for p in FIXTURES.glob("*/*") if p.suffix in (".keras", ".h5") and ".weights." not in p.name
)


def test_there_are_fixture_models() -> None:
    assert len(MODELS) >= 20


@pytest.mark.parametrize("path", MODELS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_headline_and_layer_line_agree(path: Path) -> None:
    info = read_model(str(path))
    m = re.search(r" with (\d+) layers?", info.summary)
    if m is None:
        assert not info.layers or "weights" in info.summary
        return
    first = re.match(r"(\d+) top-level", layer_count_text(info))
    assert first is not None
    assert first.group(1) == m.group(1), (info.summary, layer_count_text(info))
    total = re.search(r": (\d+) in all\)", layer_count_text(info))
    assert int(total.group(1) if total else first.group(1)) == len(info.layers)
