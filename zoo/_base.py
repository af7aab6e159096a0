"""The GAN base class every variant derives from.

`train_step` does explicitly what the classic stacked `G -> D` model with
`D.trainable = False` did: the discriminator step updates only D, the
generator step backpropagates through D (run in inference mode, so D's
batch-norm statistics stay untouched) and updates only G.
"""

import contextlib
import os
import warnings

import numpy as np
import keras
import tensorflow as tf
from keras import layers, ops

from zoo.rejection import STORE_PREFIX as REJECTION_PREFIX, AcceptedStream, RejectionSampler, calibrate

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
LOSSES = ("minimax", "non_saturating", "least_squares", "hinge", "wasserstein")
PRIORS = ("normal", "uniform")


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {list(choices)}")


def _as_array(values, what):
    """np.asarray(values), with the errors of unconvertible input as one clear ValueError."""
    try:
        return np.asarray(values)
    except (MemoryError, OverflowError):  # e.g. range(10**12)
        raise ValueError(f"{what} are too many to hold in memory") from None
    except (ValueError, TypeError) as error:  # ragged nesting, odd objects
        raise ValueError(f"{what} cannot be read as an array: {error}") from None


def _image_array(images, what):
    """`images` as a non-empty numeric array of shape (N, 28, 28, 1), not yet rescaled."""
    array = _as_array(images, what)
    if array.dtype.kind not in "biuf":  # bool, int, uint, float: no complex, dates, strings, objects
        raise ValueError(f"{what} must be a numeric array (int or float), got dtype {array.dtype}")
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"{what} must have shape (N, 28, 28) or (N, 28, 28, 1), got {array.shape}"
        )
    if len(array) == 0:
        raise ValueError(f"{what} is empty")
    return array


def _check_range(array, what, low, high, hint):
    """Raise ValueError unless every value of float `array` is finite and in [low, high]."""
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    if array.min() < low or array.max() > high:
        raise ValueError(
            f"{what} float values must lie in [{low:g}, {high:g}], "
            f"got [{array.min():g}, {array.max():g}] ({hint})"
        )


def check_images(images, what="images"):
    """Return `images` as float32 (N, 28, 28, 1) in [0, 1], or raise ValueError.

    Integer images are pixel values 0-255; float images are already in [0, 1].
    """
    array = _image_array(images, what)
    if array.dtype.kind in "iu":
        if array.min() < 0 or array.max() > 255:
            raise ValueError(f"{what} integer pixel values must lie in 0-255, got [{array.min()}, {array.max()}]")
        return array.astype("float32") / 255.0
    _check_range(array, what, 0.0, 1.0, "divide 0-255 pixel values by 255")  # before a cast could overflow
    return array.astype("float32")


def check_training_images(images, what="images"):
    """Return `images` as float32 (N, 28, 28, 1) in [-1, 1], the range the models train on."""
    array = _image_array(images, what)
    if array.dtype.kind != "f":
        raise ValueError(
            f"{what} to fit on must be floats scaled to [-1, 1] (pixels / 127.5 - 1), got dtype {array.dtype}; "
            "zoo.data.load(images) does the scaling"
        )
    _check_range(array, what, -1.0, 1.0, "scale 0-255 pixel values with pixels / 127.5 - 1")
    return array.astype("float32")


def check_labels(labels):
    """Return `labels` as an int32 vector of digits 0-9, or raise ValueError."""
    array = _as_array(labels, "labels")
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"labels must be a non-empty list of class ids 0-9, got shape {array.shape}")
    integral = array.dtype.kind in "iu" or (
        array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array))
    )
    if not integral:
        raise ValueError(f"labels must be integers 0-{NUM_CLASSES - 1}, got {array[:5].tolist()}...")
    bad = array[(array < 0) | (array >= NUM_CLASSES)]  # checked before the cast, which could wrap around
    if len(bad):
        raise ValueError(f"label {bad[0]:g} is outside 0-{NUM_CLASSES - 1}")
    return array.astype("int32")


