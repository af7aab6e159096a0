import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import collections  # noqa: E402
import importlib.util  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import zoo  # noqa: E402
from zoo import _registry  # noqa: E402

# Offline machines: stage the project's shared copies of the data sets in the Keras cache.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
for _name in zoo.data.BUILTIN:
    _target = zoo.data.keras_cache_dir() / f"{_name}.npz"
    if not _target.exists() and (SHARED_DATA / f"{_name}.npz").exists():
        _target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED_DATA / f"{_name}.npz", _target)

ALL_MODELS = zoo.list_models()
# Models of 28x28 images; the 2-D teaching model (gan-toy2d) has its own tests.
IMAGE_MODELS = [name for name in ALL_MODELS if zoo._registry.get_entry(name).dataset in zoo.data.BUILTIN]


SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

# tests/test_properties.py counts the bad-input cases hypothesis tried, by test; the total is printed
# at the end of the run. Under pytest-xdist each worker hands its counts to the controller.
PROPERTY_CASES = collections.Counter()


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # an xdist worker
        session.config.workeroutput["property_cases"] = dict(PROPERTY_CASES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):  # the xdist controller, as each worker finishes
    PROPERTY_CASES.update(getattr(node, "workeroutput", {}).get("property_cases", {}))


def pytest_terminal_summary(terminalreporter):
    if PROPERTY_CASES:
        per_test = ", ".join(f"{name} {n}" for name, n in sorted(PROPERTY_CASES.items()))
        terminalreporter.write_line(f"hypothesis bad-input cases tried: {sum(PROPERTY_CASES.values())} ({per_test})")


@pytest.fixture(autouse=True)
def fixed_initialisation():
    """A model's `seed` seeds its noise, not its initial weights (Keras's global generator does):
    seed that per test, so that no test's outcome depends on a lucky draw or on the tests run before it."""
    keras.utils.set_random_seed(0)


def load_script(name):
    """scripts/NAME.py as a module (the scripts are not part of the package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_minibatch_stddev_model_trains_and_round_trips(model, tmp_path, images):
    """One epoch of `fit`, then save and load: the option survives, samples and D's outputs match."""
    model.compile()
    model.fit(images[:32], batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.get_config()["minibatch_stddev"] is True
    np.testing.assert_array_equal(loaded.generate(3, seed=1), model.generate(3, seed=1))
    images = keras.ops.convert_to_numpy(images[:16])
    np.testing.assert_allclose(loaded.discriminator(images), model.discriminator(images), atol=1e-6)


def copy_shipped_weights(tmp_path, name):
    """Copy `name`'s shipped weights and metadata into tmp_path; returns the weights file's path."""
    src = _registry.metadata_path(name).parent
    for suffix in (".json", ".weights.h5"):
        shutil.copy(src / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path / f"{name}.weights.h5"


def request_for(model, count=4):
    """A valid `generate` argument for any model: labels if conditional, else a count."""
    return [i % 10 for i in range(count)] if model.conditional else count


@pytest.fixture(scope="session")
def mnist_batch():
    """64 real MNIST images in [-1, 1] with their labels."""
    images, labels = zoo.data.load_arrays("mnist", "test")
    images = images[:64, :, :, None].astype("float32") / 127.5 - 1.0
    return images, labels[:64].astype("int32")


@pytest.fixture
def tiny_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "tiny.npz"
    np.savez(path, x=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), y=rng.integers(0, 10, 40))
    return path
