"""Rescore a time-to-quality run's last checkpoint at other sampling settings.

    python scripts/rescore_sampling.py runs/ttq/gan-mnist-decay28 1.0 1.05:0.7 1.1:0.6

Each setting is TEMPERATURE or TEMPERATURE:KEEP (KEEP: the share of G's draws a rejection sampler,
refitted for each setting as `scripts/time_to_quality.py --rejection-keep` fits it, lets through; 1 or
none: every draw). Each is scored as the run scores its epochs (N samples, seed 0, the run's bar
references) and printed as a line of JSON. Training is not touched: the checkpoint is only read.
Settings picked this way after a run are probes, not a run's result: a run that should count names
them up front (`--temperature`, `--rejection-keep`).
"""

import argparse
import json
import sys
from pathlib import Path

import keras

sys.path.insert(0, str(Path(__file__).resolve().parent))
from time_to_quality import keep_fraction, score_epoch  # noqa: E402

from zoo._registry import get_entry  # noqa: E402
from zoo.cli import positive_float, positive_int  # noqa: E402
from zoo.rejection import release_strata  # noqa: E402
from zoo.training import CHECKPOINT, STATE, load_state  # noqa: E402


def sampling_setting(text):
    """argparse type: "T" or "T:KEEP" -> (temperature, keep or None)."""
    temperature, _, keep = text.partition(":")
    keep = None if keep in ("", "none") else keep_fraction(keep)
    return positive_float(temperature), (None if keep == 1 else keep)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a time_to_quality.py --out folder")
    parser.add_argument("settings", nargs="+", type=sampling_setting, metavar="T[:KEEP]")
    parser.add_argument("-n", type=positive_int, default=10_000, help="samples scored per setting")
    args = parser.parse_args(argv)
    record_path, checkpoint, state = args.run / "quality.json", args.run / CHECKPOINT, load_state(args.run)
    if not record_path.is_file() or not checkpoint.is_file() or state is None:
        parser.error(f"{args.run} holds no time-to-quality run (it needs {CHECKPOINT}, {STATE} and quality.json)")
    references = json.loads(record_path.read_text())["references"]
    model = keras.saving.load_model(checkpoint)
    strata = release_strata(get_entry(state["name"]).recipe)
    for temperature, keep in args.settings:
        model.temperature = temperature
        result = score_epoch(model, state["epochs_done"], state["train_seconds"], references, args.n, keep, strata)
        print(json.dumps({"temperature": temperature, "rejection_keep": keep, **result}), flush=True)


if __name__ == "__main__":
    main()
