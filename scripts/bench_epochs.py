"""Whole-epoch times of `fit` over `zoo.data.load`, with tf.data's autotuner off (the zoo's setting) and on.

    python scripts/bench_epochs.py gan-mnist --epochs 4 --out docs/speed/epochs

`bench_speed.py` times steps over a repeating dataset, one iterator for the whole run, so it cannot
see what happens between epochs: Keras's `fit` makes a new iterator each epoch, and deleting the old
one waits for the autotuner's thread to wake up (TensorFlow 2.21), which can be tens of seconds
away. This script trains NAME's recipe (seed 0, no checkpoints) for `--epochs` epochs once with the
autotuner off and once with it on, in one process, and reports each epoch's seconds and the ratio
of the mean epoch times after the first (which also traces the step). Writes `epochs.md` and
`epochs.json` to `--out`. `--limit` trains on the first N images (quick checks; the stall needs long
epochs to show). `--arrays` fits on numpy arrays instead, through the zoo's `fit` (which batches them
with `zoo.data.arrays_dataset`, the autotuner off) and through `keras.Model.fit` (Keras's own pipeline
for arrays, the autotuner on):

    python scripts/bench_epochs.py gan-mnist --arrays --epochs 6 --limit 12800 --out docs/speed/epochs-arrays
"""

import argparse
import datetime
import json
import shlex
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if (ROOT / "zoo" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # measure this checkout's zoo

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo import data as zoo_data, speed  # noqa: E402
from zoo._registry import get_entry, recipe_optimizers  # noqa: E402
from zoo.cli import positive_int  # noqa: E402

SETTINGS = ("autotuner off (zoo.data.load)", "autotuner on (tf.data's default)")
ARRAY_SETTINGS = ("arrays, the zoo's fit (autotuner off)", "arrays, keras.Model.fit (autotuner on)")


def epoch_seconds(name, epochs, autotune, limit=None, arrays=False):
    """Seconds of each of `epochs` epochs of `name`'s recipe, fresh networks, seed 0."""
    entry = get_entry(name)
    keras.utils.set_random_seed(0)
    model = entry.build(seed=0)
    model.compile(**recipe_optimizers(entry.recipe))
    timer = speed.EpochTimes()  # the iterator's creation and the previous one's deletion fall inside an epoch
    batch_size = entry.recipe.get("batch_size", 64)
    if arrays:
        images, labels = zoo_data.load_arrays(entry.dataset, "train")
        images = images[:limit, :, :, None].astype("float32") / 127.5 - 1.0
        fit = keras.Model.fit if autotune else type(model).fit  # keras.Model.fit: Keras's own pipeline
        fit(model, images, labels[:limit], batch_size=batch_size, epochs=epochs, callbacks=[timer], verbose=0)
        return timer.seconds
    dataset = zoo_data.load(entry.dataset, labels=True, batch_size=batch_size, seed=0, limit=limit)
    if autotune:
        options = tf.data.Options()
        options.autotune.enabled = True
        dataset = dataset.with_options(options)
    model.fit(dataset, epochs=epochs, callbacks=[timer], verbose=0)
    return timer.seconds


def summarise(seconds):
    later = seconds[1:]  # the first epoch also traces the step
    return {"seconds": [round(s, 2) for s in seconds], "mean_after_first": round(statistics.mean(later), 2),
            "max_after_first": round(max(later), 2), "min_after_first": round(min(later), 2)}


def markdown(result):
    rows = ["| setting | epoch seconds | mean after the first | slowest - fastest |", "|---|---|---|---|"]
    for setting, s in result["settings"].items():
        rows.append(f"| {setting} | {', '.join(f'{x:.1f}' for x in s['seconds'])} | {s['mean_after_first']:.1f} "
                    f"| {s['max_after_first'] - s['min_after_first']:.1f} |")
    return "\n".join([
        f"# Epoch times of `{result['model']}`, tf.data autotuner off and on"
        + (", fit on numpy arrays" if result.get("arrays") else ""), "",
        f"Command: `{result['command']}`  ",
        f"Date: {result['date']}; CPU: {result['cpu']}; TensorFlow {result['tensorflow_version']}, Keras {result['keras_version']}.",
        "", *rows, "",
        f"Autotuner on / off, mean epoch time after the first: **{result['ratio_on_over_off']:.2f}x**"
        + (f" (keras.Model.fit / the zoo's fit, on `{result['limit'] or 'all'}` images)" if result.get("arrays") else "")
        + ".", "",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="gan-mnist", choices=zoo.list_models("*-mnist"))
    parser.add_argument("--epochs", type=positive_int, default=4, help="epochs per setting (at least 2)")
    parser.add_argument("--limit", type=positive_int, help="train on the first N images only (quick checks)")
    parser.add_argument("--arrays", action="store_true", help="fit on numpy arrays: the zoo's fit against keras.Model.fit")
    parser.add_argument("--out", default=str(ROOT / "docs" / "speed" / "epochs"))
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch traces the step and is left out of the mean")
    command = " ".join(["python scripts/bench_epochs.py", *map(shlex.quote, argv if argv is not None else sys.argv[1:])])
    settings = {}
    names = ARRAY_SETTINGS if args.arrays else SETTINGS
    for setting, autotune in zip(names, (False, True)):
        seconds = epoch_seconds(args.name, args.epochs, autotune, args.limit, args.arrays)
        settings[setting] = summarise(seconds)
        print(f"{setting}: " + ", ".join(f"{s:.1f}" for s in seconds) + " s", flush=True)
    off, on = (settings[s]["mean_after_first"] for s in names)
    result = {
        "model": args.name, "command": command, "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": speed.describe_cpu(speed.machine_info()), "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__, "epochs": args.epochs, "limit": args.limit, "arrays": args.arrays,
        "settings": settings, "ratio_on_over_off": round(on / off, 3),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = markdown(result)
    (out / "epochs.md").write_text(report)
    (out / "epochs.json").write_text(json.dumps(result, indent=1) + "\n")
    print(report)
    return result


if __name__ == "__main__":
    main()
