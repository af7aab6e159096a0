"""The GAN base class every variant derives from.

`train_step` does explicitly what the classic stacked `G -> D` model with
`D.trainable = False` did: the discriminator step updates only D, the
generator step backpropagates through D (run in inference mode, so D's
batch-norm statistics stay untouched) and updates only G.
"""

import numpy as np
import keras
import tensorflow as tf
from keras import ops

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
LOSSES = ("minimax", "non_saturating")
PRIORS = ("normal", "uniform")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {list(choices)}")


def check_images(images, what="images"):
    """Return `images` as float32 (N, 28, 28, 1) in [0, 1], or raise ValueError."""
    array = np.asarray(images)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{what} must be a numeric array, got dtype {array.dtype}")
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"{what} must have shape (N, 28, 28) or (N, 28, 28, 1), got {array.shape}"
        )
    if len(array) == 0:
        raise ValueError(f"{what} is empty")
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype("float32") / 255.0
    array = array.astype("float32")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    if array.min() < 0.0 or array.max() > 1.0:
        raise ValueError(
            f"{what} float values must lie in [0, 1], got [{array.min():g}, {array.max():g}]"
            " (divide 0-255 pixel values by 255)"
        )
    return array


def check_labels(labels):
    """Return `labels` as an int32 vector of digits 0-9, or raise ValueError."""
    array = np.asarray(labels)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"labels must be a non-empty list of class ids 0-9, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            array = array.astype("int64")
        else:
            raise ValueError(f"labels must be integers 0-{NUM_CLASSES - 1}, got {array[:5].tolist()}...")
    bad = array[(array < 0) | (array >= NUM_CLASSES)]
    if len(bad):
        raise ValueError(f"label {int(bad[0])} is outside 0-{NUM_CLASSES - 1}")
    return array.astype("int32")


def default_optimizer():
    # The DCGAN paper's Adam settings, used by most GAN recipes since.
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


