"""scripts/train.py's export: weights, metadata, and the rejection sampler where the recipe has one."""

import json
import os

import pytest

import zoo
from conftest import load_script
from zoo import _registry, rejection, speed, training

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


def test_export_records_seconds_per_epoch_and_the_machines_it_is_given(tmp_path):
    model = _registry.get_entry("gan-mnist").build(seed=0)
    machines = [{"from_epoch": 0, "cpu": "some CPU", "matmul_gflops": 100.0}]
    load_script("train").export(model, STATE, "gan-mnist", "python scripts/train.py gan-mnist", tmp_path, machines)
    recipe = json.loads((tmp_path / "gan-mnist.json").read_text())["recipe"]
    assert recipe["seconds_per_epoch"] == 60.0 and recipe["machines"] == machines


def test_machine_log_keeps_one_entry_per_invocation_that_trains(tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "matmul_peak_gflops", lambda: 123.456)
    machine_log = load_script("train").MachineLog(tmp_path)
    assert machine_log.machines() == []
    machine_log.on_train_begin()
    first = json.loads((tmp_path / "machines.json").read_text())
    assert [m["from_epoch"] for m in first] == [0] and first[0]["matmul_gflops"] == 123.5
    assert first[0]["cores"] == os.cpu_count() and set(first[0]["threads"]) == set(speed.THREAD_ENV)
    assert machine_log.machines() == []  # no checkpoint yet: the entry holds no epoch of the run

    # stopped after epoch 2, with a later invocation's entry left over from a checkpoint since deleted
    (tmp_path / training.CHECKPOINT).write_bytes(b"")
    (tmp_path / training.STATE).write_text(json.dumps({"name": "gan-mnist", "epochs_done": 2}))
    (tmp_path / "machines.json").write_text(json.dumps(first + [{**first[0], "from_epoch": 5}]))
    assert [m["from_epoch"] for m in machine_log.machines()] == [0]
    machine_log.on_train_begin()
    assert [m["from_epoch"] for m in json.loads((tmp_path / "machines.json").read_text())] == [0, 2]
    (tmp_path / training.STATE).write_text(json.dumps({"name": "gan-mnist", "epochs_done": 3}))
    assert [m["from_epoch"] for m in machine_log.machines()] == [0, 2]


def test_train_script_refused_by_train_logs_no_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "matmul_peak_gflops", lambda: 123.456)
    (tmp_path / training.CHECKPOINT).write_bytes(b"not a keras file")
    (tmp_path / training.STATE).write_text(json.dumps({"name": "gan-mnist", "epochs_done": 2}))
    script = load_script("train")
    with pytest.raises(ValueError, match="cannot be loaded"):
        script.main(["gan-mnist", "--out", str(tmp_path), "--weights-dir", str(tmp_path / "weights")])
    assert not (tmp_path / "machines.json").exists() and not (tmp_path / "weights").exists()
