"""Resumable training: `train(name, data, epochs, out_dir)` behind `zoo train` and scripts/train.py.

Every epoch the whole model (weights and optimizer state) is saved atomically
to `out_dir/checkpoint.keras`, then `out_dir/state.json` records the epoch,
loss history and wall time. Running `train` again on the same directory
continues from the last completed epoch. Each epoch also writes a sample grid
(`samples/epoch_NNN.png`, fixed latent vectors), and the loss curve
(`losses.png`) and progress animation (`progress.gif`) are redrawn.

A loss that turns NaN or infinite stops training with `TrainingDiverged`;
the checkpoint of the last good epoch is left as it was. `strategy` trains
with `tf.distribute` ("mirrored": all local devices; "multiworker": the
machines listed in the `TF_CONFIG` environment variable).
"""

import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from zoo import data as zoo_data
from zoo._base import check_positive_int, dtype_policy
from zoo._registry import get_entry, load_pretrained_weights, recipe_learning_rates, recipe_optimizers
from zoo.plotting import save_gif, save_grid, save_loss_curve

CHECKPOINT = "checkpoint.keras"
STATE = "state.json"
# float16 is left out: it needs loss scaling, which these train steps do not do.
PRECISIONS = (None, "float32", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multiworker")


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is intact."""


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
        self.diverged = None  # (epoch, batch, loss name, value) of the first non-finite loss

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                self.diverged = (self.state["epochs_done"] + 1, batch + 1, key, float(value))
                self.model.stop_training = True
                return

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged:
            return  # keep the last good checkpoint
        logs = logs or {}
        done = epoch + 1
        samples_dir = self.out_dir / "samples"
        samples_dir.mkdir(exist_ok=True)
        picture, title = samples_dir / f"epoch_{done:03d}.png", f"{self.model.name} epoch {done}"
        if hasattr(self.model, "save_progress_figure"):  # models that draw their own progress (gan-toy2d)
            self.model.save_progress_figure(picture, seed=self.sample_seed, title=title)
        else:
            images = self.model.generate(sample_request(self.model), seed=self.sample_seed)
            save_grid(images, picture, columns=10, title=title)

        # Model first, then the state that points at it: a crash in between leaves the new
        # checkpoint with the previous state, and the resumed run trains that epoch once more.
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


class AfterEachCheckpoint(keras.callbacks.Callback):
    """Calls `action(model, state)` once each epoch's checkpoint and state are on disk (pass it to
    `train` after the checkpointing callback; a diverged epoch, which is not checkpointed, is skipped)."""

    def __init__(self, out_dir, action):
        super().__init__()
        self.out_dir, self.action = Path(out_dir), action

    def on_epoch_end(self, epoch, logs=None):
        state = load_state(self.out_dir)
        if state is not None and state["epochs_done"] == epoch + 1:
            self.action(self.model, state)


def decayed_fraction(epoch, decay_from, epochs):
    """The share of the base learning rates that 0-based `epoch` of `epochs` trains with when they fall
    linearly after epoch `decay_from`: 1 up to it, then (epochs - epoch) / (epochs - decay_from + 1),
    down to 1 / (epochs - decay_from + 1) in the last epoch."""
    if epoch < decay_from:
        return 1.0
    return max(epochs - epoch, 1) / (epochs - decay_from + 1)


class LinearDecay(keras.callbacks.Callback):
    """Sets G's and D's learning rates before each epoch: `base` = (g_lr, d_lr) times
    `decayed_fraction`. A function of the epoch alone, so a resumed run trains as an uninterrupted one."""

    def __init__(self, base, decay_from, epochs):
        super().__init__()
        self.base, self.decay_from, self.epochs = base, decay_from, epochs

    def on_epoch_begin(self, epoch, logs=None):
        fraction = decayed_fraction(epoch, self.decay_from, self.epochs)
        for optimizer, rate in zip((self.model.g_optimizer, self.model.d_optimizer), self.base):
            optimizer.learning_rate = rate * fraction


def make_strategy(name):
    """The `tf.distribute` strategy called `name` (see STRATEGIES)."""
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"strategy={name!r} is not valid; choose one of {list(STRATEGIES)}")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "strategy 'multiworker' needs the TF_CONFIG environment variable "
                "(cluster addresses and this worker's index; see the README)"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def worker_out_dir(strategy, out_dir):
    """`out_dir` for the chief; other workers of a multi-worker run keep their copies apart."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    task_id = getattr(resolver, "task_id", None) or 0
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    is_chief = task_type in (None, "chief") or (task_type == "worker" and task_id == 0 and "chief" not in cluster)
    return Path(out_dir) if is_chief else Path(out_dir) / f"{task_type}-{task_id}"


# Keras's fit (3.x, TensorFlow backend) makes two iterators of the data set per epoch, and each
# new iterator of a reshuffling data set draws the next order (tests/test_training.py checks it).
ITERATORS_PER_EPOCH = 2


