"""scripts/time_to_quality.py: training scored against the bar after every epoch, resumable."""

import json

import keras
import numpy as np
import pytest
from conftest import load_script

from zoo import training
from zoo.training import train


def run_args(tmp_path, epochs):
    return ["gan-mnist", "--max-epochs", str(epochs), "--limit", "128", "-n", "300", "--out", str(tmp_path)]


def test_records_each_epoch_and_resumes(tmp_path, capsys):
    script = load_script("time_to_quality")
    script.main(run_args(tmp_path, 1))
    record = json.loads((tmp_path / "quality.json").read_text())
    assert set(record["references"]) == {"blurred_fcd", "baseline_fcd"}
    (epoch,) = record["epochs"]
    assert epoch["epoch"] == 1 and epoch["train_minutes"] > 0
    # two steps of training are far from the bar: the misses say which parts and by how much
    assert any(miss.startswith("classifier_score") for miss in epoch["misses"])
    out = capsys.readouterr().out
    assert '"cleared": false' in out and '"upper_bound": false' in out
    summary = json.loads(out[out.index("{\n"):])
    assert summary["metrics"] == epoch["metrics"] and "classifier_score" in summary["metrics"]
    # the machine that trained, with its matmul speed, so minutes can be compared across machines
    (machine,) = record["machines"]
    assert machine["from_epoch"] == 0 and machine["cores"] >= 1 and machine["cpu"] and machine["matmul_gflops"] > 0
    assert summary["machines"] == [machine]
    assert summary["seconds_per_epoch"] == pytest.approx(epoch["train_minutes"] * 60, abs=0.1)
    # a second run reads the record instead of training again
    checkpoint = (tmp_path / "checkpoint.keras").stat().st_mtime_ns
    script.main(run_args(tmp_path, 1))
    assert json.loads((tmp_path / "quality.json").read_text())["epochs"] == [epoch]
    assert (tmp_path / "checkpoint.keras").stat().st_mtime_ns == checkpoint
    # a longer run goes on from the checkpoint and scores only the new epoch
    script.main(run_args(tmp_path, 2))
    epochs = json.loads((tmp_path / "quality.json").read_text())["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2] and epochs[0] == epoch
    machines = json.loads((tmp_path / "quality.json").read_text())["machines"]
    assert [m["from_epoch"] for m in machines] == [0, 1] and machines[0] == machine
    assert epochs[1]["train_minutes"] > epoch["train_minutes"]
    # stopped between epoch 2's checkpoint and its score: the checkpoint is scored, not trained further
    (tmp_path / "quality.json").write_text(json.dumps({**record, "epochs": epochs[:1]}))
    checkpoint = (tmp_path / "checkpoint.keras").stat().st_mtime_ns
    script.main(run_args(tmp_path, 2))
    assert json.loads((tmp_path / "quality.json").read_text())["epochs"] == epochs
    assert (tmp_path / "checkpoint.keras").stat().st_mtime_ns == checkpoint


def test_stops_at_the_first_epoch_that_clears_the_bar(tmp_path, monkeypatch, capsys):
    script = load_script("time_to_quality")
    verdicts = iter([["classifier_score 8.0 < 9.3"], [], ["never asked"]])
    monkeypatch.setattr(script, "quality_bar_misses", lambda metrics, **references: next(verdicts))
    script.main(run_args(tmp_path, 3))
    record = json.loads((tmp_path / "quality.json").read_text())
    assert [e["misses"] for e in record["epochs"]] == [["classifier_score 8.0 < 9.3"], []]
    assert json.loads((tmp_path / "state.json").read_text())["epochs_done"] == 2
    summary = capsys.readouterr().out
    assert '"cleared": true' in summary and '"epochs": 2' in summary


def test_epochs_before_score_from_are_not_scored(tmp_path, monkeypatch, capsys):
    script = load_script("time_to_quality")
    monkeypatch.setattr(script, "quality_bar_misses", lambda metrics, **references: [])
    script.main(run_args(tmp_path, 3) + ["--score-from", "2"])
    record = json.loads((tmp_path / "quality.json").read_text())
    assert [e["epoch"] for e in record["epochs"]] == [2]
    out = capsys.readouterr().out
    assert "epoch 1: not scored" in out
    # epoch 1 was never looked at, so clearing at epoch 2 only bounds the time to quality
    assert '"cleared": true' in out and '"epochs": 2' in out and '"upper_bound": true' in out


def test_score_every_scores_every_mth_epoch_and_the_last(tmp_path, monkeypatch, capsys):
    script = load_script("time_to_quality")
    verdicts = iter([["recall 0.70 < 0.75"], ["recall 0.74 < 0.75"], []])
    monkeypatch.setattr(script, "quality_bar_misses", lambda metrics, **references: next(verdicts))
    script.main(run_args(tmp_path / "last", 4) + ["--score-every", "2"])
    record = json.loads((tmp_path / "last" / "quality.json").read_text())
    # 1, 3, then 4 because it is the last; 4 clears and 3 was scored, so 4 is the first that clears
    assert [e["epoch"] for e in record["epochs"]] == [1, 3, 4]
    out = capsys.readouterr().out
    assert "epoch 2: not scored" in out
    assert '"cleared": true' in out and '"epochs": 4' in out and '"upper_bound": false' in out

    verdicts = iter([["recall 0.70 < 0.75"], [], ["never asked"]])
    script.main(run_args(tmp_path / "gap", 5) + ["--score-from", "2", "--score-every", "2"])
    record = json.loads((tmp_path / "gap" / "quality.json").read_text())
    assert [e["epoch"] for e in record["epochs"]] == [2, 4]
    assert json.loads((tmp_path / "gap" / "state.json").read_text())["epochs_done"] == 4
    # epoch 3 was not scored and may have cleared already
    out = capsys.readouterr().out
    assert '"cleared": true' in out and '"epochs": 4' in out and '"upper_bound": true' in out


def test_score_from_past_the_last_epoch_is_refused_before_training(tmp_path, capsys):
    script = load_script("time_to_quality")
    with pytest.raises(SystemExit):
        script.main(run_args(tmp_path, 1) + ["--score-from", "2"])
    assert "no epoch would be scored" in capsys.readouterr().err
    assert not (tmp_path / "checkpoint.keras").exists()


def test_scoring_between_epochs_leaves_the_training_run_unchanged(tmp_path):
    """The timed run must be the shipped recipe's run: scoring inside fit draws no training randomness."""
    load_script("time_to_quality").main(run_args(tmp_path / "scored", 2))
    scored = train("gan-mnist", epochs=2, out_dir=tmp_path / "scored", seed=0, verbose=0)[0]
    plain = train("gan-mnist", epochs=2, out_dir=tmp_path / "plain", seed=0, limit=128, verbose=0)[0]
    for a, b in zip(scored.weights, plain.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)


def test_overrides_train_the_run_stay_on_resume_and_are_recorded_beside_the_shipped_recipe(tmp_path, monkeypatch, capsys):
    script = load_script("time_to_quality")
    root = tmp_path / "root"
    (root / "weights").mkdir(parents=True)
    shipped = {"time_to_quality": {"cleared": True, "epochs": 76}}
    (root / "weights" / "gan-mnist.json").write_text(json.dumps(shipped))
    monkeypatch.setattr(script, "ROOT", root)
    verdicts = iter([["classifier_score 8.0 < 9.3"], []])
    monkeypatch.setattr(script, "quality_bar_misses", lambda metrics, **references: next(verdicts))
    out = tmp_path / "run"
    script.main(run_args(out, 1) + ["--jit-compile", "--steps-per-execution", "2", "--g-lr", "4e-4", "--r1-every", "2",
                                    "--write-metadata"])
    state = json.loads((out / "state.json").read_text())
    assert state["jit_compile"] is True and state["steps_per_execution"] == 2
    assert state["model_options"] == {"r1_every": 2}  # a model setting, built into the run's model
    overrides = {"jit_compile": True, "steps_per_execution": 2, "g_lr": 4e-4, "r1_every": 2}
    meta = json.loads((root / "weights" / "gan-mnist.json").read_text())
    assert meta["time_to_quality"] == shipped["time_to_quality"]  # the shipped recipe's record stays
    assert meta["time_to_quality_with_overrides"]["overrides"] == overrides
    assert meta["time_to_quality_with_overrides"]["cleared"] is False
    # resumed without the flags: epoch 2 trains with the run's overrides, and its result replaces the first
    script.main(run_args(out, 2) + ["--write-metadata"])
    assert json.loads((out / "state.json").read_text())["epochs_done"] == 2
    model = keras.saving.load_model(out / training.CHECKPOINT)
    assert model.jit_compile is True and model.steps_per_execution == 2 and model.r1_every == 2
    assert float(model.g_optimizer.learning_rate) == pytest.approx(4e-4)
    meta = json.loads((root / "weights" / "gan-mnist.json").read_text())
    assert meta["time_to_quality"] == shipped["time_to_quality"]
    result = meta["time_to_quality_with_overrides"]
    assert result["cleared"] is True and result["epochs"] == 2 and result["overrides"] == overrides
    # other overrides for the same run are refused before anything trains
    capsys.readouterr()
    with pytest.raises(SystemExit):
        script.main(run_args(out, 3) + ["--batch-size", "32"])
    assert "started with overrides" in capsys.readouterr().err
    assert json.loads((out / "state.json").read_text())["epochs_done"] == 2


def test_refused_by_train_logs_no_machine(tmp_path, monkeypatch):
    """A damaged checkpoint stops `train` before `fit`: quality.json gains no machine entry."""
    script = load_script("time_to_quality")
    monkeypatch.setattr(script, "training_machine", lambda from_epoch: {"from_epoch": from_epoch})
    (tmp_path / training.CHECKPOINT).write_bytes(b"not a keras file")
    (tmp_path / training.STATE).write_text(json.dumps({"name": "gan-mnist", "epochs_done": 2}))
    record = {"epochs": [], "references": {"blurred_fcd": 50.0, "baseline_fcd": 80.0}, "machines": [{"from_epoch": 0}]}
    (tmp_path / "quality.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="cannot be loaded"):  # epoch 2 is not scored: the refusal is in training
        script.main([*run_args(tmp_path, 4), "--score-from", "3"])
    assert json.loads((tmp_path / "quality.json").read_text())["machines"] == [{"from_epoch": 0}]


def test_a_run_whose_record_is_lost_resumes_with_the_overrides_its_state_shows(tmp_path, monkeypatch):
    script = load_script("time_to_quality")
    monkeypatch.setattr(script, "quality_bar_misses", lambda metrics, **references: ["classifier_score 8.0 < 9.3"])
    script.main(run_args(tmp_path, 1) + ["--steps-per-execution", "2", "--batch-size", "32", "--r1-every", "2",
                                         "--g-lr", "4e-4", "--mixed-precision", "--loss", "hinge", "--temperature", "0.9"])
    (tmp_path / "quality.json").unlink()
    script.main(run_args(tmp_path, 2))  # without the flags
    record = json.loads((tmp_path / "quality.json").read_text())
    # all of them, the learning rate too (the recipe's D rate is not an override)
    assert record["overrides"] == {"steps_per_execution": 2, "batch_size": 32, "r1_every": 2, "loss": "hinge",
                                   "temperature": 0.9, "precision": "mixed_bfloat16", "g_lr": 4e-4}
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["epochs_done"] == 2 and state["batch_size"] == 32 and state["precision"] == "mixed_bfloat16"
    assert state["learning_rates"] == {"g_lr": 4e-4, "d_lr": 2e-4}
    resumed = keras.saving.load_model(tmp_path / training.CHECKPOINT)
    assert resumed.loss_name == "hinge" and resumed.temperature == 0.9
    assert float(resumed.g_optimizer.learning_rate) == pytest.approx(4e-4)  # the resumed epoch trained at it


def test_a_lost_record_recovers_the_learning_rate_decay_from_the_state():
    script = load_script("time_to_quality")
    state = {"jit_compile": False, "batch_size": 64, "lr_decay": {"from": 28, "to": 56}, "model_options": {}}
    assert script.overrides_in_state(state, {"batch_size": 64}) == {"lr_decay_from": 28}
    assert script.overrides_in_state({**state, "lr_decay": None}, {"batch_size": 64}) == {}
    # the learning rates the state keeps, where they are not the recipe's
    rates = {"learning_rates": {"g_lr": 4e-4, "d_lr": 2e-4}}
    assert script.overrides_in_state({**state, **rates}, {"batch_size": 64}) == {"lr_decay_from": 28, "g_lr": 4e-4}
    assert script.overrides_in_state({**state, **rates}, {"g_lr": 4e-4}) == {"lr_decay_from": 28}
    assert script.train_arguments({"lr_decay_from": 28, "r1_every": 8}) == {"lr_decay_from": 28,
                                                                            "model_options": {"r1_every": 8}}


def test_rejection_keep_draws_the_scored_samples_through_a_refitted_sampler(tmp_path, monkeypatch, capsys):
    script = load_script("time_to_quality")
    fitted, fit_for_release = [], script.calibrate_for_release

    def calibrate(model, dataset, keep, strata):
        fitted.append(keep)
        return fit_for_release(model, dataset, keep, strata)

    monkeypatch.setattr(script, "calibrate_for_release", calibrate)
    script.main(run_args(tmp_path, 1) + ["--rejection-keep", "0.7"])
    assert fitted == [0.7]  # gan-mnist's recipe samples every draw: the override fits a sampler
    record = json.loads((tmp_path / "quality.json").read_text())
    assert record["overrides"] == {"rejection_keep": 0.7}
    assert '"rejection_keep": 0.7' in capsys.readouterr().out
    # training never sees it, and the checkpoint is left without the sampler
    assert keras.saving.load_model(tmp_path / training.CHECKPOINT).rejection is None
    # 1 keeps every draw, even where the recipe rejects some; without the flag the recipe's share
    assert script.scoring_keep({"rejection_keep": 1.0}, {"rejection_keep": 0.5}) is None
    assert script.scoring_keep({}, {"rejection_keep": 0.5}) == 0.5
    assert script.scoring_keep({"rejection_keep": 0.6}, {}) == 0.6


@pytest.mark.parametrize("keep", ["0", "1.5", "-0.2", "most"])
def test_a_rejection_keep_outside_0_1_is_refused(tmp_path, keep, capsys):
    script = load_script("time_to_quality")
    with pytest.raises(SystemExit):
        script.main(run_args(tmp_path, 1) + ["--rejection-keep", keep])
    assert "--rejection-keep" in capsys.readouterr().err
    assert not (tmp_path / "state.json").exists()
