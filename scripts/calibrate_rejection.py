"""Fit the rejection sampler of shipped weights: `python scripts/calibrate_rejection.py NAME`.

`scripts/train.py` calibrates the exported weights itself when the registry recipe has a
`rejection_keep`; this script does the same to weights that already exist (or with another
`--keep`), rewrites `weights/NAME.weights.h5`, its sha256 and config, and clears the metrics in
`weights/NAME.json`, which `zoo bench --write-metadata` then measures again.
"""

import argparse
import json
from pathlib import Path

import zoo
from zoo._registry import get_entry, sha256, verified_file
from zoo.rejection import calibrate_for_release, release_strata

ROOT = Path(__file__).resolve().parent.parent


def fraction(text):
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction in (0, 1), got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=zoo.list_models())
    parser.add_argument("--keep", type=fraction, help="share of draws kept (default: the registry recipe's)")
    parser.add_argument("--weights-dir", default=str(ROOT / "weights"))
    args = parser.parse_args(argv)
    entry = get_entry(args.name)
    keep = args.keep or entry.recipe.get("rejection_keep")
    if keep is None:
        parser.error(f"{args.name}'s recipe has no rejection_keep: pass --keep")
    weights_dir = Path(args.weights_dir)
    meta_path = weights_dir / f"{args.name}.json"
    if not meta_path.is_file():
        parser.error(f"no weights of {args.name} in {weights_dir}")
    meta = json.loads(meta_path.read_text())
    weights = verified_file(weights_dir / meta["file"], meta["sha256"], meta_path.name)
    model = entry.build()
    model.load_weights(weights)
    sampler = calibrate_for_release(model, entry.dataset, keep, release_strata(entry.recipe))
    model.save_weights(weights)
    meta["sha256"] = sha256(weights)
    meta["recipe"]["rejection_keep"] = keep
    if "rejection_strata" in entry.recipe:
        meta["recipe"]["rejection_strata"] = entry.recipe["rejection_strata"]
    else:
        meta["recipe"].pop("rejection_strata", None)
    meta["config"] = model.get_config()  # the registry's, which the sampler was fit at (its temperature)
    meta["metrics"] = {}  # measured again by `zoo bench --write-metadata`
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{args.name}: keeps {keep:.0%} of draws in each of {len(sampler.thresholds)} strata; wrote {weights} and {meta_path}")


if __name__ == "__main__":
    main()
