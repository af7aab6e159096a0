"""Run by tests/test_training.py in a fresh process (logical devices must be set before TensorFlow starts).

Prints the size (L2 norm over the trained weights) of the difference between one
MirroredStrategy step on 2 logical CPUs and one single-device step on the same
global batch, per model name given.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from zoo._registry import get_entry  # noqa: E402


def deterministic_latent(model):
    """Noise that depends only on a sample's position in the global batch, so both runs draw the same."""

    def sample_latent(batch_size):
        context = tf.distribute.get_replica_context()
        offset = context.replica_id_in_sync_group * batch_size
        rows = tf.cast(tf.range(batch_size) + offset, "float32")[:, None]
        return tf.sin(rows * tf.range(1.0, model.latent_dim + 1.0)[None, :])

    def sample_mixing_weights(batch_size, sample_rank):  # the gradient penalty's, likewise
        context = tf.distribute.get_replica_context()
        rows = tf.cast(tf.range(batch_size) + context.replica_id_in_sync_group * batch_size, "float32")
        return tf.reshape(0.5 + 0.5 * tf.sin(rows), (batch_size,) + (1,) * sample_rank)

    model.sample_latent = sample_latent
    model.sample_mixing_weights = sample_mixing_weights
    return model


def build(name):
    # Dropout masks are random per replica; switch dropout off to compare the arithmetic.
    model = get_entry(name).build(seed=0)
    return get_entry(name).build(seed=0, dropout=0.0) if "dropout" in model.get_config() else model


def one_step(name, strategy, weights, batch):
    with strategy.scope():
        model = deterministic_latent(build(name))
        model.set_weights(weights)
        # Plain SGD: Adam would hide a wrongly scaled gradient (its update ignores the scale).
        model.compile(g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1))
    dataset = tf.data.Dataset.from_tensors(batch)
    history = model.fit(dataset, epochs=1, verbose=0).history
    return trained_weights(model), {k: v[0] for k, v in history.items()}


def trained_weights(model):
    """The weights the optimizers update (batch-norm statistics and G's average would dilute the norm)."""
    return [variable.numpy() for variable in model.trainable_weights]


def norm(weights, others):
    return float(np.sqrt(sum(np.sum(np.square(a - b)) for a, b in zip(weights, others))))


def main(names):
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    batch = (rng.uniform(-1, 1, (16, 28, 28, 1)).astype("float32"), (np.arange(16) % 10).astype("int32"))
    result = {}
    for name in names:
        # A step is not continuous in its inputs (a LeakyReLU unit at its kink switches slope), so
        # for an unlucky initialisation a 1e-6 change in the images alone changes the update by 0.2%
        # (wgan-gp-mnist): a fixed initialisation keeps the test deterministic.
        keras.utils.set_random_seed(0)
        model = build(name)
        initial = model.get_weights()
        single, single_losses = one_step(name, tf.distribute.get_strategy(), initial, batch)
        distributed, distributed_losses = one_step(name, mirrored, initial, batch)
        result[name] = {
            "weight_difference": norm(single, distributed),
            "weight_change": norm(single, trained_weights(model)),
            "single_losses": single_losses,
            "mirrored_losses": distributed_losses,
            "replicas": mirrored.num_replicas_in_sync,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
