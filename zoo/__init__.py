"""ganzoo: a Keras 3 model zoo of GANs for MNIST-like images, with pretrained weights."""

import os
import warnings

# zoo.data.load already shuffles; Keras would warn about that on every fit.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed, but will be ignored", category=UserWarning)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the CLI

from zoo import data, metrics  # noqa: E402
from zoo._base import GAN  # noqa: E402
from zoo._registry import info, list_models, load, register_model  # noqa: E402

# Importing a family module registers its models.
from zoo import acgan, bigan, cgan, dcgan, gan, infogan, lsgan, toy2d, wgan  # noqa: E402,F401
from zoo.benchmark import benchmark  # noqa: E402
from zoo.latent import interpolate, save_walk  # noqa: E402

__all__ = [
    "GAN", "benchmark", "data", "info", "interpolate", "list_models", "load", "metrics", "register_model", "save_walk",
]
__version__ = "0.1.0"
