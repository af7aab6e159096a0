"""The model registry: names like `cgan-mnist` mapped to constructors and pretrained weights.

A family module registers its variants where it defines them:

    @register_model(recipe={"epochs": 30, "batch_size": 64})
    def gan_mnist(**overrides):
        return VanillaGAN(**{"latent_dim": 100, **overrides})

The function name becomes the registered name (`gan_mnist` -> `gan-mnist`).
Pretrained weights live in `weights/<name>.weights.h5` with their metadata
(sha256, parameter counts, recipe, metrics) in `weights/<name>.json`.
"""

import dataclasses
import difflib
import fnmatch
import hashlib
import json
import os
import sys
import sysconfig
from pathlib import Path

WEIGHTS_ENV = "ZOO_WEIGHTS_DIR"


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    name: str
    builder: object
    dataset: str
    description: str
    recipe: dict

    def build(self, **overrides):
        overrides.setdefault("name", self.name)
        return self.builder(**overrides)


_REGISTRY = {}


def register_model(fn=None, *, dataset="mnist", recipe=None):
    """Register a constructor under its function name with `_` turned into `-`."""

    def register(fn):
        name = fn.__name__.replace("_", "-")
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        description = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
        _REGISTRY[name] = ModelEntry(name, fn, dataset, description, dict(recipe or {}))
        return fn

    return register(fn) if fn is not None else register


def list_models(pattern=None):
    """Registered names, sorted; `pattern` filters with shell wildcards (`"*gan-mnist"`)."""
    names = sorted(_REGISTRY)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    return names


def get_entry(name):
    if not isinstance(name, str):
        raise ValueError(f"model name must be a string, got {type(name).__name__}")
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown model {name!r}{hint} (available: {', '.join(list_models())})")
    return _REGISTRY[name]


# ------------------------------------------------------------ pretrained
def weights_dirs():
    """Where pretrained weights are looked for, in order."""
    dirs = []
    if os.environ.get(WEIGHTS_ENV):
        dirs.append(Path(os.environ[WEIGHTS_ENV]))
    dirs.append(Path(__file__).resolve().parent.parent / "weights")  # source checkout / editable install
    for prefix in {sysconfig.get_path("data"), sys.prefix}:  # `pip install .` puts them under <prefix>/share
        dirs.append(Path(prefix) / "share" / "ganzoo" / "weights")
    return dirs


def metadata_path(name):
    for directory in weights_dirs():
        if (directory / f"{name}.json").is_file():
            return directory / f"{name}.json"
    return None


def info(name):
    """Metadata of a registered model: description, recipe and, if shipped, pretrained details."""
    entry = get_entry(name)
    meta = {"name": entry.name, "description": entry.description, "dataset": entry.dataset}
    path = metadata_path(name)
    if path is not None:
        meta.update(json.loads(path.read_text()))
    meta.setdefault("recipe", {}).update({k: v for k, v in entry.recipe.items() if k not in meta["recipe"]})
    meta["pretrained"] = path is not None
    return meta


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pretrained_weights(name):
    """Path of the verified weights file of `name`; raises if missing or altered."""
    path = metadata_path(name)
    if path is None:
        raise ValueError(
            f"no pretrained weights for {name!r} (looked in {', '.join(map(str, weights_dirs()))}); "
            f"use pretrained=False, or train them with `python scripts/train.py {name}`"
        )
    meta = json.loads(path.read_text())
    return verified_file(path.parent / meta["file"], meta["sha256"], path.name)


def verified_file(path, expected_sha256, listed_in):
    """`path` if its sha256 is the one recorded in metadata file `listed_in`, else ValueError."""
    if not path.is_file():
        raise ValueError(f"weights file {path} is missing; restore it with `git checkout -- weights/` or reinstall")
    actual = sha256(path)
    if actual != expected_sha256:
        raise ValueError(
            f"weights file {path} is corrupted: sha256 {actual[:12]}... does not match "
            f"{expected_sha256[:12]}... in {listed_in}; restore it with `git checkout -- weights/` or reinstall"
        )
    return path


def load_pretrained_weights(model, name, overrides=None):
    """Load the verified pretrained weights of `name` into `model`, built with `name`'s
    constructor and `overrides`."""
    path = pretrained_weights(name)
    try:
        model.load_weights(path)
    except ValueError as error:
        raise ValueError(
            f"pretrained weights of {name!r} do not fit this configuration {overrides or {}}: {str(error)[:300]}"
        ) from None


def load(name, pretrained=True, compile=True, **overrides):
    """Build a registered model, load its verified pretrained weights, compile it.

    `overrides` are constructor options (e.g. `loss="minimax"`); ones that
    change the architecture only make sense with `pretrained=False`.
    """
    entry = get_entry(name)
    model = entry.build(**overrides)
    if pretrained:
        load_pretrained_weights(model, name, overrides)
    if compile:
        model.compile(**recipe_optimizers(entry.recipe))
    return model


DEFAULT_LEARNING_RATE = 2e-4


def recipe_learning_rates(recipe):
    """G's and D's Adam learning rates in `recipe` (`g_lr`, `d_lr`; DEFAULT_LEARNING_RATE where unset)."""
    return recipe.get("g_lr", DEFAULT_LEARNING_RATE), recipe.get("d_lr", DEFAULT_LEARNING_RATE)


def recipe_optimizers(recipe):
    """The Adam optimizers a recipe trains with (learning rates `g_lr`, `d_lr`)."""
    import keras

    g_lr, d_lr = recipe_learning_rates(recipe)
    return {
        "g_optimizer": keras.optimizers.Adam(g_lr, beta_1=0.5),
        "d_optimizer": keras.optimizers.Adam(d_lr, beta_1=0.5),
    }
