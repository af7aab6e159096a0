"""Deep convolutional GAN (Radford et al., 2015), narrowed for a 2-core CPU.

Generator: dense to 7x7, two stride-2 transposed convolutions to 28x28 with
batch norm and ReLU, tanh output. Discriminator: two stride-2 LeakyReLU
convolutions and a logit (no batch norm in D, so the generator step sees the
same D as the discriminator step).
"""

import keras
from keras import layers

from zoo._base import GAN, IMAGE_SHAPE
from zoo._registry import register_model


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(GAN):
    """Convolutional generator and discriminator; `filters` sets the width."""

    def __init__(self, filters=32, kernel_size=4, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        f, k = filters, kernel_size

        latent = keras.Input((self.latent_dim,), name="latent")
        x = layers.Dense(7 * 7 * 2 * f, use_bias=False)(latent)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Reshape((7, 7, 2 * f))(x)
        x = layers.Conv2DTranspose(f, k, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        images = layers.Conv2DTranspose(1, k, strides=2, padding="same", activation="tanh")(x)
        self.generator = keras.Model(latent, images, name="generator")

        images = keras.Input(IMAGE_SHAPE, name="images")
        x = layers.Conv2D(f, k, strides=2, padding="same")(images)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Conv2D(2 * f, k, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        logits = layers.Dense(1)(layers.Flatten()(x))
        self.discriminator = keras.Model(images, logits, name="discriminator")
        self.track_generator_average()

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


@register_model(recipe={"epochs": 20, "batch_size": 64})
def dcgan_mnist(**overrides):
    """Convolutional GAN (DCGAN) on MNIST."""
    return DCGAN(**{"latent_dim": 64, "ema_decay": 0.999, **overrides})
