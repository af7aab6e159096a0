"""Deep convolutional GAN (Radford et al., 2015), narrowed for a 2-core CPU.

Generator: dense to 7x7, two stride-2 transposed convolutions to 28x28 with
batch norm and ReLU, tanh output. Discriminator: two stride-2 LeakyReLU
convolutions, a dense layer and a logit (no batch norm in D, so the generator
step sees the same D as the discriminator step). The conditional GAN reuses
both halves.
"""

import keras
from keras import layers

from zoo._base import GAN, IMAGE_SHAPE, MinibatchStddev, batch_norm, check_nonnegative_int, check_positive_int
from zoo._registry import register_model


def conv_image_head(x, filters, kernel_size):
    """Dense to 7x7x(2f), two stride-2 transposed convolutions (batch norm, ReLU) to a 28x28 tanh image."""
    x = layers.Dense(7 * 7 * 2 * filters, use_bias=False)(x)
    x = batch_norm()(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((7, 7, 2 * filters))(x)
    x = layers.Conv2DTranspose(filters, kernel_size, strides=2, padding="same", use_bias=False)(x)
    x = batch_norm()(x)
    x = layers.ReLU()(x)
    return layers.Conv2DTranspose(1, kernel_size, strides=2, padding="same", activation="tanh")(x)


def conv_features(images, filters, kernel_size, dense_units=0, minibatch_stddev=False):
    """Two stride-2 LeakyReLU convolutions (optionally a minibatch-stddev channel), flattened,
    then an optional LeakyReLU dense layer."""
    x = layers.Conv2D(filters, kernel_size, strides=2, padding="same")(images)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2D(2 * filters, kernel_size, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(x)
    if minibatch_stddev:
        x = MinibatchStddev()(x)
    x = layers.Flatten()(x)
    if dense_units:
        x = layers.LeakyReLU(0.2)(layers.Dense(dense_units)(x))
    return x


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(GAN):
    """Convolutional generator and discriminator; `filters` sets the width (`generator_filters`
    G's alone), `dense_units` adds a hidden dense layer to D, `minibatch_stddev` a batch-variety
    channel to D."""

    def __init__(self, filters=32, kernel_size=4, dense_units=0, minibatch_stddev=False, generator_filters=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.dense_units = check_nonnegative_int("dense_units", dense_units)
        self.minibatch_stddev = minibatch_stddev
        self.generator_filters = None if generator_filters is None else check_positive_int(
            "generator_filters", generator_filters)

        latent = keras.Input((self.latent_dim,), name="latent")
        head = conv_image_head(latent, generator_filters or filters, kernel_size)
        self.generator = keras.Model(latent, head, name="generator")
        images = keras.Input(IMAGE_SHAPE, name="images")
        logits = layers.Dense(1)(conv_features(images, filters, kernel_size, dense_units, minibatch_stddev))
        self.discriminator = keras.Model(images, logits, name="discriminator")
        self.track_generator_average()

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "minibatch_stddev": self.minibatch_stddev,
            "generator_filters": self.generator_filters,
        }


# The widths of `dcgan-mnist`'s networks, which lsgan-mnist, wgan-gp-mnist, infogan-mnist and
# dcgan-fashion share.
WIDE_NETWORKS = {"generator_filters": 64, "dense_units": 512}


@register_model(recipe={"epochs": 110, "batch_size": 64, "rejection_keep": 0.8})
def dcgan_mnist(**overrides):
    """Convolutional GAN (DCGAN) on MNIST."""
    return DCGAN(**{
        "latent_dim": 64, "ema_decay": 0.999, **WIDE_NETWORKS, "r1_penalty": 5.0,
        "temperature": 1.0, **overrides})


@register_model(dataset="fashion_mnist", recipe={"epochs": 20, "batch_size": 64})
def dcgan_fashion(**overrides):
    """Convolutional GAN (DCGAN) on Fashion-MNIST, with `dcgan-mnist`'s networks and R1."""
    return DCGAN(**{
        "latent_dim": 64, "ema_decay": 0.999, **WIDE_NETWORKS, "r1_penalty": 5.0,
        "temperature": 1.2, **overrides})
