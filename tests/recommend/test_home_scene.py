"""The served `home` scene's composition: EASE at three time scales with fixed weights."""

from __future__ import annotations

import json

from qianmian.recommend.train import DEFAULT_MODELS, HOME_WEIGHTS


def test_home_is_ease_at_three_time_scales_with_fixed_weights():
    specs = {m.name: m for m in DEFAULT_MODELS}
    home = specs["home"]
    assert home.kind == "blend" and home.params.get("learn") is False
    assert [specs[p].kind for p in home.parts] == ["ease"] * 3
    assert [specs[p].matrix.half_life_days for p in home.parts] == [120.0, 60.0, None]
    assert home.weights == HOME_WEIGHTS and HOME_WEIGHTS[0] == max(HOME_WEIGHTS)


def test_trained_bundle_keeps_the_fixed_home_weights(models_dir):
    """`train` does not relearn a blend with `"learn": False`: the manifest holds its given weights."""
    manifest = json.loads(next(models_dir.glob("v*/manifest.json")).read_text())
    home = next(m for m in manifest["models"] if m["name"] == "home")
    assert tuple(home["weights"]) == HOME_WEIGHTS and home["parts"] == ["ease", "ease_60d", "ease_all"]
