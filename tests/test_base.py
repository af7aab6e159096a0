"""The update rules of the adversarial train_step, for every registered model."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from conftest import ALL_MODELS
from zoo import GAN
from zoo._registry import get_entry


def snapshot(variables):
    return [v.numpy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def built_model(name):
    model = get_entry(name).build(seed=1)
    model.compile()
    return model


@pytest.mark.parametrize("name", ALL_MODELS)
def test_discriminator_step_updates_only_discriminator(name, mnist_batch):
    model = built_model(name)
    real, labels = tf.constant(mnist_batch[0]), tf.constant(mnist_batch[1])
    g_vars = model.generator.variables + (model.encoder.variables if hasattr(model, "encoder") else [])
    g_before, d_before = snapshot(g_vars), snapshot(model.discriminator.trainable_variables)
    model.discriminator_step(real, labels)
    assert all(changed(d_before, model.discriminator.trainable_variables)), "every D weight should move"
    # G runs in training mode to make the fakes, so only its batch-norm statistics may move.
    moved = [v.path for v, c in zip(g_vars, changed(g_before, g_vars)) if c]
    assert all("moving" in path for path in moved), moved


@pytest.mark.parametrize("name", ALL_MODELS)
def test_generator_step_updates_only_generator(name, mnist_batch):
    model = built_model(name)
    real, labels = tf.constant(mnist_batch[0]), tf.constant(mnist_batch[1])
    d_before = snapshot(model.discriminator.variables)
    g_before = snapshot(model.generator.trainable_variables)
    model.generator_step(real, labels)
    assert not any(changed(d_before, model.discriminator.variables)), "the G step must not touch D"
    assert all(changed(g_before, model.generator.trainable_variables)), "every G weight should move"


@keras.saving.register_keras_serializable(package="zoo_tests")
class BatchNormDiscriminatorGAN(GAN):
    """A tiny GAN whose D has batch norm, to check the G step leaves its statistics alone."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        z = keras.Input((self.latent_dim,))
        self.generator = keras.Model(z, layers.Reshape((28, 28, 1))(layers.Dense(784, activation="tanh")(z)))
        x = keras.Input((28, 28, 1))
        h = layers.BatchNormalization()(layers.Dense(8)(layers.Flatten()(x)))
        self.discriminator = keras.Model(x, layers.Dense(1)(h))
        self.track_generator_average()


def test_generator_step_keeps_discriminator_batchnorm_statistics(mnist_batch):
    model = BatchNormDiscriminatorGAN(latent_dim=4, seed=0)
    model.compile()
    real = tf.constant(mnist_batch[0])
    stats = [v for v in model.discriminator.non_trainable_variables if "moving" in v.path]
    assert len(stats) == 2
    before = snapshot(stats)
    model.generator_step(real, None)
    assert not any(changed(before, stats))
    model.discriminator_step(real, None)  # the D step, in training mode, does update them
    assert all(changed(before, stats))


def test_fit_runs_both_steps_and_logs_losses(mnist_batch):
    model = BatchNormDiscriminatorGAN(latent_dim=4, seed=0)
    model.compile()
    history = model.fit(mnist_batch[0], batch_size=32, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert len(history.history["d_loss"]) == 2
    assert model.d_optimizer.iterations.numpy() == 4 and model.g_optimizer.iterations.numpy() == 4


def test_minimax_and_non_saturating_losses_differ():
    logits = tf.constant([[-2.0], [0.5]])
    minimax = BatchNormDiscriminatorGAN(latent_dim=4, loss="minimax").generator_loss(logits)
    non_saturating = BatchNormDiscriminatorGAN(latent_dim=4).generator_loss(logits)
    # minimax: mean(log(1 - sigmoid(l))); non-saturating: -mean(log(sigmoid(l)))
    sig = 1 / (1 + np.exp(-np.array([-2.0, 0.5])))
    np.testing.assert_allclose(minimax, np.mean(np.log(1 - sig)), rtol=1e-5)
    np.testing.assert_allclose(non_saturating, -np.mean(np.log(sig)), rtol=1e-5)


def test_label_smoothing_lowers_the_real_target():
    logits = tf.constant([[3.0]])
    fake = tf.constant([[-30.0]])
    plain = BatchNormDiscriminatorGAN(latent_dim=4).discriminator_loss(logits, fake)
    smoothed = BatchNormDiscriminatorGAN(latent_dim=4, label_smoothing=0.1).discriminator_loss(logits, fake)
    sig = 1 / (1 + np.exp(-3.0))
    np.testing.assert_allclose(smoothed, -(0.9 * np.log(sig) + 0.1 * np.log(1 - sig)), rtol=1e-4)
    assert smoothed > plain


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"loss": "hinge"}, "loss='hinge'"),
        ({"prior": "cauchy"}, "prior='cauchy'"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"label_smoothing": 1.5}, "label_smoothing"),
        ({"ema_decay": 1.0}, "ema_decay"),
    ],
)
def test_bad_constructor_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNormDiscriminatorGAN(**kwargs)


def test_uniform_prior_stays_in_range():
    model = BatchNormDiscriminatorGAN(latent_dim=4, prior="uniform", seed=0)
    z = np.array(model.sample_latent(1000))
    assert z.min() >= -1 and z.max() <= 1 and z.std() > 0.5


def test_generator_average_follows_the_generator(mnist_batch):
    model = BatchNormDiscriminatorGAN(latent_dim=4, seed=0, ema_decay=0.5)
    assert model.generator_average is not None
    model.compile()
    before = [w.numpy() for w in model.generator_average.weights]
    model.train_on_batch(mnist_batch[0][:16])
    for old, average, weight in zip(before, model.generator_average.weights, model.generator.weights):
        np.testing.assert_allclose(average.numpy(), 0.5 * old + 0.5 * weight.numpy(), rtol=1e-5, atol=1e-6)
    # generate samples from the average, not from the raw generator
    z = np.zeros((2, 4), "float32")
    expected = (np.array(model.generator_average(z, training=False)) + 1) / 2
    np.testing.assert_allclose(model.generate(latent=z), np.clip(expected, 0, 1), atol=1e-6)


def test_no_generator_average_by_default():
    assert BatchNormDiscriminatorGAN(latent_dim=4).generator_average is None