# fit arguments that only Keras's own pipeline for arrays handles: with any of them, it keeps the arrays
ARRAY_ONLY_FIT_ARGUMENTS = ("validation_split", "sample_weight", "class_weight")
IMAGE_BYTES = 4 * int(np.prod(IMAGE_SHAPE))  # one float32 image


def max_images():
    """How many float32 images fit in this machine's physical memory: `generate` refuses more."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): assume 64 GiB
        memory = 64 * 2**30
    return memory // IMAGE_BYTES


def check_positive_int(name, value):
    """Return `value` as an int if it is a positive integer (not a bool), else raise ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_nonnegative_int(name, value):
    """Return `value` as an int if it is an integer >= 0 (not a bool), else raise ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


def replicas_in_sync():
    """How many replicas the current `tf.distribute` strategy trains on (1 without one)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def batch_norm(**kwargs):
    """Batch norm that, when built under a multi-replica strategy, normalises over the
    global batch (synchronised statistics), so a distributed step equals a single-device one."""
    return layers.BatchNormalization(synchronized=replicas_in_sync() > 1, **kwargs)


@keras.saving.register_keras_serializable(package="zoo")
class MinibatchStddev(layers.Layer):
    """Appends one channel holding the batch's mean standard deviation over its features
    (Karras et al., 2018): D can see a batch lacking variety, which pushes G to vary more.
    Under a multi-replica strategy the spread is the global batch's, so a distributed step
    equals a single-device one."""

    def call(self, x):
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            count = context.all_reduce("sum", tf.cast(tf.shape(x)[0], x.dtype))
            mean = context.all_reduce("sum", tf.reduce_sum(x, axis=0)) / count
            variance = context.all_reduce("sum", tf.reduce_sum(tf.square(x - mean), axis=0)) / count
        else:
            variance = keras.ops.var(x, axis=0)
        std = keras.ops.sqrt(variance + 1e-8)
        return keras.ops.concatenate([x, keras.ops.ones_like(x[..., :1]) * keras.ops.mean(std)], axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1] + (input_shape[-1] + 1,)


def freeze_layers(network, count):
    """Freeze the first `count` layers of `network` that have weights (inputs first)."""
    weighted = [layer for layer in network.layers if layer.weights]
    if not count < len(weighted):
        raise ValueError(
            f"can freeze 0 to {len(weighted) - 1} of {network.name}'s {len(weighted)} weighted layers, got {count}"
        )
    for layer in weighted[:count]:
        layer.trainable = False


def default_optimizer():
    # The DCGAN paper's Adam settings, used by most GAN recipes since.
    return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)


@contextlib.contextmanager
def dtype_policy(name):
    """Networks built inside compute in the Keras dtype policy `name` (e.g. "mixed_bfloat16":
    bfloat16 arithmetic, float32 weights); the global policy is restored on exit. None: no change.
    Losses are taken in float32 whatever the networks compute in."""
    previous = keras.config.dtype_policy()
    if name is not None:
        keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def logits_and_r1(discriminator, inputs):
    """D's logits on real inputs and the R1 penalty (Mescheder et al., 2018): the batch mean of the
    squared norm of D's gradient with respect to its float inputs, which keeps D from pushing G
    around where G already matches the data. D must score each example on its own (no batch
    norm in D): the gradient of the summed logits is then each example's own gradient. A D with
    several outputs (InfoGAN's code heads) is penalised on its first, the real-or-fake logit."""
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    watched = [x for x in inputs if x.dtype.is_floating]  # not integer labels
    with tf.GradientTape() as tape:
        tape.watch(watched)
        logits = discriminator(inputs if len(inputs) > 1 else inputs[0], training=True)
        scored = logits[0] if isinstance(logits, (list, tuple)) else logits
    gradients = tape.gradient(scored, watched)
    squares = [ops.square(ops.cast(g, "float32")) for g in gradients]
    return logits, ops.mean(sum(ops.sum(s, axis=tuple(range(1, len(s.shape)))) for s in squares))