def skip_data_orders(dataset, epochs_done):
    """Draw the data orders of the epochs already done, so that a resumed run sees the
    data in the same order as an uninterrupted one."""
    for _ in range(ITERATORS_PER_EPOCH * epochs_done):
        iter(dataset)


def load_state(out_dir):
    path = Path(out_dir) / STATE
    return json.loads(path.read_text()) if path.is_file() else None


def resumed_epochs(out_dir, state):
    """The epochs a run in `out_dir` with `state` resumes after: none without its checkpoint."""
    return state["epochs_done"] if state and (Path(out_dir) / CHECKPOINT).is_file() else 0


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
    g_lr=None,
    d_lr=None,
    strategy="default",
    deterministic=False,
    finetune=False,
    freeze_discriminator_layers=0,
    callbacks=(),
    precision=None,
    jit_compile=False,
    steps_per_execution=None,
    model_options=None,
    lr_decay_from=None,
):
    """Train registered model `name` with its recipe for `epochs` total epochs.

    Resumes from `out_dir` when it holds a checkpoint of an earlier run.
    `finetune` starts from the pretrained weights instead of a random
    initialisation, with the first `freeze_discriminator_layers` weighted
    layers of D frozen. `precision` "mixed_bfloat16" builds the networks to compute in bfloat16
    (weights and losses stay float32; a resumed run keeps the precision it was started with).
    `jit_compile=True` compiles the train step with XLA: 1.35x for `gan-mnist` and 1.29x for
    `bigan-mnist` at batch 64 on a 2-core CPU, 0.86x for `infogan-mnist` (README); the shipped
    recipes train without it, and a resumed run keeps the setting it was started with.
    `steps_per_execution` runs that many train steps in one graph call (32 with XLA: 1.34x XLA
    alone for `gan-mnist`'s networks at batch 32, 0.93x without XLA at batch 64, on a 2-core AVX-512
    CPU, docs/speed/avx512-model17); callbacks see one batch end in that many, and a resumed run
    keeps the setting it was started with (default 1).
    `model_options` are constructor settings that replace the registered ones (e.g. {"r1_every": 8});
    a resumed run keeps the model its checkpoint holds.
    Extra Keras `callbacks` run after each epoch's checkpoint is saved.
    `g_lr` / `d_lr` override the recipe's learning rates (a resumed run keeps those it was started with
    unless they are given again; the state records them); `lr_decay_from` K makes both fall linearly
    after epoch K, to 1 / (epochs - K + 1) of them in the last of the `epochs` and no lower after it
    (see `decayed_fraction`; a resumed run keeps the K and the epochs it was started with). `deterministic`
    turns on TensorFlow's op determinism (same seed, same losses).
    Returns (model, state) where state has the loss history and wall time.
    Raises `TrainingDiverged` if a loss becomes NaN or infinite.
    """
    entry = get_entry(name)
    recipe = dict(entry.recipe)
    given_rates = {key: value for key, value in (("g_lr", g_lr), ("d_lr", d_lr)) if value is not None}
    for key, value in given_rates.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{key} must be a positive number, got {value!r}")
        recipe[key] = float(value)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if not isinstance(jit_compile, bool):
        raise ValueError(f"jit_compile must be True or False, got {jit_compile!r}")
    if steps_per_execution is not None:
        check_positive_int("steps_per_execution", steps_per_execution)
    if lr_decay_from is not None:
        check_positive_int("lr_decay_from", lr_decay_from)
    model_options = dict(model_options or {})
    if {"name", "seed", "frozen_discriminator_layers"} & set(model_options):
        raise ValueError("model_options cannot set name, seed or frozen_discriminator_layers: train takes them itself")
    if jit_compile and deterministic:  # Keras would quietly compile without XLA
        raise ValueError("jit_compile and deterministic do not go together: TensorFlow's op determinism rules out XLA")
    if deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    strategy = make_strategy(strategy) if isinstance(strategy, str) else strategy
    epochs = epochs or recipe.get("epochs", 10)
    batch_size = batch_size or recipe.get("batch_size", 64)
    data = data or entry.dataset
    if not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    out_dir = worker_out_dir(strategy, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    if seed is not None:  # a resumed run too: the data set's shuffle draws from the global seed
        keras.utils.set_random_seed(seed)
    state = load_state(out_dir)
    if state is not None and (out_dir / CHECKPOINT).is_file():
        if state["name"] != name:
            raise ValueError(f"{out_dir} holds a run of {state['name']!r}, not {name!r}; use another --out")
        try:  # the networks are rebuilt from the model's config: in the precision the run started with
            with strategy.scope(), dtype_policy(state.get("precision")):
                model = keras.saving.load_model(out_dir / CHECKPOINT, safe_mode=True)
        except Exception as error:  # a damaged or foreign file: say which, not a traceback
            raise ValueError(
                f"{out_dir / CHECKPOINT} cannot be loaded ({type(error).__name__}: {str(error)[:200]}); "
                "delete the run directory's files or use another --out"
            ) from None
        # the rates the run started with, unless given again (runs from before the key: the recipe's)
        recipe.update({key: rate for key, rate in state.get("learning_rates", {}).items() if key not in given_rates})
        for optimizer, key in ((model.g_optimizer, "g_lr"), (model.d_optimizer, "d_lr")):
            if key in recipe:
                optimizer.learning_rate = recipe[key]
        print(f"resuming {name} from epoch {state['epochs_done']} in {out_dir}")
        started_in = state.get("precision", "float32")
        if precision is not None and precision != started_in:
            print(f"note: this run started in {started_in} and goes on in it (precision={precision!r} ignored)")
        state.setdefault("jit_compile", bool(model.jit_compile))  # runs from before the key
        if jit_compile and not model.jit_compile:
            print("note: this run started without XLA and goes on without it (jit_compile=True ignored)")
        state.setdefault("steps_per_execution", model.steps_per_execution)
        if steps_per_execution not in (None, model.steps_per_execution):
            print(f"note: this run started with steps_per_execution={model.steps_per_execution} and goes on with it "
                  f"({steps_per_execution} ignored)")
        started_with = state.setdefault("model_options", {})
        if model_options and model_options != started_with:
            print(f"note: this run started with model_options={started_with} and goes on with them "
                  f"({model_options} ignored)")
        started_decay = state.setdefault("lr_decay", None)
        if lr_decay_from is not None and lr_decay_from != (started_decay or {}).get("from"):
            print(f"note: this run started with lr_decay={started_decay} and goes on with it "
                  f"(lr_decay_from={lr_decay_from} ignored)")
    else:
        if lr_decay_from is not None and lr_decay_from >= epochs:
            raise ValueError(f"lr_decay_from ({lr_decay_from}) must be below epochs ({epochs}): the decay ends with the last epoch")
        with strategy.scope(), dtype_policy(precision):
            if freeze_discriminator_layers and not finetune:
                raise ValueError("freeze_discriminator_layers only applies when fine-tuning")
            model = entry.build(seed=seed, frozen_discriminator_layers=freeze_discriminator_layers, **model_options)
            if finetune:
                load_pretrained_weights(model, name)
            # only when asked: Keras's "auto" stays the default (XLA on a GPU, off on a CPU)
            model.compile(**({"jit_compile": True} if jit_compile else {}),
                          **({"steps_per_execution": steps_per_execution} if steps_per_execution else {}),
                          **recipe_optimizers(recipe))
        state = {
            "name": name,
            "finetuned_from": f"{name} pretrained weights" if finetune else None,
            "frozen_discriminator_layers": freeze_discriminator_layers,
            "data": str(data),
            "batch_size": batch_size,
            "seed": seed,
            "precision": precision or "float32",
            "jit_compile": bool(model.jit_compile),  # as Keras resolved it ("auto": XLA on a GPU)
            "steps_per_execution": model.steps_per_execution,
            "model_options": model_options,
            "lr_decay": None if lr_decay_from is None else {"from": lr_decay_from, "to": epochs},
            "epochs_done": 0,
            "train_seconds": 0.0,
            "history": {},
            "keras_version": keras.__version__,
        }
    state["learning_rates"] = dict(zip(("g_lr", "d_lr"), recipe_learning_rates(recipe)))  # the decay's base on resume
    if state["epochs_done"] >= epochs:
        print(f"{name}: {state['epochs_done']} epochs already done in {out_dir}")
        return model, state

    if hasattr(model, "training_data"):  # models with their own data (gan-toy2d's ring of Gaussians)
        dataset = model.training_data(data, batch_size=batch_size, seed=seed, limit=limit)
    else:
        dataset = zoo_data.load(data, labels=True, batch_size=batch_size, seed=seed, limit=limit)
    skip_data_orders(dataset, state["epochs_done"])
    artifacts = EpochArtifacts(out_dir, state)
    callbacks = [artifacts, *callbacks]
    if state["lr_decay"]:
        callbacks.append(LinearDecay(recipe_learning_rates(recipe), state["lr_decay"]["from"], state["lr_decay"]["to"]))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(out_dir / "tensorboard")))
    model.fit(dataset, epochs=epochs, initial_epoch=state["epochs_done"], callbacks=callbacks, verbose=verbose)
    if artifacts.diverged:
        epoch, batch, key, value = artifacts.diverged
        good = state["epochs_done"]
        kept = f"the checkpoint of epoch {good} in {out_dir} is intact" if good else "no epoch had completed"
        raise TrainingDiverged(
            f"{name}: {key} became {value} in epoch {epoch}, batch {batch}; training stopped and {kept}. "
            "Lower the learning rates (--g-lr, --d-lr) and run again."
        )
    return model, state
