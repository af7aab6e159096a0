"""DCGAN building blocks: the minibatch-stddev channel of the discriminator, the generator width."""

import keras
import numpy as np
import pytest

from conftest import assert_minibatch_stddev_model_trains_and_round_trips
from zoo._base import MinibatchStddev
from zoo.dcgan import DCGAN


def test_minibatch_stddev_appends_the_batch_variety_as_a_channel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 7, 7, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(MinibatchStddev()(x))
    assert out.shape == (8, 7, 7, 4)
    np.testing.assert_array_equal(out[..., :3], x)
    np.testing.assert_allclose(out[..., 3], x.std(axis=0).mean(), rtol=1e-4)
    same = keras.ops.convert_to_numpy(MinibatchStddev()(np.repeat(x[:1], 8, axis=0)))
    assert same[..., 3].max() < 1e-3  # a batch of copies shows no variety


def test_dcgan_with_minibatch_stddev_trains_and_round_trips(tmp_path, mnist_batch):
    assert_minibatch_stddev_model_trains_and_round_trips(DCGAN(minibatch_stddev=True, seed=0), tmp_path, mnist_batch[0])


def test_generator_filters_widen_only_the_generator_and_round_trip(tmp_path):
    narrow, wide = DCGAN(seed=0), DCGAN(generator_filters=64, seed=0)
    assert wide.discriminator.count_params() == narrow.discriminator.count_params()
    # dense to 7x7x(2f) and the first transposed convolution grow with f
    assert [layer.output.shape[-1] for layer in wide.generator.layers if "conv2d_transpose" in layer.name] == [64, 1]
    assert wide.generator.count_params() > 1.9 * narrow.generator.count_params()
    wide.save(tmp_path / "wide.keras")
    loaded = keras.saving.load_model(tmp_path / "wide.keras", safe_mode=True)
    assert loaded.get_config()["generator_filters"] == 64
    np.testing.assert_array_equal(loaded.generate(3, seed=1), wide.generate(3, seed=1))


@pytest.mark.parametrize(
    "arguments",
    [{"filters": 0}, {"filters": 2.5}, {"kernel_size": 0}, {"dense_units": -1}, {"dense_units": True},
     {"generator_filters": 0}, {"generator_filters": "64"}],
)
def test_bad_widths_are_refused_by_name(arguments):
    (name,) = arguments
    with pytest.raises(ValueError, match=name):
        DCGAN(**arguments)
