"""Auxiliary-classifier GAN (Odena et al., 2017).

The generator is the conditional one of `cgan-mnist` (latent vector plus a
label embedding). The discriminator sees only the image and has two heads:
real-or-fake, and the digit's class. D learns to classify real and generated
images; G is rewarded when D classifies its image as the label it was asked
for, which is what makes `generate([3, 1, 4])` draw those digits.
"""

import keras
import tensorflow as tf
from keras import layers, ops

from zoo._base import GAN, IMAGE_SHAPE, NUM_CLASSES, ConditionalMixin
from zoo._registry import register_model
from zoo.cgan import conditional_generator
from zoo.dcgan import conv_features


@keras.saving.register_keras_serializable(package="zoo")
class ACGAN(ConditionalMixin, GAN):
    """Label-conditioned GAN whose discriminator also classifies; `class_weight` scales
    the classification loss against the adversarial one."""

    def __init__(self, filters=32, kernel_size=4, dense_units=256, embedding_dim=50, class_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        if self.gradient_penalty or self.r1_penalty:
            raise ValueError("ACGAN's two-headed discriminator has no gradient penalty (nor R1); "
                             "use another loss than 'wasserstein' and r1_penalty=0")
        if not class_weight > 0:
            raise ValueError(f"class_weight must be > 0, got {class_weight!r}")
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.embedding_dim = embedding_dim
        self.class_weight = float(class_weight)
        self.generator = conditional_generator(self.latent_dim, filters, kernel_size, embedding_dim)

        images = keras.Input(IMAGE_SHAPE, name="images")
        features = conv_features(images, filters, kernel_size, dense_units)
        logits = layers.Dense(1, name="real_or_fake")(features)
        class_logits = layers.Dense(NUM_CLASSES, name="class")(features)
        self.discriminator = keras.Model(images, [logits, class_logits], name="discriminator")
        self.class_loss_tracker = keras.metrics.Mean(name="class_loss")
        self.track_generator_average()

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "embedding_dim": self.embedding_dim,
            "class_weight": self.class_weight,
        }

    @property
    def metrics(self):
        return super().metrics + [self.class_loss_tracker]

    def discriminator_inputs(self, images, labels):
        return images  # D must tell the class from the image alone

    @staticmethod
    def class_loss(labels, class_logits):
        class_logits = ops.cast(class_logits, "float32")
        return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, class_logits, from_logits=True))

    def discriminator_step(self, real, labels):
        """D: real vs generated, and the class of both (the labels G was given for the fakes)."""
        latent = self.sample_latent(ops.shape(real)[0])
        fake = self.generator([latent, labels], training=True)
        with tf.GradientTape() as tape:
            real_logits, real_classes = self.discriminator(real, training=True)
            fake_logits, fake_classes = self.discriminator(fake, training=True)
            real_class_loss = self.class_loss(labels, real_classes)
            class_loss = real_class_loss + self.class_loss(labels, fake_classes)
            d_loss = self.discriminator_loss(real_logits, fake_logits) + self.class_weight * class_loss
        self.class_loss_tracker.update_state(real_class_loss)
        return self._apply(self.d_optimizer, tape, d_loss, self.discriminator.trainable_variables)

    def generator_step(self, real, labels):
        """G: fool D and be classified as the requested label; D runs in inference mode."""
        latent = self.sample_latent(ops.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self.generator([latent, labels], training=True)
            fake_logits, fake_classes = self.discriminator(fake, training=False)
            g_loss = self.generator_loss(fake_logits) + self.class_weight * self.class_loss(labels, fake_classes)
        return self._apply(self.g_optimizer, tape, g_loss, self.generator_variables)


@register_model(recipe={"epochs": 20, "batch_size": 64})
def acgan_mnist(**overrides):
    """Auxiliary-classifier GAN on MNIST: D also classifies; generate([3, 1, 4]) draws those digits."""
    return ACGAN(**{"latent_dim": 64, "ema_decay": 0.999, "temperature": 1.2, **overrides})
