"""Wall-clock minutes from scratch to the zoo's MNIST quality bar, with the shipped recipe.

    python scripts/time_to_quality.py cgan-mnist --max-epochs 20 --write-metadata

Trains NAME with its registered recipe (seed 0, as `scripts/train.py`) in one `fit`, so the run is
the one behind the shipped weights, and after each epoch's checkpoint scores 10,000 samples as
`zoo bench` does (seed 0) against the bar (`zoo.metrics.quality_bar_misses`). Training stops at the
first epoch that clears it. The minutes are training time only (scoring is left out; tracing the
step is counted). Resumable: OUT/quality.json keeps every scored epoch and training goes on from
the last checkpoint (exactly: a resumed run draws the data orders and latents of the uninterrupted
one). `--score-from K` leaves epochs before K unscored, for long runs whose early epochs
are known to miss (scoring costs about half a minute an epoch), and `--score-every M` scores only every
M-th epoch from K on (and the last); if an epoch clears the bar and the one before it was not scored,
the result is an upper bound and says so. `--write-metadata` records the result under "time_to_quality"
in weights/NAME.json, with the machine of each invocation that trained (CPU, cores, threads, load and
its float32 matmul GFLOP/s, measured before training: minutes on another machine scale with it).

`--jit-compile`, `--steps-per-execution`, `--batch-size`, `--g-lr`, `--d-lr`, `--lr-decay-from`,
`--mixed-precision`, `--r1-every`, `--critic-steps` and `--loss` change how the recipe trains, and `--temperature` and `--rejection-keep`
how its scored samples are drawn: such a run is not the one behind the shipped weights (XLA alone sums in another order), so its
result goes under "time_to_quality_with_overrides", naming the overrides, and the shipped recipe's
"time_to_quality" stays. A resumed run keeps the overrides it was started with (should OUT/quality.json be
lost, those its state shows: all but `--rejection-keep`).
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

import keras

import zoo
from zoo.cli import positive_float, positive_int
from zoo._base import LOSSES
from zoo._registry import get_entry, recipe_learning_rates
from zoo.metrics import bar_references, evaluate, quality_bar_misses
from zoo.speed import machines_before, training_machine
from zoo.rejection import RELEASE_STRATA, calibrate_for_release, release_strata
from zoo.training import AfterEachCheckpoint, _atomic_write_text, load_state, resumed_epochs, train

ROOT = Path(__file__).resolve().parent.parent
OVERRIDES = ("jit_compile", "steps_per_execution", "batch_size", "g_lr", "d_lr", "precision", "lr_decay_from")  # train()'s arguments
MODEL_OVERRIDES = ("r1_every", "critic_steps", "loss", "temperature")  # the model's, passed as train(model_options=)
SCORING_OVERRIDES = ("rejection_keep",)  # how the scored samples are drawn; train() never sees them


def scoring_keep(overrides, recipe):
    """The share of draws the scored samples keep (None: no rejection): the override's, 1 meaning
    none, else the recipe's."""
    keep = overrides.get("rejection_keep", recipe.get("rejection_keep"))
    return None if keep == 1 else keep


def train_arguments(overrides):
    """train()'s keyword arguments for a run with `overrides` (both kinds, by name)."""
    options = {key: value for key, value in overrides.items() if key in MODEL_OVERRIDES}
    return {**{key: value for key, value in overrides.items() if key in OVERRIDES},
            **({"model_options": options} if options else {})}


def overrides_in_state(state, recipe):
    """The overrides a run's state shows, for a run whose record (quality.json) was lost: all but
    `--rejection-keep`, and the learning rates of states from before they were kept."""
    found = {"jit_compile": True} if state.get("jit_compile") else {}
    recipe_rates = dict(zip(("g_lr", "d_lr"), recipe_learning_rates(recipe)))
    found.update({key: rate for key, rate in state.get("learning_rates", {}).items() if rate != recipe_rates[key]})
    if state.get("precision", "float32") != "float32":
        found["precision"] = state["precision"]
    if state.get("lr_decay"):
        found["lr_decay_from"] = state["lr_decay"]["from"]
    if state.get("steps_per_execution", 1) != 1:
        found["steps_per_execution"] = state["steps_per_execution"]
    recipe_batch = recipe.get("batch_size", 64)  # train()'s default
    if state.get("batch_size", recipe_batch) != recipe_batch:
        found["batch_size"] = state["batch_size"]
    return {**found, **{k: v for k, v in state.get("model_options", {}).items() if k in MODEL_OVERRIDES}}


