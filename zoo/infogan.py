"""InfoGAN (Chen et al., 2016): interpretable codes learned without labels.

The generator's input is noise, a 10-way categorical code (one-hot) and two
continuous codes in [-1, 1]. A head Q on the discriminator's features
recovers the codes from the image; G and Q are trained to make that possible
(a lower bound on the mutual information between codes and images). On MNIST
the categorical code tends to pick up the digit class and the continuous
codes slant and width, all without labels: `generate(n, codes={"category": 7})`.
"""

import math

import numpy as np
import keras
import tensorflow as tf
from keras import layers, ops

from zoo._base import GAN, IMAGE_SHAPE, _as_array, check_positive_int
from zoo._registry import register_model
from zoo.dcgan import WIDE_NETWORKS, conv_features, conv_image_head

CATEGORIES = 10
CONTINUOUS_CODES = 2
CODE_DIM = CATEGORIES + CONTINUOUS_CODES


@keras.saving.register_keras_serializable(package="zoo")
class InfoGAN(GAN):
    """DCGAN networks plus a code-recovering head Q on D.

    `latent_dim` is the whole generator input: `latent_dim - 12` noise values,
    then the one-hot categorical code (10), then the continuous codes (2).
    `info_weight` scales the code-recovery loss, `continuous_weight` the continuous codes' share
    of it (InfoGAN's smaller lambda for continuous codes); `generator_filters` widens G alone;
    `r1_penalty` acts on D's real-or-fake logit only.
    """

    categorical_codes = CATEGORIES

    def __init__(self, filters=32, kernel_size=4, dense_units=128, info_weight=1.0, generator_filters=None,
                 continuous_weight=1.0, **kwargs):
        super().__init__(**kwargs)
        if self.gradient_penalty:
            raise ValueError("InfoGAN's discriminator with its Q head has no gradient penalty; "
                             "use another loss than 'wasserstein' (R1, on the real-or-fake logit, works)")
        if self.prior != "normal":
            raise ValueError("InfoGAN draws its own codes; its noise prior must be 'normal'")
        if self.latent_dim <= CODE_DIM:
            raise ValueError(f"latent_dim must exceed the {CODE_DIM} code values (noise + codes), got {self.latent_dim}")
        if not info_weight > 0:
            raise ValueError(f"info_weight must be > 0, got {info_weight!r}")
        if not continuous_weight >= 0:
            raise ValueError(f"continuous_weight must be >= 0, got {continuous_weight!r}")
        self.filters = filters
        self.kernel_size = kernel_size
        self.dense_units = dense_units
        self.info_weight = float(info_weight)
        self.continuous_weight = float(continuous_weight)
        self.generator_filters = generator_filters
        self.noise_dim = self.latent_dim - CODE_DIM

        latent = keras.Input((self.latent_dim,), name="latent")
        self.generator = keras.Model(latent, conv_image_head(latent, generator_filters or filters, kernel_size),
                                     name="generator")
        images = keras.Input(IMAGE_SHAPE, name="images")
        features = conv_features(images, filters, kernel_size, dense_units)
        outputs = [
            layers.Dense(1, name="real_or_fake")(features),
            layers.Dense(CATEGORIES, name="category")(features),
            layers.Dense(CONTINUOUS_CODES, name="continuous")(features),
        ]
        self.discriminator = keras.Model(images, outputs, name="discriminator")
        self.info_loss_tracker = keras.metrics.Mean(name="info_loss")
        self.track_generator_average()

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "dense_units": self.dense_units,
            "info_weight": self.info_weight,
            "generator_filters": self.generator_filters,
            "continuous_weight": self.continuous_weight,
        }

    @property
    def metrics(self):
        return super().metrics + [self.info_loss_tracker]

    # ------------------------------------------------------------ codes
    def sample_latent(self, batch_size):
        # Derived from one replica-aware normal draw: the argmax of 10 normals is a uniform
        # category, and erf(x / sqrt 2) of a normal x is uniform in [-1, 1].
        normal = super().sample_latent(batch_size)
        noise = normal[:, : self.noise_dim]
        category = ops.one_hot(ops.argmax(normal[:, self.noise_dim : self.noise_dim + CATEGORIES], axis=1), CATEGORIES)
        continuous = tf.math.erf(normal[:, self.noise_dim + CATEGORIES :] / np.sqrt(2.0))
        return ops.concatenate([noise, category, continuous], axis=1)

    def _draw_latent(self, rng, count):
        return self.compose_latent(rng, count, {})

    def compose_latent(self, rng, count, codes):
        """Latent vectors of `count` images: fresh noise, with the codes in `codes` or random ones."""
        unknown = set(codes) - {"category", "continuous"}
        if unknown:
            raise ValueError(f"codes takes the keys 'category' and 'continuous', got {sorted(unknown)}")
        # One normal row per image, turned into codes as in `sample_latent`: the same seed then
        # gives the same images whatever the batch size `generate` splits them into.
        normal = rng.standard_normal((count, self.latent_dim), dtype="float32")
        noise = normal[:, : self.noise_dim] * np.float32(self.temperature)  # the codes keep their distributions
        category = normal[:, self.noise_dim : self.noise_dim + CATEGORIES].argmax(axis=1)
        continuous = np.vectorize(math.erf)(normal[:, self.noise_dim + CATEGORIES :] / np.sqrt(2.0))
        if codes.get("category") is not None:
            category = _broadcast(codes["category"], (count,), "codes['category']")
            if category.dtype.kind not in "iu" or category.min() < 0 or category.max() >= CATEGORIES:
                raise ValueError(f"codes['category'] must be integers 0-{CATEGORIES - 1}, got {category[:5].tolist()}")
        if codes.get("continuous") is not None:
            continuous = _broadcast(codes["continuous"], (count, CONTINUOUS_CODES), "codes['continuous']")
            if continuous.dtype.kind not in "iuf" or not np.isfinite(continuous).all():
                raise ValueError("codes['continuous'] must be finite numbers (usually in [-1, 1])")
        one_hot = np.eye(CATEGORIES, dtype="float32")[category]
        return np.concatenate([noise, one_hot, continuous.astype("float32")], axis=1)

    def generate(self, n=None, *, codes=None, seed=None, latent=None, batch_size=1000):
        """As `GAN.generate`; `codes={"category": c, "continuous": (u, v)}` fixes the codes
        (a value each, or one per image), the rest is drawn at random."""
        if codes is None:
            return super().generate(n, seed=seed, latent=latent, batch_size=batch_size)
        if latent is not None:
            raise ValueError("give either codes or latent vectors, not both")
        if not isinstance(codes, dict):
            raise ValueError(f"codes must be a dict with 'category' and/or 'continuous', got {type(codes).__name__}")
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"n must be a positive count, got {n!r}")
        try:
            rng = np.random.default_rng(seed)
        except (TypeError, ValueError):
            raise ValueError(f"seed must be None or a non-negative int, got {seed!r}") from None
        latent = self.compose_latent(rng, int(n), codes)
        return super().generate(latent=latent, batch_size=batch_size)

    # ---------------------------------------------------------- training
    def info_loss(self, latent, category_logits, continuous):
        """Negative log-likelihood of the codes under Q (unit-variance Gaussian for the continuous ones)."""
        category = latent[:, self.noise_dim : self.noise_dim + CATEGORIES]
        target = latent[:, self.noise_dim + CATEGORIES :]
        category_logits, continuous = ops.cast(category_logits, "float32"), ops.cast(continuous, "float32")
        categorical = ops.mean(keras.losses.categorical_crossentropy(category, category_logits, from_logits=True))
        return categorical + self.continuous_weight * 0.5 * ops.mean(ops.sum(ops.square(continuous - target), axis=1))

    def discriminator_step(self, real, labels):
        """D: real vs generated; Q: recover the codes of the generated images."""
        latent = self.sample_latent(ops.shape(real)[0])
        fake = self.generator(latent, training=True)
        with tf.GradientTape() as tape:
            (real_logits, _, _), r1_loss = self.real_logits_and_r1_loss(real)
            fake_logits, category_logits, continuous = self.discriminator(fake, training=True)
            info_loss = self.info_loss(latent, category_logits, continuous)
            d_loss = self.discriminator_loss(real_logits, fake_logits) + self.info_weight * info_loss + r1_loss
        self.info_loss_tracker.update_state(info_loss)
        return self.apply_discriminator_update(tape, d_loss, real)

    def generator_step(self, real, labels):
        """G: fool D and make its codes recoverable by Q; D and Q run in inference mode."""
        latent = self.sample_latent(ops.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self.generator(latent, training=True)
            fake_logits, category_logits, continuous = self.discriminator(fake, training=False)
            g_loss = self.generator_loss(fake_logits) + self.info_weight * self.info_loss(latent, category_logits, continuous)
        return self._apply(self.g_optimizer, tape, g_loss, self.generator_variables)


def _broadcast(values, shape, what):
    array = _as_array(values, what)
    try:
        return np.broadcast_to(array, shape)
    except ValueError:
        raise ValueError(f"{what} must be one value or one per image {shape}, got shape {array.shape}") from None


@register_model(recipe={"epochs": 45, "batch_size": 64})
def infogan_mnist(**overrides):
    """InfoGAN on MNIST: a categorical and two continuous codes learned without labels."""
    return InfoGAN(**{
        "latent_dim": 74, "ema_decay": 0.999, **WIDE_NETWORKS, "r1_penalty": 5.0,
        "temperature": 1.0, "continuous_weight": 0.1, **overrides})


def save_code_grid(model, path, continuous_index=0, steps=10, seed=0):
    """A PNG grid: one row per categorical code, the continuous code `continuous_index` going
    from -1 to 1 along each row, the noise and the other code held fixed."""
    from zoo.plotting import save_grid

    if continuous_index not in range(CONTINUOUS_CODES):
        raise ValueError(f"continuous_index must be 0 or 1, got {continuous_index!r}")
    steps = check_positive_int("steps", steps)
    rng = np.random.default_rng(seed)
    noise = np.repeat(rng.standard_normal((1, model.noise_dim), dtype="float32"), CATEGORIES * steps, axis=0)
    category = np.eye(CATEGORIES, dtype="float32")[np.repeat(np.arange(CATEGORIES), steps)]
    continuous = np.zeros((CATEGORIES * steps, CONTINUOUS_CODES), "float32")
    continuous[:, continuous_index] = np.tile(np.linspace(-1, 1, steps, dtype="float32"), CATEGORIES)
    images = model.generate(latent=np.concatenate([noise, category, continuous], axis=1))
    save_grid(images, path, columns=steps, row_labels=[f"code {c}" for c in range(CATEGORIES)],
              title=f"rows: categorical code; columns: continuous code {continuous_index} from -1 to 1")
    return path
