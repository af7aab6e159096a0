import numpy as np
import pytest
from PIL import Image

import zoo
from zoo.cli import main
from zoo.latent import walk_frames


@pytest.fixture(scope="module")
def gan():
    return zoo.load("gan-mnist", compile=False)


def test_interpolate_ends_on_the_given_vectors_and_keeps_the_norm(gan):
    rng = np.random.default_rng(0)
    start = rng.standard_normal(gan.latent_dim).astype("float32")
    end = -0.3 * start + rng.standard_normal(gan.latent_dim).astype("float32")
    end *= np.linalg.norm(start) / np.linalg.norm(end)
    path = zoo.interpolate(gan, start, end, steps=9)
    assert path.shape == (9, gan.latent_dim) and path.dtype == np.float32
    np.testing.assert_allclose(path[0], start, atol=1e-5)
    np.testing.assert_allclose(path[-1], end, atol=1e-5)
    # Spherical: every point has the endpoints' norm; the straight line would dip in the middle.
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(start), rtol=1e-4)
    assert np.linalg.norm((start + end) / 2) < 0.9 * np.linalg.norm(start)
    assert gan.generate(latent=path).shape == (9, 28, 28, 1)


def test_interpolate_is_linear_for_a_uniform_prior():
    model = zoo.load("gan-mnist", pretrained=False, compile=False, prior="uniform")
    start, end = np.full(100, -0.5, "float32"), np.full(100, 0.5, "float32")
    np.testing.assert_allclose(zoo.interpolate(model, start, end, 3)[1], 0.0, atol=1e-7)


@pytest.mark.parametrize(
    "start, steps, message",
    [(np.zeros(3), 4, "shape \\(100,\\)"), (np.full(100, np.nan), 4, "NaN"), (np.zeros(100), 1, "steps")],
)
def test_interpolate_refuses_bad_input(gan, start, steps, message):
    with pytest.raises(ValueError, match=message):
        zoo.interpolate(gan, start, np.ones(100), steps)


def test_conditional_walk_keeps_the_style_and_changes_the_class():
    cgan = zoo.load("cgan-mnist", compile=False)
    frames = walk_frames(cgan, frames=4, walkers=3, classes=[3, 8], seed=1)
    assert frames.shape == (4, 3, 28, 28, 1)
    probabilities = zoo.evaluator.load_evaluator("mnist")(frames.reshape(-1, 28, 28, 1)).probabilities
    predicted = probabilities.argmax(1).reshape(4, 3)
    assert (predicted[:2] == 3).mean() >= 0.8 and (predicted[2:] == 8).mean() >= 0.8
    with pytest.raises(ValueError, match="unconditional"):
        walk_frames(zoo.load("gan-mnist", compile=False), classes=[1, 2])


def test_walk_command_writes_an_animated_gif(tmp_path, capsys):
    out = tmp_path / "walk.gif"
    assert main(["walk", "dcgan-mnist", "--out", str(out), "--frames", "6", "--walkers", "4"]) == 0
    assert Image.open(out).n_frames == 6
    assert main(["walk", "dcgan-mnist", "--out", str(tmp_path / "walk.png")]) == 2
    assert "must end in .gif" in capsys.readouterr().err
