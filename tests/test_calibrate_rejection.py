"""scripts/calibrate_rejection.py: fits the sampler of shipped weights and keeps the metadata true."""

import json

import pytest

import zoo
from conftest import copy_shipped_weights, load_script
from zoo import _registry, rejection


def test_recalibrates_the_weights_and_rewrites_their_metadata(tmp_path, monkeypatch):
    copy_shipped_weights(tmp_path, "dcgan-mnist")
    stale = json.loads((tmp_path / "dcgan-mnist.json").read_text())
    stale["config"]["temperature"] = 0.5  # as if the registry's temperature had changed since
    (tmp_path / "dcgan-mnist.json").write_text(json.dumps(stale))
    monkeypatch.setattr(rejection, "RELEASE_IMAGES", 1000)
    load_script("calibrate_rejection").main(["dcgan-mnist", "--keep", "0.5", "--weights-dir", str(tmp_path)])
    meta = json.loads((tmp_path / "dcgan-mnist.json").read_text())
    assert meta["sha256"] == _registry.sha256(tmp_path / "dcgan-mnist.weights.h5")
    assert meta["recipe"]["rejection_keep"] == 0.5 and meta["metrics"] == {}
    assert meta["config"] == _registry.get_entry("dcgan-mnist").build().get_config()
    monkeypatch.setenv(_registry.WEIGHTS_ENV, str(tmp_path))
    assert zoo.load("dcgan-mnist").rejection.keep == 0.5
    assert "rejection_strata" not in meta["recipe"]


def test_recalibrates_in_the_strata_the_recipe_names(tmp_path, monkeypatch):
    copy_shipped_weights(tmp_path, "dcgan-mnist")
    monkeypatch.setattr(rejection, "RELEASE_IMAGES", 1000)
    monkeypatch.setitem(_registry.get_entry("dcgan-mnist").recipe, "rejection_strata", 3)
    load_script("calibrate_rejection").main(["dcgan-mnist", "--weights-dir", str(tmp_path)])
    meta = json.loads((tmp_path / "dcgan-mnist.json").read_text())
    assert meta["recipe"]["rejection_strata"] == 3 and meta["recipe"]["rejection_keep"] == 0.8
    monkeypatch.setenv(_registry.WEIGHTS_ENV, str(tmp_path))
    assert len(zoo.load("dcgan-mnist").rejection.thresholds) == 3
    del _registry.get_entry("dcgan-mnist").recipe["rejection_strata"]  # the recipe goes back to the default
    load_script("calibrate_rejection").main(["dcgan-mnist", "--weights-dir", str(tmp_path)])
    assert "rejection_strata" not in json.loads((tmp_path / "dcgan-mnist.json").read_text())["recipe"]
    assert len(zoo.load("dcgan-mnist").rejection.thresholds) == rejection.RELEASE_STRATA


def test_a_model_without_a_recipe_keep_needs_one(tmp_path):
    copy_shipped_weights(tmp_path, "gan-mnist")
    with pytest.raises(SystemExit):
        load_script("calibrate_rejection").main(["gan-mnist", "--weights-dir", str(tmp_path)])
    with pytest.raises(SystemExit):
        load_script("calibrate_rejection").main(["dcgan-mnist", "--keep", "1.5", "--weights-dir", str(tmp_path)])
