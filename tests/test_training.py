"""Reliability of `zoo.training`: SIGKILL and resume, the divergence guard, determinism, tf.distribute."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import IMAGE_MODELS
from zoo._registry import get_entry
from zoo.cli import main
from zoo.training import CHECKPOINT, STATE, TrainingDiverged, train

TESTS = Path(__file__).resolve().parent
TINY = ["--limit", "256", "--batch-size", "32", "--seed", "0"]  # 8 steps an epoch
ENV = {**os.environ, "PYTHONPATH": str(TESTS.parent), "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def state_of(out):
    return json.loads((out / STATE).read_text())


def wait_for(condition, process, timeout=180):
    deadline = time.time() + timeout
    while not condition():
        assert process.poll() is None, f"training ended early: {process.communicate()}"
        assert time.time() < deadline, "timed out waiting for training"
        time.sleep(0.01)


def start_slow_training(out, epochs, batch_delay, save_delay):
    args = ["gan-mnist", "--epochs", str(epochs), "--out", str(out), *TINY]
    command = [sys.executable, str(TESTS / "_train_slowly.py"), str(batch_delay), str(save_delay), *args]
    return subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(out, epochs):
    """Run the same command again without delays; it must resume and complete."""
    result = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "train", "gan-mnist", "--epochs", str(epochs), "--out", str(out), *TINY],
        env=ENV, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def assert_complete(out, epochs):
    state = state_of(out)
    assert state["epochs_done"] == epochs
    assert all(len(values) == epochs for values in state["history"].values())
    model = keras.saving.load_model(out / CHECKPOINT, safe_mode=True)
    assert model.g_optimizer.iterations.numpy() == epochs * 8  # no epoch lost, none trained twice


def test_sigkill_in_the_middle_of_an_epoch_then_resume(tmp_path):
    out = tmp_path / "run"
    process = start_slow_training(out, epochs=3, batch_delay=0.25, save_delay=0.0)
    wait_for(lambda: (out / STATE).is_file() and state_of(out)["epochs_done"] == 1, process)
    time.sleep(0.6)  # a few batches into epoch 2 (of 2 s: room for a stall on a loaded machine)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state_of(out)["epochs_done"] == 1
    assert "resuming gan-mnist from epoch 1" in finish(out, 3)
    assert_complete(out, 3)


def test_sigkill_during_a_checkpoint_write_keeps_the_previous_checkpoint(tmp_path):
    out = tmp_path / "run"
    partial = out / (CHECKPOINT + ".tmp.keras")
    process = start_slow_training(out, epochs=3, batch_delay=0.0, save_delay=1.0)
    wait_for(lambda: (out / STATE).is_file() and state_of(out)["epochs_done"] == 1, process)
    first = (out / CHECKPOINT).read_bytes()
    wait_for(partial.is_file, process)  # epoch 2's checkpoint is being written
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert partial.is_file(), "the kill landed during the write"
    assert (out / CHECKPOINT).read_bytes() == first and state_of(out)["epochs_done"] == 1
    keras.saving.load_model(out / CHECKPOINT, safe_mode=True)  # still a valid checkpoint
    assert "resuming gan-mnist from epoch 1" in finish(out, 3)
    assert_complete(out, 3)


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    train("gan-mnist", epochs=1, out_dir=out, batch_size=32, seed=0, limit=64, verbose=0)
    good = (out / CHECKPOINT).read_bytes()
    with pytest.raises(TrainingDiverged, match=r"became (nan|inf).*checkpoint of epoch 1 .* is intact"):
        train("gan-mnist", epochs=3, out_dir=out, batch_size=32, limit=64, g_lr=1e12, d_lr=1e12, verbose=0)
    assert (out / CHECKPOINT).read_bytes() == good
    assert state_of(out)["epochs_done"] == 1 and len(state_of(out)["history"]["g_loss"]) == 1

    code = main(["train", "gan-mnist", "--epochs", "3", "--out", str(out), "--limit", "64",
                 "--batch-size", "32", "--g-lr", "1e12", "--d-lr", "1e12"])
    err = capsys.readouterr().err
    assert code == 1 and "training diverged" in err and "Traceback" not in err
    assert (out / CHECKPOINT).read_bytes() == good


def test_first_epoch_losses_are_identical_in_two_deterministic_runs(tmp_path):
    command = [sys.executable, "-m", "zoo.cli", "train", "dcgan-mnist", "--epochs", "1", "--deterministic", *TINY]
    runs = [
        subprocess.Popen(command + ["--out", str(tmp_path / f"run{i}")], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()[-2000:]
    first, second = (state_of(tmp_path / f"run{i}")["history"] for i in range(2))
    assert first == second and set(first) == {"d_loss", "g_loss"}


def test_a_resumed_run_repeats_the_uninterrupted_run_exactly(tmp_path):
    """The checkpoint holds every state (weights, optimizers, noise seeds) and a resumed run
    draws the data orders of the epochs it skips, so its losses are the uninterrupted run's."""
    def run(out, epochs):
        command = [sys.executable, "-m", "zoo.cli", "train", "gan-mnist", "--epochs", str(epochs),
                   "--deterministic", "--out", str(out), *TINY]
        result = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]

    run(tmp_path / "whole", 3)
    run(tmp_path / "split", 1)
    run(tmp_path / "split", 3)
    whole, split = state_of(tmp_path / "whole")["history"], state_of(tmp_path / "split")["history"]
    assert len(whole["g_loss"]) == 3 and split == whole


