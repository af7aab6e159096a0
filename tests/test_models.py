"""Every registered model: config and save/load round trips, generate, fit, pretrained metadata."""

import json

import keras
import numpy as np
import pytest

import zoo
from conftest import ALL_MODELS, IMAGE_MODELS, request_for
from zoo import rejection
from zoo._registry import get_entry, metadata_path, sha256


@pytest.fixture(scope="module", params=IMAGE_MODELS)
def pretrained(request):
    return zoo.load(request.param)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_config_round_trip(name):
    model = get_entry(name).build(seed=3)
    clone = type(model).from_config(model.get_config())
    assert clone.get_config() == model.get_config()
    assert clone.parameter_counts() == model.parameter_counts()


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_save_load_round_trip_is_compiled_and_identical(name, tmp_path, mnist_batch):
    model = zoo.load(name, pretrained=False)
    model.fit(mnist_batch[0][:32], mnist_batch[1][:32], batch_size=16, epochs=1, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    request = request_for(model)
    np.testing.assert_array_equal(loaded.generate(request, seed=0), model.generate(request, seed=0))
    # Compiled, with the optimizer state carried over: training continues where it stopped.
    assert loaded.g_optimizer.iterations.numpy() == model.g_optimizer.iterations.numpy() == 2
    for a, b in zip(loaded.d_optimizer.variables, model.d_optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    loaded.fit(mnist_batch[0][:32], mnist_batch[1][:32], batch_size=16, epochs=1, verbose=0)
    assert loaded.g_optimizer.iterations.numpy() == 4


def test_an_uncompiled_model_saves_and_loads(tmp_path):
    model = zoo.load("cgan-mnist", compile=False)  # pretrained, for generation only
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert not loaded.compiled
    np.testing.assert_array_equal(loaded.generate([3, 1, 4], seed=0), model.generate([3, 1, 4], seed=0))


def test_generate_shape_range_and_determinism(pretrained):
    request = request_for(pretrained, 5)
    images = pretrained.generate(request, seed=7)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(images, pretrained.generate(request, seed=7))
    assert not np.array_equal(images, pretrained.generate(request, seed=8))
    # Internal batching changes nothing but float rounding in the matrix kernels.
    np.testing.assert_allclose(images, pretrained.generate(request, seed=7, batch_size=2), atol=1e-5)


def test_generate_from_latent(pretrained):
    latent = np.random.default_rng(0).standard_normal((3, pretrained.latent_dim)).astype("float32")
    request = request_for(pretrained, 3) if pretrained.conditional else None
    images = pretrained.generate(request, latent=latent)
    assert images.shape == (3, 28, 28, 1)
    with pytest.raises(ValueError, match=f"latent must have shape \\(N, {pretrained.latent_dim}\\)"):
        pretrained.generate(request, latent=latent[:, :-1])


def test_pretrained_weights_produce_varied_images(pretrained):
    images = pretrained.generate(request_for(pretrained, 20), seed=0)
    assert images.std(axis=0).mean() > 0.05, "all samples look the same"
    real, _ = zoo.data.load_arrays(get_entry(pretrained.name).dataset, "test")
    real_ink, ink = (real[:1000] > 127).mean(), (images > 0.5).mean()
    assert real_ink / 2 < ink < real_ink * 2, f"real images have {real_ink:.0%} ink, these {ink:.0%}"


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_bad_counts_are_refused(bad):
    model = zoo.load("gan-mnist", pretrained=False, compile=False)
    with pytest.raises(ValueError):
        model.generate(bad)


def test_conditional_requests_are_checked():
    model = zoo.load("cgan-mnist", pretrained=False, compile=False)
    with pytest.raises(ValueError, match="conditional"):
        model.generate(4)
    with pytest.raises(ValueError, match="label 12 is outside 0-9"):
        model.generate([1, 12])
    with pytest.raises(ValueError, match="label -1"):
        model.generate([-1])
    with pytest.raises(ValueError, match="unconditional"):
        zoo.load("gan-mnist", pretrained=False, compile=False).generate([1, 2])


def test_fit_refuses_wrong_shapes_and_missing_labels():
    model = zoo.load("dcgan-mnist", pretrained=False)
    with pytest.raises(ValueError, match="shape"):
        model.fit(np.zeros((8, 32, 32, 3), "float32"), epochs=1, verbose=0)
    cgan = zoo.load("cgan-mnist", pretrained=False)
    with pytest.raises(ValueError, match="conditional"):
        cgan.fit(np.zeros((8, 28, 28, 1), "float32"), batch_size=4, epochs=1, verbose=0)


def test_bigan_encode_and_reconstruct():
    model = zoo.load("bigan-mnist")
    images, _ = zoo.data.load_arrays("mnist", "test")
    images = images[:8]
    latent = model.encode(images)
    assert latent.shape == (8, model.latent_dim)
    reconstructions = model.generate(latent=latent)
    assert reconstructions.shape == (8, 28, 28, 1)
    with pytest.raises(ValueError, match="shape"):
        model.encode(np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.encode(np.full((2, 28, 28), 3.0))
    with pytest.raises(ValueError, match="NaN"):
        model.encode(np.full((2, 28, 28), np.nan))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_metadata_is_true(name):
    meta = json.loads(metadata_path(name).read_text())
    weights = metadata_path(name).parent / meta["file"]
    assert sha256(weights) == meta["sha256"]
    model = zoo.load(name, compile=False)
    assert model.parameter_counts() == meta["parameters"]
    assert model.get_config() == meta["config"]
    assert meta["recipe"]["command"].startswith(f"python scripts/train.py {name}")
    assert meta["recipe"]["epochs"] > 0 and meta["recipe"]["wall_time_minutes"] > 0
    # a rejection sampler ships exactly where the recipe says, calibrated for the share it says
    assert (model.rejection.keep if model.rejection else None) == meta["recipe"].get("rejection_keep")
    recipe = get_entry(name).recipe
    assert meta["recipe"].get("rejection_keep") == recipe.get("rejection_keep")
    assert meta["recipe"].get("rejection_strata") == recipe.get("rejection_strata")
    if model.rejection:  # with as many strata as the recipe's calibrate_for_release
        assert len(model.rejection.thresholds) == len(model.rejection.centers) == rejection.release_strata(recipe)
    assert weights.stat().st_size < 20 * 2**20, "weights files stay small"


def test_generate_is_identical_across_processes():
    import subprocess
    import sys

    script = "import zoo, sys; sys.stdout.buffer.write(zoo.load('cgan-mnist').generate([3, 1, 4], seed=5).tobytes())"
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, check=True).stdout
    here = zoo.load("cgan-mnist").generate([3, 1, 4], seed=5)
    np.testing.assert_array_equal(np.frombuffer(other, dtype="float32").reshape(here.shape), here)
