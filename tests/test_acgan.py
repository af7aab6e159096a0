"""The auxiliary-classifier GAN: a two-headed discriminator that sees only the image."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.acgan import ACGAN


def test_discriminator_has_a_real_or_fake_and_a_class_head(mnist_batch):
    model = zoo.load("acgan-mnist", pretrained=False, compile=False)
    logits, classes = model.discriminator(tf.constant(mnist_batch[0][:5]))
    assert logits.shape == (5, 1) and classes.shape == (5, 10)
    assert len(model.discriminator.inputs) == 1, "D must tell the class from the image alone"


def test_fit_logs_the_class_loss_and_learns_to_classify(mnist_batch):
    model = zoo.load("acgan-mnist", pretrained=False, seed=0)
    images, labels = mnist_batch
    before = model.class_loss(labels, model.discriminator(images)[1]).numpy()
    history = model.fit(np.tile(images, (4, 1, 1, 1)), np.tile(labels, 4), batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "class_loss"}
    after = model.class_loss(labels, model.discriminator(images)[1]).numpy()
    assert after < before - 0.1, (before, after)


def test_generator_loss_rewards_the_requested_class(mnist_batch):
    """The G step lowers D's classification loss on fakes of the requested labels
    (a large class weight, so that the class term outweighs the adversarial one)."""
    keras.utils.set_random_seed(0)  # fixed initial networks: the loss moves by about 0.01, less than between draws
    model = zoo.load("acgan-mnist", pretrained=False, seed=0, class_weight=20.0)
    labels = tf.constant(mnist_batch[1])
    latent = tf.constant(np.random.default_rng(0).standard_normal((64, model.latent_dim)).astype("float32"))

    def fake_class_loss():
        fake = model.generator([latent, labels], training=False)
        return model.class_loss(labels, model.discriminator(fake, training=False)[1]).numpy()

    # Make D a classifier first, so that there is a class signal for G to follow.
    for _ in range(60):
        model.discriminator_step(tf.constant(mnist_batch[0]), labels)
    before = fake_class_loss()
    for _ in range(20):
        model.generator_step(tf.constant(mnist_batch[0]), labels)
    assert fake_class_loss() < before


@pytest.mark.parametrize("kwargs, message", [
    ({"class_weight": 0}, "class_weight"),
    ({"loss": "wasserstein", "gradient_penalty": 10.0}, "gradient penalty"),
    ({"r1_penalty": 5.0}, "R1"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ACGAN(**kwargs)
