"""Resumable training: `train(name, data, epochs, out_dir)` behind `zoo train` and scripts/train.py.

Every epoch the whole model (weights and optimizer state) is saved atomically
to `out_dir/checkpoint.keras`, then `out_dir/state.json` records the epoch,
loss history and wall time. Running `train` again on the same directory
continues from the last completed epoch. Each epoch also writes a sample grid
(`samples/epoch_NNN.png`, fixed latent vectors), and the loss curve
(`losses.png`) and progress animation (`progress.gif`) are redrawn.
"""

import json
import os
import time
from pathlib import Path

import keras
import numpy as np

from zoo import data as zoo_data
from zoo._registry import get_entry, recipe_optimizers
from zoo.plotting import save_gif, save_grid, save_loss_curve

CHECKPOINT = "checkpoint.keras"
STATE = "state.json"


def _atomic_write_text(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def sample_request(model, count=100):
    """What to pass to `generate` for a progress grid: ten of each digit, or a count."""
    return np.repeat(np.arange(10), count // 10).tolist() if model.conditional else count


class EpochArtifacts(keras.callbacks.Callback):
    """Checkpoint, sample grid, loss curve and GIF after every epoch."""

    def __init__(self, out_dir, state, sample_seed=1234):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.state = state
        self.sample_seed = sample_seed
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        done = epoch + 1
        samples_dir = self.out_dir / "samples"
        samples_dir.mkdir(exist_ok=True)
        images = self.model.generate(sample_request(self.model), seed=self.sample_seed)
        save_grid(images, samples_dir / f"epoch_{done:03d}.png", columns=10, title=f"{self.model.name} epoch {done}")

        # Model first, then the state that points at it: a crash in between leaves
        # the previous state, so at worst one epoch is trained again.
        tmp = self.out_dir / (CHECKPOINT + ".tmp.keras")
        self.model.save(tmp)
        os.replace(tmp, self.out_dir / CHECKPOINT)

        for key, value in logs.items():
            self.state["history"].setdefault(key, []).append(float(value))
        self.state["epochs_done"] = done
        self.state["train_seconds"] += time.time() - self._epoch_start
        _atomic_write_text(self.out_dir / STATE, json.dumps(self.state, indent=1))

        save_loss_curve(self.state["history"], self.out_dir / "losses.png")
        save_gif(sorted(samples_dir.glob("epoch_*.png")), self.out_dir / "progress.gif")


def load_state(out_dir):
    path = Path(out_dir) / STATE
    return json.loads(path.read_text()) if path.is_file() else None


def train(
    name,
    epochs=None,
    data=None,
    out_dir="runs",
    batch_size=None,
    seed=None,
    tensorboard=False,
    limit=None,
    verbose="auto",
):
    """Train registered model `name` with its recipe for `epochs` total epochs.

    Resumes from `out_dir` when it holds a checkpoint of an earlier run.
    Returns (model, state) where state has the loss history and wall time.
    """
    entry = get_entry(name)
    recipe = entry.recipe
    epochs = epochs or recipe.get("epochs", 10)
    batch_size = batch_size or recipe.get("batch_size", 64)
    data = data or entry.dataset
    if not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    state = load_state(out_dir)
    if state is not None and (out_dir / CHECKPOINT).is_file():
        if state["name"] != name:
            raise ValueError(f"{out_dir} holds a run of {state['name']!r}, not {name!r}; use another --out")
        model = keras.saving.load_model(out_dir / CHECKPOINT, safe_mode=True)
        print(f"resuming {name} from epoch {state['epochs_done']} in {out_dir}")
    else:
        if seed is not None:
            keras.utils.set_random_seed(seed)
        model = entry.build(seed=seed)
        model.compile(**recipe_optimizers(recipe))
        state = {
            "name": name,
            "data": str(data),
            "batch_size": batch_size,
            "seed": seed,
            "epochs_done": 0,
            "train_seconds": 0.0,
            "history": {},
            "keras_version": keras.__version__,
        }
    if state["epochs_done"] >= epochs:
        print(f"{name}: {state['epochs_done']} epochs already done in {out_dir}")
        return model, state

    dataset = zoo_data.load(data, labels=True, batch_size=batch_size, seed=seed, limit=limit)
    callbacks = [EpochArtifacts(out_dir, state)]
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(out_dir / "tensorboard")))
    model.fit(dataset, epochs=epochs, initial_epoch=state["epochs_done"], callbacks=callbacks, verbose=verbose)
    return model, state