def score_epoch(model, epoch, train_seconds, references, n, rejection_keep=None, rejection_strata=RELEASE_STRATA):
    if rejection_keep:  # the recipe samples with rejection: fit it to this epoch's networks
        calibrate_for_release(model, "mnist", rejection_keep, rejection_strata)
    try:
        metrics = evaluate(model, n=n, seed=0)
    finally:
        model.rejection = None  # training goes on
    return {
        "epoch": epoch,
        "train_minutes": round(train_seconds / 60, 2),
        "misses": quality_bar_misses(metrics, **references),
        "metrics": {k: round(float(v), 4) for k, v in metrics.items()},
    }


def report(result):
    print(f"epoch {result['epoch']}: {result['train_minutes']:.1f} min, "
          + ("clears the bar" if not result["misses"] else "misses " + "; ".join(result["misses"])), flush=True)


class QualityBar:
    """Scores checkpoints against the bar, appends each result to the record file and stops
    training once the bar is cleared (`callback` runs it after each epoch's checkpoint)."""

    def __init__(self, out_dir, record, record_path, n, score_from=1, rejection_keep=None, rejection_strata=RELEASE_STRATA,
                 score_every=1, last_epoch=None):
        self.record, self.record_path, self.n, self.score_from = record, record_path, n, score_from
        self.score_every, self.last_epoch = score_every, last_epoch
        self.rejection_keep, self.rejection_strata = rejection_keep, rejection_strata
        self.callback = AfterEachCheckpoint(out_dir, self.after_epoch)

    def score(self, model, state):
        """Scores `model` (the checkpoint `state` describes) and appends the result to the record."""
        result = score_epoch(
            model, state["epochs_done"], state["train_seconds"], self.record["references"], self.n, self.rejection_keep,
            self.rejection_strata,
        )
        self.record["epochs"].append(result)
        _atomic_write_text(self.record_path, json.dumps(self.record, indent=1) + "\n")
        report(result)
        return result

    def scheduled(self, epoch):
        """Whether `epoch` is one to score: K, K + M, K + 2M, ... and the last."""
        return epoch >= self.score_from and ((epoch - self.score_from) % self.score_every == 0 or epoch == self.last_epoch)

    def after_epoch(self, model, state):
        if not self.scheduled(state["epochs_done"]):
            print(f"epoch {state['epochs_done']}: not scored (--score-from {self.score_from}"
                  f" --score-every {self.score_every})", flush=True)
            return
        if not self.score(model, state)["misses"]:
            model.stop_training = True


