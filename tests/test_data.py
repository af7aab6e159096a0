import numpy as np
import pytest

import zoo
from zoo import data


def test_mnist_batches_are_scaled_and_labelled():
    dataset = zoo.data.load("mnist", batch_size=32, limit=320, seed=0)
    images, labels = next(iter(dataset))
    assert images.shape == (32, 28, 28, 1) and images.dtype == "float32"
    assert float(images.numpy().min()) == -1.0 and float(images.numpy().max()) == 1.0
    assert labels.shape == (32,) and 0 <= labels.numpy().min() and labels.numpy().max() <= 9
    assert len(list(dataset)) == 10


def test_autotuner_is_off_and_the_data_order_is_unchanged():
    """Without the autotuner (whose thread stalled each epoch boundary), the epochs' batches are those
    the pipeline gave with it: the shipped recipes see the same data in the same order."""
    import tensorflow as tf

    dataset = zoo.data.load("mnist", batch_size=32, limit=320, seed=3)
    assert dataset.options().autotune.enabled is False
    options = tf.data.Options()
    options.autotune.enabled = True
    # a pipeline of its own: the two share no shuffle state
    tuned = zoo.data.load("mnist", batch_size=32, limit=320, seed=3).with_options(options)
    assert tuned.options().autotune.enabled is True

    def epochs(ds):
        return [np.concatenate([labels.numpy() for _, labels in ds]) for _ in range(3)]

    ours, theirs = epochs(dataset), epochs(tuned)
    assert not np.array_equal(ours[0], ours[1])  # reshuffled each epoch
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_labels_can_be_dropped_and_splits_differ():
    train = next(iter(zoo.data.load("mnist", labels=False, shuffle=False, batch_size=8)))
    test = next(iter(zoo.data.load("mnist", split="test", labels=False, shuffle=False, batch_size=8)))
    assert train.shape == (8, 28, 28, 1)
    assert not np.array_equal(train.numpy(), test.numpy())


def test_fashion_mnist_loads():
    images, labels = zoo.data.load_arrays("fashion_mnist", "test")
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)


def test_arrays_and_npz(tiny_npz):
    rng = np.random.default_rng(0)
    floats = rng.random((20, 28, 28, 1)).astype("float32")
    batch = next(iter(zoo.data.load(floats, batch_size=20, shuffle=False, labels=False)))
    np.testing.assert_allclose(batch.numpy(), np.round(floats * 255) / 127.5 - 1, atol=1e-6)
    images, labels = next(iter(zoo.data.load(floats, labels=np.arange(20) % 10, batch_size=4)))
    assert labels.shape == (4,)
    images, labels = next(iter(zoo.data.load(tiny_npz, batch_size=8)))
    assert images.shape == (8, 28, 28, 1) and labels.shape == (8,)


@pytest.mark.parametrize(
    "source, kwargs, error, message",
    [
        ("imagenet", {}, ValueError, "unknown data set 'imagenet'"),
        ("mnist", {"split": "valid"}, ValueError, "split='valid'"),
        ("missing.npz", {}, FileNotFoundError, "does not exist"),
        ("two\nlines.npz", {}, FileNotFoundError, r"^data file 'two\\nlines.npz' does not exist$"),  # one line
        (np.zeros((10, 32, 32)), {}, ValueError, r"shape \(N, 28, 28\)"),
        (np.zeros((0, 28, 28)), {}, ValueError, "empty"),
        (np.full((10, 28, 28), 200.0), {}, ValueError, r"\[0, 1\]"),
        (np.full((10, 28, 28), np.nan), {}, ValueError, "NaN"),
        (np.zeros((10, 28, 28)), {"labels": [1] * 9, "batch_size": 2}, ValueError, "10 images but 9 labels"),
        (np.zeros((10, 28, 28)), {"labels": [11] * 10, "batch_size": 2}, ValueError, "label 11"),
        (np.zeros((10, 28, 28)), {"batch_size": 0}, ValueError, "batch_size"),
        (np.zeros((10, 28, 28)), {"batch_size": 64}, ValueError, "larger than"),
    ],
)
def test_bad_data_is_refused(source, kwargs, error, message):
    with pytest.raises(error, match=message):
        zoo.data.load(source, **kwargs)


def test_missing_data_says_where_to_put_it(tmp_path, monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(FileNotFoundError, match=f"Put mnist.npz .* at {tmp_path}/datasets/mnist.npz"):
        data.load("mnist")
