"""Fully connected GAN: the classic Keras vanilla GAN (Goodfellow et al., 2014).

Generator 256-512-1024 with LeakyReLU and batch norm and a tanh output;
discriminator LeakyReLU layers (512-256 by default; `gan-mnist` uses 1024-512-256) ending in a logit,
optionally after a minibatch-stddev feature.
"""

import keras
from keras import layers

from zoo._base import GAN, IMAGE_SHAPE, MinibatchStddev, batch_norm
from zoo._registry import register_model


def mlp_image_head(x, widths):
    """LeakyReLU + batch-norm MLP ending in a 28x28x1 tanh image."""
    for width in widths:
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(0.2)(x)
        x = batch_norm(momentum=0.8)(x)
    x = layers.Dense(28 * 28, activation="tanh")(x)
    return layers.Reshape(IMAGE_SHAPE)(x)


def leaky_mlp(x, widths, dropout=0.0):
    """Dense layers of `widths`, each followed by LeakyReLU(0.2) and, if asked, dropout."""
    for width in widths:
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    return x


def mlp_logit_head(x, widths, dropout=0.0, minibatch_stddev=False):
    """LeakyReLU MLP ending in one unscaled logit (optionally after a minibatch-stddev feature)."""
    x = leaky_mlp(x, widths, dropout)
    if minibatch_stddev:
        x = MinibatchStddev()(x)
    return layers.Dense(1)(x)


@keras.saving.register_keras_serializable(package="zoo")
class VanillaGAN(GAN):
    """Fully connected generator and discriminator."""

    def __init__(self, generator_widths=(256, 512, 1024), discriminator_widths=(512, 256), dropout=0.0,
                 minibatch_stddev=False, **kwargs):
        super().__init__(**kwargs)
        self.generator_widths = tuple(generator_widths)
        self.discriminator_widths = tuple(discriminator_widths)
        self.dropout = dropout
        self.minibatch_stddev = minibatch_stddev

        latent = keras.Input((self.latent_dim,), name="latent")
        self.generator = keras.Model(latent, mlp_image_head(latent, self.generator_widths), name="generator")
        images = keras.Input(IMAGE_SHAPE, name="images")
        logits = mlp_logit_head(layers.Flatten()(images), self.discriminator_widths, dropout, minibatch_stddev)
        self.discriminator = keras.Model(images, logits, name="discriminator")
        self.track_generator_average()

    def get_config(self):
        return {
            **super().get_config(),
            "generator_widths": list(self.generator_widths),
            "discriminator_widths": list(self.discriminator_widths),
            "dropout": self.dropout,
            "minibatch_stddev": self.minibatch_stddev,
        }


@register_model(recipe={"epochs": 100, "batch_size": 64})
def gan_mnist(**overrides):
    """Fully connected GAN (classic Keras vanilla GAN) on MNIST; D widened to 1024-512-256, with R1
    and a minibatch-stddev feature (which raised recall)."""
    return VanillaGAN(**{
        "latent_dim": 100, "discriminator_widths": (1024, 512, 256), "ema_decay": 0.999, "r1_penalty": 2.5,
        "temperature": 1.0, "minibatch_stddev": True, **overrides})
