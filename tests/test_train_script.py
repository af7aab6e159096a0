"""scripts/train.py's export: weights, metadata, and the rejection sampler where the recipe has one."""

import json

import zoo
from conftest import load_script
from zoo import _registry, rejection

STATE = {"data": "mnist", "epochs_done": 1, "batch_size": 64, "seed": 0, "train_seconds": 60.0,
         "history": {"d_loss": [1.0], "g_loss": [0.5]}}


def test_export_calibrates_where_the_recipe_says_and_records_it(tmp_path, monkeypatch):
    monkeypatch.setattr(rejection, "RELEASE_IMAGES", 1000)
    script = load_script("train")
    for name, keep in (("lsgan-mnist", 0.6), ("gan-mnist", None)):
        model = _registry.get_entry(name).build(seed=0)
        script.export(model, STATE, name, f"python scripts/train.py {name}", tmp_path)
        meta = json.loads((tmp_path / f"{name}.json").read_text())
        assert meta["sha256"] == _registry.sha256(tmp_path / f"{name}.weights.h5")
        assert meta["recipe"].get("rejection_keep") == keep and meta["metrics"] == {}
        monkeypatch.setenv(_registry.WEIGHTS_ENV, str(tmp_path))
        loaded = zoo.load(name)
        assert (loaded.rejection.keep if loaded.rejection else None) == keep
        if keep:
            assert len(loaded.rejection.thresholds) == rejection.RELEASE_STRATA
            assert "rejection_strata" not in meta["recipe"]


def test_export_fits_as_many_strata_as_the_recipe_names(tmp_path, monkeypatch):
    monkeypatch.setattr(rejection, "RELEASE_IMAGES", 1000)
    monkeypatch.setitem(_registry.get_entry("lsgan-mnist").recipe, "rejection_strata", 4)
    model = _registry.get_entry("lsgan-mnist").build(seed=0)
    load_script("train").export(model, STATE, "lsgan-mnist", "python scripts/train.py lsgan-mnist", tmp_path)
    meta = json.loads((tmp_path / "lsgan-mnist.json").read_text())
    assert meta["recipe"]["rejection_strata"] == 4
    monkeypatch.setenv(_registry.WEIGHTS_ENV, str(tmp_path))
    assert len(zoo.load("lsgan-mnist").rejection.thresholds) == 4