def keep_fraction(text):
    """argparse type: a share of draws in (0, 1]."""
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1] (1: keep every draw), got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=zoo.list_models("*-mnist"))
    parser.add_argument("--max-epochs", type=positive_int, default=30)
    parser.add_argument("--out", help="run directory (default runs/time-to-quality/NAME)")
    parser.add_argument("-n", type=positive_int, default=10_000, help="samples scored per epoch")
    parser.add_argument("--score-from", type=positive_int, default=1, metavar="K",
                        help="score epochs K and later only (default 1: every epoch)")
    parser.add_argument("--score-every", type=positive_int, default=1, metavar="M",
                        help="score every M-th epoch from K on, and the last (default 1: every epoch)")
    parser.add_argument("--limit", type=positive_int, help="train on the first N images only (for quick checks)")
    parser.add_argument("--write-metadata", action="store_true", help="record the result in weights/NAME.json")
    overrides = parser.add_argument_group(
        "overrides", "train otherwise than the shipped recipe (recorded as time_to_quality_with_overrides)")
    overrides.add_argument("--jit-compile", action="store_true", help="train with XLA")
    overrides.add_argument("--steps-per-execution", type=positive_int, metavar="S", help="train steps per graph call")
    overrides.add_argument("--mixed-precision", dest="precision", action="store_const", const="mixed_bfloat16",
                           help="compute in bfloat16 (weights stay float32)")
    overrides.add_argument("--batch-size", type=positive_int)
    overrides.add_argument("--g-lr", type=positive_float, help="G's Adam learning rate")
    overrides.add_argument("--d-lr", type=positive_float, help="D's Adam learning rate")
    overrides.add_argument("--lr-decay-from", type=positive_int, metavar="K",
                           help="learning rates fall linearly after epoch K, to 1/(MAX_EPOCHS - K + 1) of them in the last")
    overrides.add_argument("--r1-every", type=positive_int, metavar="N", help="lazy R1: on every N-th D update")
    overrides.add_argument("--critic-steps", type=positive_int, metavar="N", help="D updates per G update")
    overrides.add_argument("--loss", choices=LOSSES, help="the adversarial loss")
    overrides.add_argument("--temperature", type=positive_float,
                           help="the spread of the latents the scored samples draw (training does not use it)")
    overrides.add_argument("--rejection-keep", type=keep_fraction, metavar="F",
                           help="the scored samples keep the share F of G's draws that D's fitted sampler"
                                " scores highest, refitted each scored epoch; 1: no rejection (training does not use it)")
    args = parser.parse_args(argv)
    if args.score_from > args.max_epochs:
        parser.error(f"--score-from {args.score_from} is past --max-epochs {args.max_epochs}: no epoch would be scored")
    out = Path(args.out or ROOT / "runs" / "time-to-quality" / args.name)
    out.mkdir(parents=True, exist_ok=True)
    state = load_state(out)
    done = resumed_epochs(out, state)
    record_path = out / "quality.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {"epochs": []}
    asked = {key: getattr(args, key) for key in OVERRIDES + MODEL_OVERRIDES + SCORING_OVERRIDES if getattr(args, key)}
    recipe = get_entry(args.name).recipe
    if done:  # a resumed run keeps the overrides it was started with
        started = record["overrides"] if "overrides" in record else overrides_in_state(state, recipe)
        if asked and asked != started:
            parser.error(f"{out} holds a run started with overrides {started}, not {asked}: use another --out")
        asked = started
    record["overrides"] = asked
    if "references" not in record:
        record["references"] = bar_references(args.n)
    scorer = QualityBar(out, record, record_path, args.n, args.score_from, scoring_keep(asked, recipe), release_strata(recipe),
                        args.score_every, args.max_epochs)

    # scores of epochs the run no longer has (a deleted checkpoint: start again)
    record["epochs"] = [result for result in record["epochs"] if result["epoch"] <= done]
    record["machines"] = machines_before(record.get("machines", []), done)
    for result in record["epochs"]:
        report(result)
    last_scored = record["epochs"][-1]["epoch"] if record["epochs"] else 0
    if scorer.scheduled(done) and done > last_scored:  # stopped between a checkpoint and its score
        scorer.score(*train(args.name, epochs=done, out_dir=out, seed=0, verbose=0, **train_arguments(asked)))
    cleared = bool(record["epochs"]) and not record["epochs"][-1]["misses"]
    if not cleared and done < args.max_epochs:
        def log_machine(logs=None):
            # minutes depend on the machine, and a resumed run may go on on another one; logged when
            # `fit` starts, after `train` has checked its arguments, so a refused invocation logs none
            record["machines"].append(training_machine(done))
            _atomic_write_text(record_path, json.dumps(record, indent=1) + "\n")

        train(args.name, epochs=args.max_epochs, out_dir=out, seed=0, limit=args.limit, verbose=0, **train_arguments(asked),
              callbacks=[keras.callbacks.LambdaCallback(on_train_begin=log_machine), scorer.callback])

    result = record["epochs"][-1]
    command = " ".join(["python scripts/time_to_quality.py", *map(shlex.quote, argv if argv is not None else sys.argv[1:])])
    summary = {
        "cleared": not result["misses"],
        "epochs": result["epoch"],
        "train_minutes": result["train_minutes"],
        "misses": result["misses"],
        "metrics": result["metrics"],  # kept in the metadata: runs/ is not committed
        # an unscored epoch just before the one that clears may have cleared already
        "upper_bound": not result["misses"] and result["epoch"] > 1
        and (len(record["epochs"]) < 2 or record["epochs"][-2]["epoch"] != result["epoch"] - 1),
        "command": command,
        "seconds_per_epoch": round(result["train_minutes"] * 60 / result["epoch"], 1),
        # one entry per invocation that trained: CPU, cores, load, threads, float32 matmul GFLOP/s
        "machines": record["machines"],
        **({"overrides": asked} if asked else {}),
    }
    print(json.dumps(summary, indent=1))
    if args.write_metadata:
        meta_path = ROOT / "weights" / f"{args.name}.json"
        meta = json.loads(meta_path.read_text())
        key = "time_to_quality_with_overrides" if asked else "time_to_quality"
        meta[key] = summary
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote {key} into {meta_path}")


if __name__ == "__main__":
    main()
