"""The MNIST (and Fashion-MNIST) evaluator: a small CNN classifier of our own.

Inception-based FID needs weights we cannot download and does not suit 28x28
digits; like TF-GAN's `mnist_frechet_distance`, we score samples in the
feature space of a classifier trained on the data set itself. Its weights
(`weights/evaluator-<data>.weights.h5`) and the mean and covariance of its
feature layer over the test set (`weights/evaluator-<data>.npz`) ship with
the package, checked against the sha256 in `weights/evaluator-<data>.json`.
"""

import collections
import functools
import json

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from zoo._base import IMAGE_SHAPE, NUM_CLASSES, check_images
from zoo._registry import metadata_path, verified_file

FEATURES = "features"

EvaluatorOutputs = collections.namedtuple("EvaluatorOutputs", ["features", "manifold", "probabilities"])
EvaluatorOutputs.__doc__ = """features: the 128-d layer for FCD; manifold: the 3136-d convolutional
features for precision/recall (in the 128-d space uniform noise lands inside the
k-NN balls of ambiguous real digits; here it does not); probabilities: (N, 10)."""


def build_classifier():
    """Conv(32) - pool - Conv(64) - pool - Dense(128) features - softmax(10); input in [0, 1]."""
    images = keras.Input(IMAGE_SHAPE, name="images")
    x = images
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(128, activation="relu", name=FEATURES)(x)
    x = layers.Dropout(0.5)(features)
    probabilities = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(images, probabilities, name="evaluator")


class Evaluator:
    """Class probabilities and features of images, and the test-set feature statistics."""

    def __init__(self, classifier, mean, covariance, dataset="mnist"):
        self.classifier = classifier
        self.dataset = dataset
        self.mean = mean
        self.covariance = covariance
        flatten = next(layer for layer in classifier.layers if isinstance(layer, layers.Flatten))
        features = classifier.get_layer(FEATURES).output
        outputs = keras.Model(classifier.input, [features, flatten.output, classifier.output])
        self._predict = tf.function(lambda x: outputs(x, training=False))

    def __call__(self, images, batch_size=1000):
        """`EvaluatorOutputs` of images (N, 28, 28[, 1]) in [0, 1]."""
        images = check_images(images)
        batches = [self._predict(tf.constant(images[i : i + batch_size])) for i in range(0, len(images), batch_size)]
        features, manifold, probabilities = (np.concatenate([b[i].numpy() for b in batches]) for i in range(3))
        return EvaluatorOutputs(features.astype("float64"), manifold, probabilities.astype("float64"))


@functools.lru_cache(maxsize=None)
def load_evaluator(dataset="mnist"):
    """The shipped evaluator of `dataset` ("mnist" or "fashion_mnist"), verified by sha256."""
    name = f"evaluator-{dataset}"
    path = metadata_path(name)
    if path is None:
        raise ValueError(f"no evaluator for {dataset!r}; train one with `python scripts/train_evaluator.py --data {dataset}`")
    meta = json.loads(path.read_text())
    weights = verified_file(path.parent / meta["file"], meta["sha256"], path.name)
    stats_path = verified_file(path.parent / meta["stats_file"], meta["stats_sha256"], path.name)
    classifier = build_classifier()
    classifier.load_weights(weights)
    with np.load(stats_path) as stats:
        return Evaluator(classifier, stats["mean"], stats["covariance"], dataset)
