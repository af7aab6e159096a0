"""Train the evaluator classifier: `python scripts/train_evaluator.py [--data fashion_mnist]`.

Writes weights/evaluator-<data>.weights.h5, the feature mean and covariance over
the test set (evaluator-<data>.npz) and metadata with sha256 and test accuracy.
"""

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

import keras
import numpy as np

from zoo import data as zoo_data
from zoo._registry import sha256
from zoo.evaluator import Evaluator, build_classifier

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="mnist", choices=zoo_data.BUILTIN)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights-dir", default=str(ROOT / "weights"))
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    x_train, y_train = zoo_data.load_arrays(args.data, "train")
    x_test, y_test = zoo_data.load_arrays(args.data, "test")
    x_train = x_train[..., None].astype("float32") / 255.0
    x_test = x_test[..., None].astype("float32") / 255.0

    model = build_classifier()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.time()
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3 * 0.7**epoch)
    model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, callbacks=[schedule], verbose=2)
    minutes = (time.time() - start) / 60
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    print(f"test accuracy {accuracy:.4f}")

    out = Path(args.weights_dir)
    name = f"evaluator-{args.data}"
    weights, stats = out / f"{name}.weights.h5", out / f"{name}.npz"
    clean = build_classifier()  # the file holds the network only, no optimizer state
    clean.set_weights(model.get_weights())
    clean.save_weights(weights)
    features = Evaluator(model, None, None)(x_test).features
    np.savez(stats, mean=features.mean(axis=0), covariance=np.cov(features, rowvar=False))
    meta = {
        "name": name,
        "file": weights.name,
        "sha256": sha256(weights),
        "stats_file": stats.name,
        "stats_sha256": sha256(stats),
        "stats": "mean and covariance of the 128-d 'features' layer over the 10,000 test images",
        "test_accuracy": round(float(accuracy), 4),
        "parameters": int(model.count_params()),
        "recipe": {
            "command": " ".join(["python scripts/train_evaluator.py", *map(shlex.quote, argv if argv is not None else sys.argv[1:])]),
            "epochs": args.epochs,
            "seed": args.seed,
            "wall_time_minutes": round(minutes, 1),
        },
        "keras_version": keras.__version__,
        "date": datetime.date.today().isoformat(),
    }
    (out / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {weights}, {stats}")


if __name__ == "__main__":
    main()
