"""Train the seed-recipe baseline (classic Keras loop, batch 32, 4,000 steps): `python scripts/train_baseline.py`."""

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np

from zoo import data as zoo_data
from zoo._registry import sha256
from zoo.baseline import NAME, ClassicLoop

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights-dir", default=str(ROOT / "weights"))
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    images, _ = zoo_data.load_arrays("mnist", "train")
    images = images[..., None].astype("float32") / 127.5 - 1.0
    loop = ClassicLoop(seed=args.seed)
    rng = np.random.default_rng(args.seed)
    progress = keras.utils.Progbar(args.steps, stateful_metrics=["d_loss", "g_loss"])
    start = time.time()
    for step in range(args.steps):
        real = images[rng.integers(0, len(images), loop.batch_size)]
        d_loss, g_loss = loop.step(real)
        progress.update(step + 1, [("d_loss", d_loss), ("g_loss", g_loss)])
    minutes = (time.time() - start) / 60

    out = Path(args.weights_dir)
    weights = out / f"{NAME}.weights.h5"
    loop.generator.save_weights(weights)
    meta = {
        "name": NAME,
        "file": weights.name,
        "sha256": sha256(weights),
        "description": "generator of the classic Keras vanilla GAN loop (the seed recipe)",
        "recipe": {
            "command": " ".join(["python scripts/train_baseline.py", *(argv if argv is not None else sys.argv[1:])]),
            "steps": args.steps,
            "batch_size": loop.batch_size,
            "wall_time_minutes": round(minutes, 1),
        },
        "keras_version": keras.__version__,
        "date": datetime.date.today().isoformat(),
    }
    (out / f"{NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {weights} in {minutes:.1f} min")


if __name__ == "__main__":
    main()