class GAN(keras.Model):
    """Base class: holds `generator` and `discriminator`, trains them adversarially.

    Subclasses build the two networks in their `__init__` (after calling
    this one) and override `generator_inputs` / `discriminator_inputs` when
    the networks take more than an image or a latent vector.
    """

    conditional = False
    sample_shape = IMAGE_SHAPE  # what `generate` returns one of

    def __init__(
        self,
        latent_dim=100,
        loss="non_saturating",
        label_smoothing=0.0,
        prior="normal",
        seed=None,
        ema_decay=0.0,
        gradient_penalty=0.0,
        r1_penalty=0.0,
        r1_every=1,
        critic_steps=1,
        frozen_discriminator_layers=0,
        temperature=1.0,
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
        if not gradient_penalty >= 0.0:
            raise ValueError(f"gradient_penalty must be >= 0 (0 turns it off), got {gradient_penalty!r}")
        if not r1_penalty >= 0.0:
            raise ValueError(f"r1_penalty must be >= 0 (0 turns it off), got {r1_penalty!r}")
        check_positive_int("r1_every", r1_every)
        check_positive_int("critic_steps", critic_steps)
        if isinstance(frozen_discriminator_layers, bool) or not isinstance(frozen_discriminator_layers, int) \
                or frozen_discriminator_layers < 0:
            raise ValueError(f"frozen_discriminator_layers must be an int >= 0, got {frozen_discriminator_layers!r}")
        if loss == "wasserstein" and not gradient_penalty:
            raise ValueError("loss='wasserstein' needs a Lipschitz critic: set gradient_penalty (10 is usual)")
        self.latent_dim = latent_dim
        self.loss_name = loss
        self.label_smoothing = float(label_smoothing)
        self.prior = prior
        self.seed = seed
        self.ema_decay = float(ema_decay)
        self.gradient_penalty = float(gradient_penalty)
        self.r1_penalty = float(r1_penalty)
        self.r1_every = r1_every
        self.critic_steps = critic_steps
        self.frozen_discriminator_layers = frozen_discriminator_layers
        self.temperature = temperature
        self.generator_average = None
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self._sample_fn = None
        self.rejection = None  # a zoo.rejection.RejectionSampler once calibrate_rejection has run
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
            "gradient_penalty": self.gradient_penalty,
            "r1_penalty": self.r1_penalty,
            "r1_every": self.r1_every,
            "critic_steps": self.critic_steps,
            "frozen_discriminator_layers": self.frozen_discriminator_layers,
            "temperature": self.temperature,
        }

    # Keras saves no random-seed state, so a training run resumed from a checkpoint would draw
    # again the noise (latents, dropout masks) of its first steps. The model keeps the states
    # of all its seed generators with its own variables instead.
    SEED_KEY = "seed_state_"

    def seed_states(self):
        layers_ = [self, *self._flatten_layers(include_self=False)]
        return [generator.state for layer in layers_ for generator in getattr(layer, "_seed_generators", [])]

    def save_own_variables(self, store):
        super().save_own_variables(store)
        for index, state in enumerate(self.seed_states()):
            store[f"{self.SEED_KEY}{index}"] = state
        if self.rejection is not None:
            for key, value in self.rejection.to_store().items():
                store[key] = value

    def load_own_variables(self, store):
        extra = (self.SEED_KEY, REJECTION_PREFIX)
        own = {key: store[key] for key in store.keys() if not key.startswith(extra)}
        super().load_own_variables(own)
        for index, state in enumerate(self.seed_states()):
            key = f"{self.SEED_KEY}{index}"
            if key in store.keys():  # files written before the states were saved lack them
                state.assign(store[key])
        self.rejection = RejectionSampler.from_store(store)

    def calibrate_rejection(self, real_images, keep=0.8, seed=0, strata=20):
        """Turn on discriminator rejection sampling (`zoo.rejection`): fit a real-or-generated
        score on D's last hidden features with `real_images` (training images in [0, 1], at
        least 1,000) and let `generate` keep, within each of `strata` clusters of those
        features, the share `keep` of its draws that score highest.
        Unconditional image models only. `model.rejection = None` turns it off again; `fit`
        does too, since training changes what the score was fit to."""
        self.rejection = calibrate(self, check_images(real_images, "real_images"), keep, seed, strata)
        return self.rejection

    def rejection_features(self):
        """A Keras model to the hidden features that D's final Dense(1) scores, for rejection
        sampling: from images (in D's range [-1, 1]) alone, or from [images, latent] where D
        scores image-latent pairs (BiGAN); None where D has no such single score. A minibatch-stddev
        channel right before the Dense(1) (`gan-mnist`) is left out: it is one number for the whole
        batch, so the features before it describe each image alone."""
        discriminator = self.discriminator
        last = discriminator.layers[-1]
        if len(discriminator.outputs) != 1 or not (isinstance(last, keras.layers.Dense) and last.units == 1):
            return None
        before = discriminator.layers[-2]
        if isinstance(before, MinibatchStddev) and before.output is last.input:
            return keras.Model(discriminator.inputs, before.input)
        return keras.Model(discriminator.inputs, last.input)

    @property
    def temperature(self):
        """Spread of the latents `generate` draws: N(0, temperature^2) (uniform priors: on
        [-temperature, temperature]), 1 being the prior G was
        trained on. Above 1 trades precision for recall (the opposite of BigGAN's truncation).
        Pretrained models set the value `scripts/select_temperature.py` picked for them."""
        return self._temperature

    @temperature.setter
    def temperature(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 < value < float("inf"):
            raise ValueError(f"temperature must be a positive number (1 samples the prior itself), got {value!r}")
        self._temperature = float(value)

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """`g_optimizer` / `d_optimizer` default to Adam(2e-4, beta_1=0.5).

        The first `frozen_discriminator_layers` weighted layers of D are frozen
        here (for fine-tuning), before the optimizers collect their variables.
        """
        freeze_layers(self.discriminator, self.frozen_discriminator_layers)
        kwargs.setdefault("optimizer", None)
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or default_optimizer()
        self.d_optimizer = d_optimizer or default_optimizer()
        self._compile_kwargs = {
            k: kwargs[k] for k in ("steps_per_execution", "jit_compile") if k in kwargs
        }
        # Create the optimizer slots now, not lazily inside the first traced step:
        # under tf.distribute, variables must not be created in a replica context.
        self.g_optimizer.build(self.generator_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def get_compile_config(self):
        if not self.compiled:  # an uncompiled model saves as Keras' own do: without a compile config
            return None
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
        if self.prior == "uniform":
            return self.random_uniform((batch_size, self.latent_dim), -1.0, 1.0)
        return self.random_normal((batch_size, self.latent_dim))

    def sample_mixing_weights(self, batch_size, sample_rank):
        """The gradient penalty's weights between real and fake: one uniform [0, 1] per sample."""
        return self.random_uniform((batch_size,) + (1,) * sample_rank, 0.0, 1.0)

    def _replica_seed(self):
        """Under a multi-replica strategy, a seed with the replica id folded in (every replica
        must draw different numbers); None otherwise."""
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return None
        seed = self.seed_generator.next()
        offset = tf.cast(context.replica_id_in_sync_group, seed.dtype) * 7919
        return seed + tf.stack([offset, tf.zeros_like(offset)])

    def random_normal(self, shape):
        seed = self._replica_seed()
        if seed is not None:
            return tf.random.stateless_normal(shape, seed)
        return keras.random.normal(shape, seed=self.seed_generator)

    def random_uniform(self, shape, low, high):
        seed = self._replica_seed()
        if seed is not None:
            return tf.random.stateless_uniform(shape, seed, low, high)
        return keras.random.uniform(shape, low, high, seed=self.seed_generator)

    # ----------------------------------------------------------- losses
    def discriminator_loss(self, real_logits, fake_logits):
        """D's loss on its raw outputs (logits, scores or critic values, by `loss`)."""
        real_target = 1.0 - self.label_smoothing
        real_logits, fake_logits = ops.cast(real_logits, "float32"), ops.cast(fake_logits, "float32")
        if self.loss_name == "least_squares":  # LSGAN: real -> 1, fake -> 0
            return 0.5 * (ops.mean(ops.square(real_logits - real_target)) + ops.mean(ops.square(fake_logits)))
        if self.loss_name == "hinge":
            return ops.mean(ops.relu(real_target - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))
        if self.loss_name == "wasserstein":  # the critic's estimate of -W(real, fake)
            return ops.mean(fake_logits) - ops.mean(real_logits)
        # Binary cross-entropy on logits: BCE(t, l) = softplus(l) - t * l.
        real = ops.mean(ops.softplus(real_logits) - real_target * real_logits)
        fake = ops.mean(ops.softplus(fake_logits))
        return real + fake

    def generator_loss(self, fake_logits):
        fake_logits = ops.cast(fake_logits, "float32")
        if self.loss_name == "minimax":
            return -ops.mean(ops.softplus(fake_logits))  # minimise log(1 - D(G(z)))
        if self.loss_name == "least_squares":
            return 0.5 * ops.mean(ops.square(fake_logits - 1.0))
        if self.loss_name in ("hinge", "wasserstein"):
            return -ops.mean(fake_logits)
        return ops.mean(ops.softplus(-fake_logits))  # maximise log D(G(z))

    def gradient_penalty_loss(self, real, fake, labels):
        """WGAN-GP: (|grad D(x_hat)| - 1)^2 at x_hat between real and fake, one mixing weight per sample."""
        sample_axes = tuple(range(1, len(real.shape)))  # (1, 2, 3) for images
        alpha = self.sample_mixing_weights(ops.shape(real)[0], len(sample_axes))
        mixed = alpha * real + (1.0 - alpha) * ops.cast(fake, real.dtype)  # G may compute in bfloat16
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            logits = self.discriminator(self.discriminator_inputs(mixed, labels), training=True)
        gradients = ops.cast(tape.gradient(logits, mixed), "float32")
        norms = ops.sqrt(ops.sum(ops.square(gradients), axis=sample_axes) + 1e-12)  # eps: no NaN at 0
        return ops.mean(ops.square(norms - 1.0))

    def real_logits_and_r1_loss(self, inputs):
        """D's logits on real inputs (D's input list) and the R1 term of D's loss:
        (r1_penalty / 2) x `logits_and_r1`'s penalty, 0 when the penalty is off or lazy
        (`lazy_r1_gradients` adds it then)."""
        if not self.r1_penalty or self.lazy_r1:
            return self.discriminator(inputs, training=True), 0.0
        logits, penalty = logits_and_r1(self.discriminator, inputs)
        return logits, 0.5 * self.r1_penalty * penalty

    @property
    def lazy_r1(self):
        """Whether R1 is on and lazy (`r1_every` > 1): added by `lazy_r1_gradients`, not to D's loss."""
        return bool(self.r1_penalty) and self.r1_every > 1

    def lazy_r1_gradients(self, inputs, variables):
        """With `r1_every` N > 1, the lazy R1 of StyleGAN2 (Karras et al., 2020): on every N-th D
        update the gradient of N x the R1 term, zeros on the others. This keeps the penalty's
        average weight and saves most of its cost, the double backpropagation through D. The
        gradients are computed inside the branch, not through it: XLA cannot differentiate
        `tf.cond` around D's minibatch-stddev feature."""
        def penalty_gradients():
            with tf.GradientTape() as tape:
                _, penalty = logits_and_r1(self.discriminator, inputs)
                loss = 0.5 * self.r1_penalty * self.r1_every * penalty / replicas_in_sync()
            gradients = tape.gradient(loss, variables)
            return [ops.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(gradients, variables)]

        due = ops.equal(self.d_optimizer.iterations % self.r1_every, 0)
        return tf.cond(due, penalty_gradients, lambda: [ops.zeros_like(v) for v in variables])

    # ---------------------------------------------------------- training
    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, with the data checked first, so that bad data fails with a
        ValueError saying what is wrong rather than a TensorFlow error from inside a step.

        x: a `tf.data.Dataset` of image or (images, labels) batches (`zoo.data.load` makes
        one), or images as a float array (N, 28, 28[, 1]) scaled to [-1, 1], with their
        labels as `y` (or `x=(images, labels)`); conditional models need the labels.
        Generators, `keras.utils.PyDataset`s and distributed datasets are passed on unchecked.
        Arrays are batched by `zoo.data.arrays_dataset` (tf.data's autotuner off), except with
        `validation_split`, `sample_weight`, `class_weight` or positional arguments after `y`,
        which Keras's own pipeline handles.
        """
        if isinstance(x, tf.data.Dataset):
            self._check_dataset(x)
        elif not (isinstance(x, keras.utils.PyDataset) or hasattr(x, "__next__") or hasattr(x, "element_spec")):
            x, y = self._check_arrays(x, y)
            given = [kwargs.get(key) for key in ARRAY_ONLY_FIT_ARGUMENTS]  # sample_weight may be an array
            if not args and all(value is None or (np.isscalar(value) and value == 0) for value in given):
                from zoo.data import arrays_dataset  # zoo.data imports this module

                # our own pipeline: Keras's for arrays leaves tf.data's autotuner on (README "Speed")
                batch_size = kwargs.pop("batch_size", None) or 32
                x, y = arrays_dataset(x, y, batch_size, shuffle=bool(kwargs.pop("shuffle", True))), None
        if self.rejection is not None:
            warnings.warn(
                f"{self.name}: training turns rejection sampling off (its score was fit to the networks "
                "before training); call calibrate_rejection again afterwards", stacklevel=2
            )
            self.rejection = None
        return super().fit(x, y, *args, **kwargs)

    def _check_arrays(self, x, y):
        """(images, labels) of array input to `fit`, validated, or raise ValueError / TypeError."""
        if x is None or isinstance(x, (str, bytes, os.PathLike)):
            hint = f"; load a data set with zoo.data.load({str(x)!r})" if x is not None else ""
            raise TypeError(f"fit takes an image array or a tf.data.Dataset, got {type(x).__name__} {x!r:.80}{hint}")
        images, labels = x, y
        # A tuple, or a list of an image array (and a label array), is (images, labels) as in a
        # dataset's batches; any other list is the images themselves, as nested lists.
        pair = isinstance(x, (tuple, list)) and len(x) in (1, 2)
        if pair and isinstance(x, list):
            pair = (tf.is_tensor(x[0]) or isinstance(x[0], np.ndarray)) and len(x[0].shape) >= 3
        if pair:
            if y is not None:
                raise ValueError("fit got labels twice: both in x=(images, labels) and as y")
            images, labels = x[0], (x[1] if len(x) == 2 else None)
        images = check_training_images(images)
        if labels is not None:
            labels = check_labels(labels)
            if len(labels) != len(images):
                raise ValueError(f"got {len(images)} images but {len(labels)} labels")
        elif self.conditional:
            raise ValueError(f"{self.name} is conditional: fit it on images and their labels, e.g. fit(images, labels)")
        return images, labels

    def _check_dataset(self, dataset):
        """Check a dataset's element spec (shapes and dtypes) without reading it."""
        images, labels, _ = keras.utils.unpack_x_y_sample_weight(dataset.element_spec)
        if isinstance(images, (tuple, list)):
            images, labels = images[0], (images[1] if len(images) > 1 else labels)
        if not isinstance(images, tf.TensorSpec):
            raise TypeError(f"{self.name} trains on datasets of image tensors, got elements {dataset.element_spec}")
        shape, dtype = images.shape, images.dtype
        if not (dtype.is_floating or dtype.is_integer) or not (
            shape[1:].is_compatible_with(IMAGE_SHAPE) or shape[1:].is_compatible_with(IMAGE_SHAPE[:2])
        ):
            raise ValueError(
                f"{self.name} trains on batches of float images (B, 28, 28, 1) scaled to [-1, 1] "
                f"(see zoo.data.load); the dataset yields {dtype.name} {shape}"
            )
        if labels is None and self.conditional:
            raise ValueError(
                f"{self.name} is conditional: fit it on (images, labels) batches, "
                "e.g. zoo.data.load('mnist', labels=True)"
            )
        if labels is not None and not (
            isinstance(labels, tf.TensorSpec) and (labels.dtype.is_integer or labels.dtype.is_floating)
        ):
            raise ValueError(f"labels must be integer class ids 0-{NUM_CLASSES - 1}, the dataset yields {labels}")
        if int(dataset.cardinality()) == 0:
            raise ValueError("the dataset is empty (no batches: fewer elements than batch_size with drop_remainder?)")

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a strategy Keras reduces one batch across replicas to build unbuilt
        # parts; that reduce fails under MultiWorkerMirroredStrategy (PerReplica to
        # Tensor). A GAN's networks and optimizers are built before fit: skip it.
        if self._distribute_strategy is not None and all(layer.built for layer in self._flatten_layers()):
            with self.distribute_strategy.scope():
                return self._symbolic_build(data_batch=None)
        return super()._maybe_symbolic_build(iterator, data_batch)

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
        for _ in range(self.critic_steps):
            d_loss = self.discriminator_step(real, labels)
        g_loss = self.generator_step(real, labels)
        if self.generator_average is not None:
            self.update_generator_average()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        logs = {m.name: m.result() for m in self.metrics}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker logs with a mean over axis 0, which a scalar lacks.
            logs = {name: ops.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    # Each step returns its loss as the mean over this replica's batch; the gradient is
    # taken of that loss divided by the number of replicas, because the optimizer sums
    # gradients over replicas: the update is then the one of the mean over the global batch.

    def discriminator_step(self, real, labels):
        """One update of D's weights only, on a real batch against a generated one."""
        latent = self.sample_latent(ops.shape(real)[0])
        fake = self.generator(self.generator_inputs(latent, labels), training=True)
        real_inputs = self.discriminator_inputs(real, labels)
        with tf.GradientTape() as tape:
            real_logits, r1_loss = self.real_logits_and_r1_loss(real_inputs)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=True)
            d_loss = self.discriminator_loss(real_logits, fake_logits) + r1_loss
            if self.gradient_penalty:
                d_loss += self.gradient_penalty * self.gradient_penalty_loss(real, fake, labels)
        return self.apply_discriminator_update(tape, d_loss, real_inputs)

    def generator_step(self, real, labels):
        """One update of G's weights only; gradients flow through D in inference mode,
        so D's batch-norm statistics and dropout stay out of it."""
        latent = self.sample_latent(ops.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_inputs(latent, labels), training=True)
            fake_logits = self.discriminator(self.discriminator_inputs(fake, labels), training=False)
            g_loss = self.generator_loss(fake_logits)
        return self._apply(self.g_optimizer, tape, g_loss, self.generator_variables)

    def apply_discriminator_update(self, tape, d_loss, real_inputs):
        """D's update by the gradient of `d_loss` (recorded on `tape`), plus the lazy R1 term's
        on the updates it is due (`real_inputs`: D's inputs at the real images); returns d_loss."""
        variables = self.discriminator.trainable_variables
        lazy = self.lazy_r1_gradients(real_inputs, variables) if self.lazy_r1 else None
        return self._apply(self.d_optimizer, tape, d_loss, variables, lazy)

    @staticmethod
    def _apply(optimizer, tape, loss, variables, extra_gradients=None):
        """One update of `variables` by the gradient of `loss` (plus `extra_gradients`, already
        divided by the replicas); returns the loss."""
        replicas = replicas_in_sync()
        with tape:
            scaled = loss / replicas if replicas > 1 else loss
        gradients = tape.gradient(scaled, variables)
        if extra_gradients is not None:
            # dense sums: an embedding's gradient comes as IndexedSlices, which do not add
            gradients = [tf.convert_to_tensor(g) + extra for g, extra in zip(gradients, extra_gradients)]
        optimizer.apply_gradients(zip(gradients, variables))
        return loss

    # -------------------------------------------------------- generation
    def generate(self, n=None, *, seed=None, latent=None, batch_size=1000):
        """Generate images as float32 (N, 28, 28, 1) in [0, 1].

        `n` is a count for unconditional models and a sequence of digit
        labels for conditional ones. `seed` makes the output reproducible
        across calls and processes; `latent` gives explicit latent vectors.
        A model with rejection sampling calibrated (`calibrate_rejection`)
        draws until it has `n` kept images; explicit latents are used as given.
        """
        labels = None
        if self.conditional:
            if n is None or isinstance(n, (int, float, np.number, np.bool_)):
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
            latent = _as_array(latent, "latent")
            if latent.dtype.kind not in "biuf":
                raise ValueError(f"latent must be a numeric array, got dtype {latent.dtype}")
            if latent.ndim != 2 or latent.shape[1] != self.latent_dim or len(latent) == 0:
                raise ValueError(
                    f"latent must have shape (N, {self.latent_dim}), N > 0, for {self.name}, got {latent.shape}"
                )
            with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, refused below
                latent = latent.astype("float32")
            if not np.isfinite(latent).all():
                raise ValueError("latent contains NaN or infinite values (or values beyond float32)")
            if n is not None and count != len(latent):
                raise ValueError(f"got {count} {'labels' if self.conditional else 'images'} but {len(latent)} latent vectors")
            count = len(latent)
        batch_size = check_positive_int("batch_size", batch_size)
        sample_bytes = 4 * int(np.prod(self.sample_shape))  # float32
        limit = max_images() * IMAGE_BYTES // sample_bytes
        if count > limit:
            chunks = "labels[i : i + 10_000]" if self.conditional else "10_000"
            raise ValueError(
                f"{count} samples would take {count * sample_bytes / 2**30:,.0f} GiB, more than "
                f"this machine's memory holds ({limit:,}); generate them in chunks, e.g. generate({chunks}, seed=i) in a loop"
            )
        try:
            rng = np.random.default_rng(seed)
        except (TypeError, ValueError):
            raise ValueError(f"seed must be None or a non-negative int, got {seed!r}") from None
        out = np.empty((count,) + tuple(self.sample_shape), dtype="float32")
        kept = AcceptedStream(self, rng, batch_size) if self.rejection is not None and latent is None else None
        for start in range(0, count, batch_size):
            stop = min(start + batch_size, count)
            if kept is not None:
                out[start:stop] = kept.take(stop - start)
                continue
            z = latent[start:stop] if latent is not None else self._draw_latent(rng, stop - start)
            y = labels[start:stop] if labels is not None else None
            out[start:stop] = self._sample(z, y)
        return out

    def _draw_latent(self, rng, count):
        """Latent vectors to sample from: the prior, its spread scaled by `temperature`."""
        if self.prior == "uniform":
            return rng.uniform(-1.0, 1.0, (count, self.latent_dim)).astype("float32") * np.float32(self.temperature)
        return rng.standard_normal((count, self.latent_dim), dtype="float32") * np.float32(self.temperature)

    def _sample(self, latent, labels):
        if self._sample_fn is None:
            @tf.function(reduce_retracing=True)
            def sample(z, y):
                return self.postprocess(self.sampling_generator(self.generator_inputs(z, y), training=False))

            self._sample_fn = sample
        y = tf.constant(labels) if labels is not None else None
        return self._sample_fn(tf.constant(latent), y).numpy()

    def postprocess(self, outputs):
        """G's tanh output in [-1, 1] as images in [0, 1]."""
        return tf.clip_by_value((tf.cast(outputs, "float32") + 1.0) * 0.5, 0.0, 1.0)

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
