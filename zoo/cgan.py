"""Conditional GAN (Mirza & Osindero, 2014) with a projection discriminator (Miyato & Koyama, 2018).

The generator is the DCGAN one with a learned label embedding concatenated to
the latent vector. The discriminator is the DCGAN one whose logit adds the
projection <embed(y), h> of its features h on the label's embedding: the
class enters D as a match score rather than as an extra input channel.
"""

import keras
from keras import layers

from zoo._base import GAN, IMAGE_SHAPE, NUM_CLASSES, ConditionalMixin
from zoo._registry import register_model
from zoo.dcgan import conv_features, conv_image_head


def conditional_generator(latent_dim, filters, kernel_size, embedding_dim):
    """The DCGAN generator on the latent vector concatenated with a learned label embedding."""
    latent = keras.Input((latent_dim,), name="latent")
    labels = keras.Input((), dtype="int32", name="labels")
    x = layers.Concatenate()([latent, layers.Embedding(NUM_CLASSES, embedding_dim)(labels)])
    return keras.Model([latent, labels], conv_image_head(x, filters, kernel_size), name="generator")


@keras.saving.register_keras_serializable(package="zoo")
class ConditionalGAN(ConditionalMixin, GAN):
    """Label-conditioned convolutional GAN; `generate(labels)` draws those digits."""

    def __init__(
        self, filters=32, kernel_size=4, dense_units=256, embedding_dim=50, minibatch_stddev=False, **kwargs
    ):
        super().__init__(**kwargs)
        if not dense_units:
            raise ValueError("the projection discriminator needs dense_units > 0")
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.embedding_dim = embedding_dim
        self.minibatch_stddev = minibatch_stddev

        self.generator = conditional_generator(self.latent_dim, filters, kernel_size, embedding_dim)

        images = keras.Input(IMAGE_SHAPE, name="images")
        d_labels = keras.Input((), dtype="int32", name="labels")
        features = conv_features(images, filters, kernel_size, dense_units, minibatch_stddev)
        projection = layers.Dot(axes=1)([layers.Embedding(NUM_CLASSES, dense_units)(d_labels), features])
        logits = layers.Add()([layers.Dense(1)(features), projection])
        self.discriminator = keras.Model([images, d_labels], logits, name="discriminator")
        self.track_generator_average()

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "embedding_dim": self.embedding_dim,
            "minibatch_stddev": self.minibatch_stddev,
        }


@register_model(recipe={"epochs": 20, "batch_size": 64})
def cgan_mnist(**overrides):
    """Conditional convolutional GAN on MNIST: generate([3, 1, 4]) draws those digits."""
    return ConditionalGAN(**{"latent_dim": 64, "ema_decay": 0.999, "temperature": 1.2, **overrides})


@register_model(dataset="fashion_mnist", recipe={"epochs": 20, "batch_size": 64})
def cgan_fashion(**overrides):
    """Conditional convolutional GAN on Fashion-MNIST: generate([0, 9]) draws a T-shirt and an ankle boot."""
    return ConditionalGAN(**{"latent_dim": 64, "ema_decay": 0.999, "temperature": 1.3, **overrides})
