"""Data sets as batched, shuffled `tf.data` pipelines scaled to the models' range [-1, 1].

`load("mnist")` and `load("fashion_mnist")` read `<KERAS_HOME>/datasets/<name>.npz`
when it is there (an offline machine puts the file there) and otherwise go
through `keras.datasets`, which downloads. A user's own images come as a
numpy array or an `.npz` file of 28x28 grayscale images, with optional labels.
"""

import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from zoo._base import check_images, check_labels, check_positive_int

BUILTIN = ("mnist", "fashion_mnist")
SPLITS = ("train", "test")


def keras_cache_dir():
    """`$KERAS_HOME/datasets`, or `~/.keras/datasets` as `keras.datasets` uses."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def load_arrays(source, split="train"):
    """(images uint8 or float (N, 28, 28), labels or None) of a named set or an .npz file."""
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split={split!r} is not valid; choose one of {list(SPLITS)}")
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"data source must be a name or a path, got {type(source).__name__}")
    source = os.fspath(source)
    if source in BUILTIN:
        cached = keras_cache_dir() / f"{source}.npz"
        if cached.is_file():
            return _read_npz(cached, split)
        import keras

        try:
            train, test = getattr(keras.datasets, source).load_data()
        except Exception as error:  # offline: keras raises a bare Exception on a failed download
            raise FileNotFoundError(
                f"could not load {source!r}: no {cached} and the download failed ({error}). "
                f"Put {source}.npz (keras.datasets layout: x_train, y_train, x_test, y_test) at {cached}, "
                "or set KERAS_HOME to the folder above datasets/."
            ) from None
        return train if split == "train" else test
    path = Path(source)
    if path.suffix != ".npz":
        raise ValueError(f"unknown data set {source!r}; use one of {list(BUILTIN)}, an .npz file or an array")
    if not path.is_file():
        raise FileNotFoundError(f"data file {str(path)!r} does not exist")
    return _read_npz(path, split)


def _read_npz(path, split):
    # A damaged or foreign file fails in numpy or zipfile in many ways; report them all as one.
    unreadable = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)
    try:
        arrays = np.load(path)  # allow_pickle=False: no code runs from the file
    except unreadable as error:
        raise ValueError(f"{path} is not a readable .npz file: {error}") from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array (.npy format); save images with np.savez(path, x=images, y=labels)")
    with arrays:
        keys = sorted(arrays)
        for images_key, labels_key in ((f"x_{split}", f"y_{split}"), ("x", "y"), ("images", "labels")):
            if images_key in arrays:
                try:
                    return arrays[images_key], (arrays[labels_key] if labels_key in arrays else None)
                except unreadable as error:
                    raise ValueError(f"cannot read {images_key!r} / {labels_key!r} in {path}: {error}") from None
    raise ValueError(
        f"{path} holds {keys}; expected images under 'x_{split}', 'x' or 'images' "
        f"(labels, optional, under 'y_{split}', 'y' or 'labels')"
    )


def load(source, split="train", labels=True, batch_size=128, shuffle=True, seed=None, limit=None):
    """A `tf.data.Dataset` of image batches (B, 28, 28, 1) in [-1, 1], or of (images, labels).

    source: "mnist", "fashion_mnist", a path to an .npz file, or an array of
        images (N, 28, 28[, 1]), uint8 0-255 or float 0-1.
    labels: True to include the data set's labels when it has them (required by
        conditional models, ignored by the others), False to drop them, or an
        array of labels for an image array.
    limit: keep only the first `limit` images (quick experiments, tests).
    The last incomplete batch is dropped, so every batch has the same shape.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if limit is not None:
        limit = check_positive_int("limit", limit)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
    if seed is not None and (isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"seed must be None or an int, got {seed!r}")
    if isinstance(source, (str, os.PathLike)):
        if labels is not True and labels is not False and labels is not None:
            raise ValueError("labels must be True or False for a named data set or file")
        images, found = load_arrays(source, split)
        label_array = found if labels is True else None
    else:
        images = source
        if labels is True or labels is False or labels is None:
            label_array = None
        else:
            label_array = labels
    if isinstance(images, np.ndarray) and images.ndim:
        images = images[:limit]  # before the copy that _as_uint8 may make
    images = _as_uint8(images)[:limit]
    if label_array is not None:
        label_array = check_labels(label_array)[:limit]
        if len(label_array) != len(images):
            raise ValueError(f"got {len(images)} images but {len(label_array)} labels")
    if len(images) < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than the {len(images)} images")

    elements = images if label_array is None else (images, label_array)
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(_scale, num_parallel_calls=tf.data.AUTOTUNE)
    return without_autotuner(dataset.prefetch(tf.data.AUTOTUNE))


def arrays_dataset(images, labels=None, batch_size=32, shuffle=True):
    """Batches of checked training arrays (images in [-1, 1], and labels) as `fit` makes them from
    arrays (a fresh order each epoch when `shuffle`, the last batch possibly short), but with the
    autotuner off: Keras's own pipeline for arrays leaves it on."""
    batch_size = check_positive_int("batch_size", batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(images if labels is None else (images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), reshuffle_each_iteration=True)
    return without_autotuner(dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE))


def without_autotuner(dataset):
    """`dataset` with tf.data's autotuner off (AUTOTUNE then means TensorFlow's fixed defaults). The
    autotuner runs a thread per iterator, and deleting the iterator waits for that thread's next
    wake-up, which can be tens of seconds away: `fit` makes an iterator per epoch, so each epoch
    boundary stalled (TensorFlow 2.21; `scripts/bench_epochs.py` measures it, README "Speed")."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def _as_uint8(images):
    """Validated images as uint8 (N, 28, 28, 1); kept small in memory, scaled per batch."""
    if isinstance(images, np.ndarray) and images.dtype == np.uint8:
        array = images if images.ndim == 4 else images[..., None]
        check_images(array[:1])  # shape check without copying the whole set
        return array
    return np.round(check_images(images) * 255.0).astype(np.uint8)


def _scale(images, labels=None):
    images = tf.cast(images, tf.float32) / 127.5 - 1.0
    return images if labels is None else (images, labels)
