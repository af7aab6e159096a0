"""Wall-clock minutes from scratch to the zoo's MNIST quality bar, with the shipped recipe.

    python scripts/time_to_quality.py cgan-mnist --max-epochs 20 --write-metadata

Trains NAME with its registered recipe (seed 0, as `scripts/train.py`) one epoch at a time
through `zoo.training.train`, resuming from the run's checkpoint, and after each epoch scores
10,000 samples as `zoo bench` does (seed 0) against the bar (`zoo.metrics.quality_bar_misses`).
Stops at the first epoch that clears it. The minutes are training time only (the evaluation
between epochs is left out; each epoch's restart, i.e. loading the checkpoint and tracing the
step, is counted). Resumable: OUT/quality.json keeps every scored epoch. `--write-metadata`
records the result under "time_to_quality" in weights/NAME.json.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

import zoo
from zoo.metrics import bar_references, evaluate, quality_bar_misses
from zoo.training import train

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=zoo.list_models("*-mnist"))
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--out", help="run directory (default runs/time-to-quality/NAME)")
    parser.add_argument("-n", type=int, default=10_000, help="samples scored per epoch")
    parser.add_argument("--limit", type=int, help="train on the first N images only (for quick checks)")
    parser.add_argument("--write-metadata", action="store_true", help="record the result in weights/NAME.json")
    args = parser.parse_args(argv)
    out = Path(args.out or ROOT / "runs" / "time-to-quality" / args.name)
    out.mkdir(parents=True, exist_ok=True)
    record_path = out / "quality.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {"epochs": []}
    if "references" not in record:
        record["references"] = bar_references(args.n)
    references = record["references"]

    result = None
    for epoch in range(1, args.max_epochs + 1):
        if epoch <= len(record["epochs"]):
            result = record["epochs"][epoch - 1]
        else:
            model, state = train(args.name, epochs=epoch, out_dir=out, seed=0, limit=args.limit, verbose=0)
            metrics = evaluate(model, n=args.n, seed=0)
            result = {
                "epoch": epoch,
                "train_minutes": round(state["train_seconds"] / 60, 2),
                "misses": quality_bar_misses(metrics, **references),
                "metrics": {k: round(float(v), 4) for k, v in metrics.items()},
            }
            record["epochs"].append(result)
            record_path.write_text(json.dumps(record, indent=1) + "\n")
        print(f"epoch {epoch}: {result['train_minutes']:.1f} min, "
              + ("clears the bar" if not result["misses"] else "misses " + "; ".join(result["misses"])), flush=True)
        if not result["misses"]:
            break

    command = " ".join(["python scripts/time_to_quality.py", *map(shlex.quote, argv if argv is not None else sys.argv[1:])])
    summary = {
        "cleared": not result["misses"],
        "epochs": result["epoch"],
        "train_minutes": result["train_minutes"],
        "misses": result["misses"],
        "command": command,
        "machine": "2-core CPU",
    }
    print(json.dumps(summary, indent=1))
    if args.write_metadata:
        meta_path = ROOT / "weights" / f"{args.name}.json"
        meta = json.loads(meta_path.read_text())
        meta["time_to_quality"] = summary
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote time_to_quality into {meta_path}")


if __name__ == "__main__":
    main()
