"""The seed recipe: the classic Keras vanilla GAN, trained as the old tutorials train it.

Sequential G and D, a stacked `G -> D` model compiled with `D.trainable = False`,
and `train_on_batch` on batches of 32. Keras 3 reads `trainable` when a
model's train function is first traced rather than at `compile()`, so the
literal recipe (D frozen once before stacking) never updates D at all; this
faithful port sets `D.trainable = True` before `D.train_on_batch` and `False`
before the stacked call. `zoo.GAN.train_step` replaces all of this with two
explicit updates. Trained by `scripts/train_baseline.py`; scored by `zoo bench`
as the `baseline (classic Keras loop)` row.
"""

import json

import keras
import numpy as np
from keras import layers

from zoo._registry import metadata_path, verified_file

NAME = "baseline-keras-gan"
LATENT_DIM = 100


def classic_generator():
    return keras.Sequential(
        [keras.Input((LATENT_DIM,))]
        + [layer for width in (256, 512, 1024) for layer in (layers.Dense(width), layers.LeakyReLU(0.2), layers.BatchNormalization(momentum=0.8))]
        + [layers.Dense(784, activation="tanh"), layers.Reshape((28, 28, 1))],
        name="generator",
    )


def classic_discriminator():
    return keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(512), layers.LeakyReLU(0.2),
         layers.Dense(256), layers.LeakyReLU(0.2), layers.Dense(1, activation="sigmoid")],
        name="discriminator",
    )


class ClassicLoop:
    """One `step(real)` is the tutorial's loop body: D.train_on_batch twice, then the stacked model."""

    def __init__(self, batch_size=32, seed=0):
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.generator = classic_generator()
        self.discriminator = classic_discriminator()
        self.discriminator.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss="binary_crossentropy")
        self.discriminator.trainable = False
        self.stacked = keras.Sequential([self.generator, self.discriminator])
        self.stacked.compile(optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), loss="binary_crossentropy")
        self.ones = np.ones((batch_size, 1), "float32")
        self.zeros = np.zeros((batch_size, 1), "float32")

    def step(self, real):
        noise = self.rng.standard_normal((self.batch_size, LATENT_DIM)).astype("float32")
        fake = self.generator.predict(noise, verbose=0)
        self.discriminator.trainable = True
        d_loss = 0.5 * (self.discriminator.train_on_batch(real, self.ones) + self.discriminator.train_on_batch(fake, self.zeros))
        self.discriminator.trainable = False
        noise = self.rng.standard_normal((self.batch_size, LATENT_DIM)).astype("float32")
        g_loss = self.stacked.train_on_batch(noise, self.ones)
        return float(d_loss), float(g_loss)


def load_baseline():
    """The trained baseline generator wrapped as a `gan-mnist` model, so it is scored like one."""
    from zoo.gan import VanillaGAN

    path = metadata_path(NAME)
    if path is None:
        raise ValueError("no baseline weights; train them with `python scripts/train_baseline.py`")
    meta = json.loads(path.read_text())
    generator = classic_generator()
    generator.load_weights(verified_file(path.parent / meta["file"], meta["sha256"], path.name))
    model = VanillaGAN(latent_dim=LATENT_DIM, name=NAME)
    model.generator.set_weights(generator.get_weights())  # same layers in the same order
    return model
