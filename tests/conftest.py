import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib.util  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import zoo  # noqa: E402

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


def load_script(name):
    """scripts/NAME.py as a module (the scripts are not part of the package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