class GAN(keras.Model):
    """Base class: holds `generator` and `discriminator`, trains them adversarially.

    Subclasses build the two networks in their `__init__` (after calling
    this one) and override `generator_inputs` / `discriminator_inputs` when
    the networks take more than an image or a latent vector.
    """

    conditional = False

    def __init__(
        self,
        latent_dim=100,
        loss="non_saturating",
        label_smoothing=0.0,
        prior="normal",
        seed=None,
        ema_decay=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_choice("loss", loss, LOSSES)
        _check_choice("prior", prior, PRIORS)
        if not isinstance(latent_dim, int) or latent_dim <= 0:
            raise ValueError(f"latent_dim must be a positive int, got {latent_dim!r}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) (0 turns the average off), got {ema_decay!r}")
        self.latent_dim = latent_dim
        self.loss_name = loss
        self.label_smoothing = float(label_smoothing)
        self.prior = prior
        self.seed = seed
        self.ema_decay = float(ema_decay)
        self.generator_average = None
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self._sample_fn = None
        self.built = True  # the sub-networks are functional models, built when created

    # ----------------------------------------------------------- config
    def get_config(self):
        return {
            "name": self.name,
            "latent_dim": self.latent_dim,
            "loss": self.loss_name,
            "label_smoothing": self.label_smoothing,
            "prior": self.prior,
            "seed": self.seed,
            "ema_decay": self.ema_decay,
        }

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """`g_optimizer` / `d_optimizer` default to Adam(2e-4, beta_1=0.5)."""
        kwargs.setdefault("optimizer", None)
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or default_optimizer()
        self.d_optimizer = d_optimizer or default_optimizer()
        self._compile_kwargs = {
            k: kwargs[k] for k in ("steps_per_execution", "jit_compile") if k in kwargs
        }

    def get_compile_config(self):
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        g_optimizer = keras.optimizers.deserialize(config.pop("g_optimizer"))
        d_optimizer = keras.optimizers.deserialize(config.pop("d_optimizer"))
        self.compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer, **config)
        # Build the slots now so that a saved optimizer state can be loaded into them.
        self.g_optimizer.build(self.generator_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    # ------------------------------------------------- network plumbing
    @property
    def generator_variables(self):
        """Variables the generator step updates (G; BiGAN adds its encoder)."""
        return self.generator.trainable_variables

    def generator_inputs(self, latent, labels):
        return latent

    def discriminator_inputs(self, images, labels):
        return images

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def sample_latent(self, batch_size):
        shape = (batch_size, self.latent_dim)
        if self.prior == "uniform":
            return keras.random.uniform(shape, -1.0, 1.0, seed=self.seed_generator)
        return keras.random.normal(shape, seed=self.seed_generator)

    # ----------------------------------------------------------- losses
    def discriminator_loss(self, real_logits, fake_logits):
        # Binary cross-entropy on logits: BCE(t, l) = softplus(l) - t * l.
        real_target = 1.0 - self.label_smoothing
        real = ops.mean(ops.softplus(real_logits) - real_target * real_logits)
        fake = ops.mean(ops.softplus(fake_logits))
        return real + fake

    def generator_loss(self, fake_logits):
        if self.loss_name == "minimax":
            return -ops.mean(ops.softplus(fake_logits))  # minimise log(1 - D(G(z)))
        return ops.mean(ops.softplus(-fake_logits))  # maximise log D(G(z))

    # ---------------------------------------------------------- training
    def unpack_batch(self, data):
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(images, (tuple, list)):
            images, labels = images[0], (images[1] if len(images) > 1 else labels)
        if tuple(images.shape[1:]) == IMAGE_SHAPE[:2]:
            images = ops.expand_dims(images, -1)
        if tuple(images.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(
                f"{self.name} trains on images of shape (N, 28, 28, 1) scaled to [-1, 1] "
                f"(see zoo.data.load); got a batch of shape {tuple(images.shape)}"
            )
        if self.conditional and labels is None:
            raise ValueError(
                f"{self.name} is conditional: fit it on (images, labels) batches, "
                "e.g. zoo.data.load('mnist', labels=True)"
            )
        images = ops.cast(images, "float32")
        if labels is not None:
            labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        return images, labels

    def track_generator_average(self):
        """Subclasses call this once G exists: with `ema_decay` > 0, keep an exponential
        moving average of G's weights (`generator_average`), which `generate` samples from."""
        if self.ema_decay:
            self.generator_average = keras.models.clone_model(self.generator)
            self.generator_average.name = "generator_average"
            self.generator_average.set_weights(self.generator.get_weights())

    @property
    def sampling_generator(self):
        return self.generator_average if self.generator_average is not None else self.generator

    def update_generator_average(self):
        for average, weight in zip(self.generator_average.weights, self.generator.weights):
            average.assign(self.ema_decay * average + (1.0 - self.ema_decay) * weight)

    def train_step(self, data):
        real, labels = self.unpack_batch(data)
        d_loss = self.discriminator_step(real, labels)
        g_loss = self.generator_step(real, labels)
        if self.generator_average is not None:
            self.update_generator_average()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {m.name: m.result() for m in self.metrics}

    def discriminator_step(self, real, labels):
        """One update of D's weights only, on a real batch against a generated one."""
        latent = self.sample_latent(ops.shape(real)[0])
        fake = self.generator(self.generator_inputs(latent, labels), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(self.discriminator_inputs(real, labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=True)
            d_loss = self.discriminator_loss(real_logits, fake_logits)
        return self._apply(self.d_optimizer, tape, d_loss, self.discriminator.trainable_variables)

    def generator_step(self, real, labels):
        """One update of G's weights only; gradients flow through D in inference mode,
        so D's batch-norm statistics and dropout stay out of it."""
        latent = self.sample_latent(ops.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_inputs(latent, labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=False)
            g_loss = self.generator_loss(fake_logits)
        return self._apply(self.g_optimizer, tape, g_loss, self.generator_variables)

    @staticmethod
    def _apply(optimizer, tape, loss, variables):
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    # -------------------------------------------------------- generation
    def generate(self, n=None, *, seed=None, latent=None, batch_size=1000):
        """Generate images as float32 (N, 28, 28, 1) in [0, 1].

        `n` is a count for unconditional models and a sequence of digit
        labels for conditional ones. `seed` makes the output reproducible
        across calls and processes; `latent` gives explicit latent vectors.
        """
        labels = None
        if self.conditional:
            if n is None or isinstance(n, (int, np.integer)):
                raise ValueError(
                    f"{self.name} is conditional: pass the digits to draw, e.g. generate([3, 1, 4]), not {n!r}"
                )
            labels = check_labels(n)
            count = len(labels)
        elif n is None and latent is None:
            raise ValueError(f"{self.name}.generate needs a count n or latent vectors")
        elif n is not None:
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
                raise ValueError(
                    f"{self.name} is unconditional: generate takes a count (int), got {type(n).__name__} {n!r}"
                )
            if n <= 0:
                raise ValueError(f"n must be a positive count, got {n}")
            count = int(n)
        if latent is not None:
            latent = np.asarray(latent, dtype="float32")
            if latent.ndim != 2 or latent.shape[1] != self.latent_dim:
                raise ValueError(
                    f"latent must have shape (N, {self.latent_dim}) for {self.name}, got {latent.shape}"
                )
            if not np.isfinite(latent).all():
                raise ValueError("latent contains NaN or infinite values")
            if n is not None and count != len(latent):
                raise ValueError(f"got {count} {'labels' if self.conditional else 'images'} but {len(latent)} latent vectors")
            count = len(latent)
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")

        rng = np.random.default_rng(seed)
        out = np.empty((count,) + IMAGE_SHAPE, dtype="float32")
        for start in range(0, count, batch_size):
            stop = min(start + batch_size, count)
            z = latent[start:stop] if latent is not None else self._draw_latent(rng, stop - start)
            y = labels[start:stop] if labels is not None else None
            out[start:stop] = self._sample(z, y)
        return out

    def _draw_latent(self, rng, count):
        if self.prior == "uniform":
            return rng.uniform(-1.0, 1.0, (count, self.latent_dim)).astype("float32")
        return rng.standard_normal((count, self.latent_dim), dtype="float32")

    def _sample(self, latent, labels):
        if self._sample_fn is None:
            @tf.function(reduce_retracing=True)
            def sample(z, y):
                images = self.sampling_generator(self.generator_inputs(z, y), training=False)
                return tf.clip_by_value((images + 1.0) * 0.5, 0.0, 1.0)

            self._sample_fn = sample
        y = tf.constant(labels) if labels is not None else None
        return self._sample_fn(tf.constant(latent), y).numpy()

    def parameter_counts(self):
        """Parameter count of each sub-network, e.g. {'generator': ..., 'discriminator': ...}."""
        return {name: int(getattr(self, name).count_params()) for name in self.network_names}

    network_names = ("generator", "discriminator")


class ConditionalMixin:
    """Generator and discriminator both take the digit label as a second input."""

    conditional = True

    def generator_inputs(self, latent, labels):
        return [latent, labels]

    def discriminator_inputs(self, images, labels):
        return [images, labels]
