import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.cli import main


def test_list_and_info(capsys):
    assert main(["list"]) == 0
    assert capsys.readouterr().out.split() == zoo.list_models() and len(zoo.list_models()) == 11
    assert main(["info", "cgan-mnist"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["name"] == "cgan-mnist" and meta["pretrained"]


def test_generate_png_and_npz(tmp_path):
    assert main(["generate", "cgan-mnist", "--labels", "0123456789", "--seed", "1", "--out", str(tmp_path / "g.png")]) == 0
    assert Image.open(tmp_path / "g.png").size[0] > 200
    assert main(["generate", "gan-mnist", "-n", "6", "--seed", "1", "--out", str(tmp_path / "g.npz")]) == 0
    with np.load(tmp_path / "g.npz") as arrays:
        assert arrays["images"].shape == (6, 28, 28, 1)
    assert main(["generate", "cgan-mnist", "--labels", "3,1,4", "--out", str(tmp_path / "c.npz")]) == 0
    with np.load(tmp_path / "c.npz") as arrays:
        assert arrays["labels"].tolist() == [3, 1, 4]


def test_generate_temperature_overrides_the_models_own(tmp_path):
    out = {}
    for temperature in ("1", "1.5"):
        out[temperature] = tmp_path / f"t{temperature}.npz"
        assert main(["generate", "gan-mnist", "-n", "3", "--seed", "2", "--temperature", temperature, "--out", str(out[temperature])]) == 0
    model = zoo.load("gan-mnist", compile=False)
    z = np.random.default_rng(2).standard_normal((3, model.latent_dim), dtype="float32")
    for temperature, path in out.items():
        with np.load(path) as arrays:
            np.testing.assert_allclose(arrays["images"], model.generate(latent=float(temperature) * z), atol=1e-5)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["generate", "cgan-mnsit", "--out", "x.png"], "did you mean 'cgan-mnist'"),
        (["generate", "cgan-mnist", "-n", "4", "--out", "x.png"], "use --labels"),
        (["generate", "gan-mnist", "--labels", "12", "--out", "x.png"], "use -n"),
        (["generate", "gan-mnist", "-n", "0", "--out", "x.png"], "positive integer"),
        (["generate", "gan-mnist", "--temperature", "0", "--out", "x.png"], "positive number"),
        (["generate", "gan-mnist", "--labels", "a", "--out", "x.png"], "labels must be digits"),
        (["generate", "gan-mnist", "-n", "2", "--out", "x.jpg"], ".png or .npz"),
        (["train", "gan-mnist", "--epochs", "-1", "--out", "d"], "positive integer"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exit:
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_train_resumes_and_writes_pictures(tmp_path):
    out = tmp_path / "run"
    base = ["train", "gan-mnist", "--limit", "256", "--batch-size", "64", "--seed", "0", "--out", str(out)]
    assert main(base + ["--epochs", "1"]) == 0
    state = json.loads((out / "state.json").read_text())
    assert state["epochs_done"] == 1 and len(state["history"]["d_loss"]) == 1
    assert main(base + ["--epochs", "2", "--tensorboard"]) == 0  # continues from epoch 1
    state = json.loads((out / "state.json").read_text())
    assert state["epochs_done"] == 2 and len(state["history"]["g_loss"]) == 2
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert Image.open(out / "progress.gif").n_frames == 2
    assert (out / "losses.png").stat().st_size > 0 and (out / "checkpoint.keras").is_file()
    assert any((out / "tensorboard").rglob("events.out.tfevents*"))
    # The resumed optimizer has done 2 epochs x 4 steps.
    import keras

    assert keras.saving.load_model(out / "checkpoint.keras").g_optimizer.iterations.numpy() == 8


def test_train_lr_decay_from_reaches_train_and_a_bad_k_is_one_error_line(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["train", "gan-toy2d", "--limit", "256", "--batch-size", "64", "--out", str(out)]
    assert main(base + ["--epochs", "2", "--lr-decay-from", "1"]) == 0
    assert json.loads((out / "state.json").read_text())["lr_decay"] == {"from": 1, "to": 2}
    capsys.readouterr()
    assert main(base[:-1] + [str(tmp_path / "bad"), "--epochs", "2", "--lr-decay-from", "2"]) == 2
    err = capsys.readouterr().err
    assert "lr_decay_from (2) must be below epochs (2)" in err and len(err.strip().splitlines()) == 1


def test_console_script_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "list", "dc*"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.split() == ["dcgan-fashion", "dcgan-mnist"]