# One model per kind of train step: the Fashion-MNIST entries are the classes of dcgan-mnist and cgan-mnist.
MNIST_MODELS = [name for name in IMAGE_MODELS if get_entry(name).dataset == "mnist"]


def test_one_mirrored_step_on_two_devices_equals_one_single_device_step():
    result = subprocess.run(
        [sys.executable, str(TESTS / "_mirrored_step.py"), *MNIST_MODELS],
        env=ENV, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name, row in json.loads(result.stdout.splitlines()[-1]).items():
        assert row["replicas"] == 2
        assert row["weight_change"] > 1e-3, f"{name}: the step moved the weights"
        # Sizes are L2 norms over the trained weights. Float reduction order differs between the runs
        # (~1e-6 of the step); a loss not divided by the replica count is off by 100% (gan-mnist) to
        # 1600% (wgan-gp-mnist) of the step.
        assert row["weight_difference"] < 0.01 * row["weight_change"], f"{name}: {row}"
        for key, value in row["single_losses"].items():
            assert row["mirrored_losses"][key] == pytest.approx(value, rel=1e-5)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_local_workers_finish_an_epoch_together(tmp_path):
    workers = [f"localhost:{port}" for port in free_ports(2)]
    out = tmp_path / "run"
    processes = []
    for index in range(2):
        env = {**ENV, "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})}
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "zoo.cli", "train", "gan-mnist", "--epochs", "1", "--strategy", "multiworker",
             "--out", str(out), *TINY],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    try:
        outputs = [p.communicate(timeout=300)[0] for p in processes]
    finally:
        for p in processes:
            p.kill()
    assert [p.returncode for p in processes] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert state_of(out)["epochs_done"] == 1  # the chief's run directory
    assert state_of(out / "worker-1")["epochs_done"] == 1  # the other worker keeps its copy apart
    chief = keras.saving.load_model(out / CHECKPOINT, safe_mode=True)
    other = keras.saving.load_model(out / "worker-1" / CHECKPOINT, safe_mode=True)
    for a, b in zip(chief.generator.get_weights(), other.generator.get_weights()):
        assert (a == b).all(), "both workers applied the same all-reduced updates"


def test_finetune_starts_from_the_pretrained_weights_and_freezes_d_layers(tmp_path):
    import zoo

    out = tmp_path / "run"
    code = main(["finetune", "gan-mnist", "--data", "fashion_mnist", "--epochs", "1", "--limit", "64",
                 "--batch-size", "32", "--freeze-d-layers", "1", "--out", str(out)])
    assert code == 0
    state = state_of(out)
    assert state["finetuned_from"] and state["frozen_discriminator_layers"] == 1 and state["data"] == "fashion_mnist"
    pretrained = zoo.load("gan-mnist", compile=False)
    tuned = keras.saving.load_model(out / CHECKPOINT, safe_mode=True)
    first, second = [layer for layer in tuned.discriminator.layers if layer.weights][:2]
    assert not first.trainable and second.trainable  # still frozen after the checkpoint's reload
    before = [layer.get_weights()[0] for layer in pretrained.discriminator.layers if layer.weights]
    np.testing.assert_array_equal(first.get_weights()[0], before[0])  # frozen
    assert not np.array_equal(second.get_weights()[0], before[1])  # trained
    # Two Adam steps (lr 2e-4) from the pretrained generator, not from a random one.
    for tuned_weight, start in zip(tuned.generator.trainable_weights, pretrained.generator.trainable_weights):
        assert np.abs(tuned_weight.numpy() - start.numpy()).max() < 0.01


def test_mixed_precision_training_is_recorded_and_kept_on_resume(tmp_path):
    from zoo.training import train

    out = tmp_path / "run"
    assert main(["train", "gan-mnist", "--mixed-precision", "--epochs", "1", "--limit", "64", "--batch-size", "32",
                 "--out", str(out)]) == 0
    assert state_of(out)["precision"] == "mixed_bfloat16"
    model, state = train("gan-mnist", epochs=2, out_dir=out, limit=64, batch_size=32, verbose=0)  # no precision given
    assert state["epochs_done"] == 2
    assert {layer.compute_dtype for layer in model.generator.layers if layer.weights} == {"bfloat16"}
    assert {v.dtype for v in model.weights} == {"float32"}
    assert keras.config.dtype_policy().name == "float32"


def test_finetune_refuses_bad_freeze_counts(tmp_path, capsys):
    assert main(["finetune", "gan-mnist", "--epochs", "1", "--freeze-d-layers", "4", "--out", str(tmp_path)]) == 2
    assert "can freeze 0 to 3" in capsys.readouterr().err


def test_a_damaged_checkpoint_is_reported_not_a_traceback(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / STATE).write_text(json.dumps({"name": "gan-mnist", "epochs_done": 1}))
    (out / CHECKPOINT).write_bytes(b"not a zip file")
    assert main(["train", "gan-mnist", "--epochs", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.keras cannot be loaded" in err and len(err.strip().splitlines()) == 1


def test_unknown_precisions_are_refused(tmp_path):
    from zoo.training import train

    with pytest.raises(ValueError, match="precision must be one of"):
        train("gan-mnist", epochs=1, out_dir=tmp_path, precision="mixed_float16")


def test_xla_training_is_recorded_and_kept_on_resume(tmp_path, capsys):
    from zoo.training import train

    out = tmp_path / "run"
    assert main(["train", "gan-toy2d", "--jit-compile", "--epochs", "1", "--limit", "256", "--batch-size", "64",
                 "--out", str(out)]) == 0
    assert state_of(out)["jit_compile"] is True
    model, state = train("gan-toy2d", epochs=2, out_dir=out, limit=256, batch_size=64, verbose=0)  # not asked again
    assert state["epochs_done"] == 2 and model.jit_compile is True
    plain = tmp_path / "plain"
    model, _ = train("gan-toy2d", epochs=1, out_dir=plain, limit=256, batch_size=64, verbose=0)
    assert state_of(plain)["jit_compile"] is bool(model.jit_compile)  # as Keras resolved "auto"
    if not model.jit_compile:  # "auto" on a CPU
        capsys.readouterr()
        train("gan-toy2d", epochs=2, out_dir=plain, limit=256, batch_size=64, verbose=0, jit_compile=True)
        assert "started without XLA" in capsys.readouterr().out
    with pytest.raises(ValueError, match="jit_compile must be True or False"):
        train("gan-toy2d", epochs=1, out_dir=tmp_path / "bad", jit_compile="yes")
    with pytest.raises(ValueError, match="do not go together"):
        train("gan-toy2d", epochs=1, out_dir=tmp_path / "bad", jit_compile=True, deterministic=True)


def test_steps_per_execution_trains_the_same_steps_and_is_kept_on_resume(tmp_path, capsys):
    def run(out, **kwargs):
        return train("gan-toy2d", out_dir=tmp_path / out, limit=512, batch_size=64, seed=0, verbose=0, **kwargs)

    grouped, state = run("grouped", epochs=1, steps_per_execution=3)
    assert grouped.steps_per_execution == 3 and state["steps_per_execution"] == 3
    one_by_one, _ = run("one", epochs=1)
    assert state_of(tmp_path / "one")["steps_per_execution"] == 1
    # the same 8 steps (3 + 3 + the last 2), only fewer graph calls: the networks come out the same
    for a, b in zip(grouped.weights, one_by_one.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=a.path)
    capsys.readouterr()
    resumed, state = run("grouped", epochs=2, steps_per_execution=2)
    assert resumed.steps_per_execution == 3 and state["epochs_done"] == 2
    assert "started with steps_per_execution=3" in capsys.readouterr().out
    with pytest.raises(ValueError, match="steps_per_execution must be a positive int"):
        run("bad", epochs=1, steps_per_execution=0)


def test_model_options_build_the_run_s_model_and_are_kept_on_resume(tmp_path, capsys):
    def run(**kwargs):
        return train("gan-mnist", out_dir=tmp_path, limit=64, batch_size=32, seed=0, verbose=0, **kwargs)

    model, state = run(epochs=1, model_options={"r1_every": 4, "critic_steps": 2})
    assert (model.r1_every, model.critic_steps) == (4, 2) and state["model_options"] == {"r1_every": 4, "critic_steps": 2}
    assert int(model.d_optimizer.iterations) == 4  # 2 steps, 2 D updates each
    capsys.readouterr()
    resumed, state = run(epochs=2, model_options={"r1_every": 2})
    assert resumed.r1_every == 4 and state["epochs_done"] == 2
    assert "started with model_options={'r1_every': 4, 'critic_steps': 2}" in capsys.readouterr().out
    with pytest.raises(ValueError, match="model_options cannot set name, seed"):
        train("gan-mnist", out_dir=tmp_path / "bad", epochs=1, model_options={"seed": 3})


def test_decayed_fraction_falls_linearly_after_decay_from_and_stays_at_the_last_epoch_s():
    from zoo.training import decayed_fraction

    assert [decayed_fraction(epoch, 2, 5) for epoch in range(7)] == [1, 1, 3 / 4, 2 / 4, 1 / 4, 1 / 4, 1 / 4]


def test_lr_decay_sets_each_epoch_s_rates_and_is_kept_on_resume(tmp_path, capsys):
    seen = {}

    class RatesAndStop(keras.callbacks.Callback):
        def __init__(self, stop_after=None):
            super().__init__()
            self.stop_after = stop_after

        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = (float(self.model.g_optimizer.learning_rate), float(self.model.d_optimizer.learning_rate))
            if epoch + 1 == self.stop_after:  # interrupted: the run was asked for 4 epochs
                self.model.stop_training = True

    def run(epochs, stop_after=None, **kwargs):
        return train("gan-toy2d", out_dir=tmp_path / "run", epochs=epochs, limit=256, batch_size=64, seed=0, verbose=0,
                     callbacks=[RatesAndStop(stop_after)], **kwargs)

    _, state = run(4, stop_after=2, lr_decay_from=2, g_lr=3e-4, d_lr=1e-4)
    assert state["lr_decay"] == {"from": 2, "to": 4} and state["epochs_done"] == 2
    assert json.loads((tmp_path / "run" / "state.json").read_text())["learning_rates"] == {"g_lr": 3e-4, "d_lr": 1e-4}
    capsys.readouterr()
    # resumed without the rates: keeps decaying the run's own (not the recipe's) from epoch 2 to 4, then stays
    model, state = run(5, lr_decay_from=3)
    assert "started with lr_decay={'from': 2, 'to': 4}" in capsys.readouterr().out
    assert state["epochs_done"] == 5 and state["lr_decay"] == {"from": 2, "to": 4}
    for epoch, fraction in enumerate([1, 1, 2 / 3, 1 / 3, 1 / 3]):
        assert seen[epoch] == pytest.approx((3e-4 * fraction, 1e-4 * fraction), rel=1e-6), epoch
    with pytest.raises(ValueError, match="must be below epochs"):
        train("gan-toy2d", out_dir=tmp_path / "bad", epochs=3, lr_decay_from=3)
    with pytest.raises(ValueError, match="lr_decay_from must be a positive int"):
        train("gan-toy2d", out_dir=tmp_path / "bad", epochs=3, lr_decay_from=0)
