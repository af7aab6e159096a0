"""Fully connected GAN: the minibatch-stddev feature of its discriminator."""

import keras
import numpy as np

from conftest import assert_minibatch_stddev_model_trains_and_round_trips
from zoo._base import MinibatchStddev
from zoo.gan import VanillaGAN


def test_minibatch_stddev_appends_the_batch_variety_to_flat_features():
    x = np.random.default_rng(0).standard_normal((8, 5)).astype("float32")
    out = keras.ops.convert_to_numpy(MinibatchStddev()(x))
    assert out.shape == (8, 6)
    np.testing.assert_array_equal(out[:, :5], x)
    np.testing.assert_allclose(out[:, 5], x.std(axis=0).mean(), rtol=1e-4)


def test_discriminator_with_minibatch_stddev_scores_an_image_by_its_batch(mnist_batch):
    images = keras.ops.convert_to_numpy(mnist_batch[0][:16])
    copies = np.repeat(images[:1], 16, axis=0)
    for stddev in (False, True):
        critic = VanillaGAN(minibatch_stddev=stddev, seed=0).discriminator
        # the first image's logit in a varied batch and in a batch of its own copies
        varied, alone = (keras.ops.convert_to_numpy(critic(batch))[0, 0] for batch in (images, copies))
        if stddev:
            assert abs(varied - alone) > 1e-4
        else:
            np.testing.assert_allclose(varied, alone, atol=1e-5)


def test_vanilla_gan_with_minibatch_stddev_trains_and_round_trips(tmp_path, mnist_batch):
    model = VanillaGAN(generator_widths=(32,), discriminator_widths=(32,), minibatch_stddev=True, seed=0)
    assert_minibatch_stddev_model_trains_and_round_trips(model, tmp_path, mnist_batch[0])
