"""Conditional GAN (Mirza & Osindero, 2014): G and D both see the digit label.

Fully connected like `gan-mnist`; the label enters each network as a learned
embedding concatenated to its input.
"""

import keras
from keras import layers

from zoo._base import GAN, IMAGE_SHAPE, NUM_CLASSES, ConditionalMixin
from zoo._registry import register_model
from zoo.gan import mlp_image_head, mlp_logit_head


def label_embedding(labels, dim):
    return layers.Embedding(NUM_CLASSES, dim)(labels)


@keras.saving.register_keras_serializable(package="zoo")
class ConditionalGAN(ConditionalMixin, GAN):
    """Label-conditioned fully connected GAN; `generate(labels)` draws those digits."""

    def __init__(
        self,
        generator_widths=(256, 512, 1024),
        discriminator_widths=(512, 512, 512),
        embedding_dim=50,
        dropout=0.3,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator_widths = tuple(generator_widths)
        self.discriminator_widths = tuple(discriminator_widths)
        self.embedding_dim = embedding_dim
        self.dropout = dropout

        latent = keras.Input((self.latent_dim,), name="latent")
        g_labels = keras.Input((), dtype="int32", name="labels")
        x = layers.Concatenate()([latent, label_embedding(g_labels, embedding_dim)])
        self.generator = keras.Model(
            [latent, g_labels], mlp_image_head(x, self.generator_widths), name="generator"
        )

        images = keras.Input(IMAGE_SHAPE, name="images")
        d_labels = keras.Input((), dtype="int32", name="labels")
        x = layers.Concatenate()([layers.Flatten()(images), label_embedding(d_labels, embedding_dim)])
        logits = mlp_logit_head(x, self.discriminator_widths, dropout)
        self.discriminator = keras.Model([images, d_labels], logits, name="discriminator")
        self.track_generator_average()

    def get_config(self):
        return {
            **super().get_config(),
            "generator_widths": list(self.generator_widths),
            "discriminator_widths": list(self.discriminator_widths),
            "embedding_dim": self.embedding_dim,
            "dropout": self.dropout,
        }


@register_model(recipe={"epochs": 30, "batch_size": 64})
def cgan_mnist(**overrides):
    """Conditional fully connected GAN on MNIST: generate([3, 1, 4]) draws those digits."""
    return ConditionalGAN(**{"latent_dim": 100, "ema_decay": 0.999, **overrides})
