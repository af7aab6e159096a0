"""Train a registered model with its recipe and ship the weights: `python scripts/train.py NAME`.

Writes `weights/NAME.weights.h5` and `weights/NAME.json` (sha256, parameter
counts, the exact command, epochs, wall time, each invocation's machine, versions). Training runs in
`runs/NAME` and resumes there if interrupted: run the same command again.
"""

import argparse
import datetime
import json
import shlex
import sys
from pathlib import Path

import keras

import zoo
from zoo._registry import get_entry, sha256
from zoo.rejection import calibrate_for_release, release_strata
from zoo.speed import machines_before, training_machine
from zoo.training import _atomic_write_text, load_state, resumed_epochs, train

ROOT = Path(__file__).resolve().parent.parent


class MachineLog(keras.callbacks.Callback):
    """Keeps OUT/machines.json, one entry per invocation that trains: minutes depend on the machine,
    and a resumed run may go on on another one. The entry is appended when `fit` starts, after
    `train` has checked its arguments and loaded the checkpoint, so a refused invocation leaves none."""

    def __init__(self, out_dir):
        super().__init__()
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / "machines.json"

    def epochs_done(self):
        return resumed_epochs(self.out_dir, load_state(self.out_dir))

    def machines(self, epochs_done=None):
        """The entries of the invocations whose epochs the run's checkpoint still holds."""
        logged = json.loads(self.path.read_text()) if self.path.is_file() else []
        return machines_before(logged, self.epochs_done() if epochs_done is None else epochs_done)

    def on_train_begin(self, logs=None):
        done = self.epochs_done()
        _atomic_write_text(self.path, json.dumps([*self.machines(done), training_machine(done)], indent=1) + "\n")


def export(model, state, name, command, weights_dir, machines=None):
    weights_dir.mkdir(parents=True, exist_ok=True)
    weights = weights_dir / f"{name}.weights.h5"
    entry = get_entry(name)
    clean = entry.build()  # uncompiled copy: the file holds the networks, no optimizer state
    clean.set_weights(model.get_weights())
    keep = entry.recipe.get("rejection_keep")
    if keep:  # rejection sampling is fit to the final networks, so it is part of the export
        calibrate_for_release(clean, entry.dataset, keep, release_strata(entry.recipe))
    clean.save_weights(weights)
    meta_path = weights_dir / f"{name}.json"
    import tensorflow as tf

    meta = {
        "name": name,
        "file": weights.name,
        "sha256": sha256(weights),
        "parameters": clean.parameter_counts(),
        "config": clean.get_config(),
        "recipe": {
            "command": command,
            "data": state["data"],
            "epochs": state["epochs_done"],
            "batch_size": state["batch_size"],
            "seed": state["seed"],
            "wall_time_minutes": round(state["train_seconds"] / 60, 1),
            "final_losses": {k: round(v[-1], 4) for k, v in state["history"].items()},
            "seconds_per_epoch": round(state["train_seconds"] / state["epochs_done"], 1),
            # one entry per invocation that trained: CPU, cores, load, threads, float32 matmul GFLOP/s
            **({"machines": machines} if machines is not None else {}),
            **({"rejection_keep": keep} if keep else {}),
            **({"rejection_strata": entry.recipe["rejection_strata"]} if keep and "rejection_strata" in entry.recipe else {}),
        },
        "keras_version": keras.__version__,
        "tensorflow_version": tf.__version__,
        "date": datetime.date.today().isoformat(),
        "metrics": {},  # new weights: `zoo bench --write-metadata` measures them
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {weights} and {meta_path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=zoo.list_models())
    parser.add_argument("--epochs", type=int, help="default: the registry recipe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="run directory (default runs/NAME)")
    parser.add_argument("--weights-dir", default=str(ROOT / "weights"))
    args = parser.parse_args(argv)
    out = args.out or str(ROOT / "runs" / args.name)
    command = " ".join(["python scripts/train.py", *map(shlex.quote, argv if argv is not None else sys.argv[1:])])
    machine_log = MachineLog(out)
    model, state = train(args.name, epochs=args.epochs, out_dir=out, seed=args.seed, verbose=2, callbacks=[machine_log])
    export(model, state, args.name, command, Path(args.weights_dir), machine_log.machines())


if __name__ == "__main__":
    main()
