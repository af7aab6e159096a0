"""Fine-tuning against training from scratch: FCD on the new data set after every epoch, one figure.

    python scripts/finetune_curve.py dcgan-mnist --data fashion_mnist --epochs 5 --out docs/finetune

Both runs go through `zoo.training.train` (the code behind `zoo train` / `zoo finetune`) in one
`fit` each; after each epoch's checkpoint the model is scored with the evaluator of the new data set.
Writes OUT/curve.png, OUT/curve.csv and OUT/curve.md; the runs themselves go to RUNS/scratch and
RUNS/finetune, each with its scores so far in points.json (resumable: run the same command again).
"""

import argparse
import csv
import json
import shlex
import sys
import time
from pathlib import Path

import zoo
from zoo._registry import get_entry
from zoo.metrics import evaluate
from zoo.training import AfterEachCheckpoint, _atomic_write_text, load_state, resumed_epochs, train


def score(model, data, n, seed):
    return evaluate(model, n=n, seed=seed, dataset=data)["fcd"]


class EpochScores:
    """Scores models and keeps the points in RUN/points.json (`callback`: after each epoch's checkpoint)."""

    def __init__(self, out_dir, points, label, data, n, seed):
        self.out_dir, self.points, self.label, self.data, self.n, self.seed = out_dir, points, label, data, n, seed
        self.callback = AfterEachCheckpoint(out_dir, self.add)

    def add(self, model, state):
        self.points.append((state["epochs_done"], score(model, self.data, self.n, self.seed), state["train_seconds"]))
        _atomic_write_text(self.out_dir / "points.json", json.dumps(self.points))
        print(f"{self.label} epoch {state['epochs_done']}: fcd {self.points[-1][1]:.2f}", flush=True)


def curve(name, data, epochs, out_dir, finetune, n, seed, limit=None):
    """[(epoch, fcd, train seconds)] from epoch 0 (before training) to `epochs`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = out_dir / "points.json"
    points = [tuple(point) for point in json.loads(saved.read_text())] if saved.is_file() else []
    state = load_state(out_dir)
    done = resumed_epochs(out_dir, state)
    del points[done + 1 :]
    scores = EpochScores(out_dir, points, "finetune" if finetune else "scratch", data, n, seed)
    if not points:
        start = zoo.load(name, compile=False) if finetune else get_entry(name).build(seed=seed)
        scores.add(start, {"epochs_done": 0, "train_seconds": 0.0})
    if len(points) == done:  # stopped between a checkpoint and its score
        scores.add(*train(name, epochs=done, data=data, out_dir=out_dir, seed=seed, finetune=finetune, verbose=0))
    if len(points) != done + 1:
        raise ValueError(f"{saved} lacks scores of earlier epochs; delete {out_dir} and run again")
    if done < epochs:
        train(name, epochs=epochs, data=data, out_dir=out_dir, seed=seed, finetune=finetune, limit=limit, verbose=0,
              callbacks=[scores.callback])
    return points[: epochs + 1]


def epochs_to_reach(points, target):
    return next((epoch for epoch, fcd, _ in points if fcd <= target), None)


def summary(runs, header):
    """Markdown: the two curves side by side, and epochs each needs to reach a few FCD levels."""
    (scratch_label, scratch), (tuned_label, tuned) = runs.items()
    levels = sorted({round(fcd, -1) for _, fcd, _ in scratch[1:] + tuned[1:] if fcd < scratch[0][1] - 10}, reverse=True)
    return [
        header,
        "",
        f"| epoch | FCD {scratch_label} | FCD {tuned_label} |",
        "|---|---|---|",
        *(f"| {a[0]} | {a[1]:.2f} | {b[1]:.2f} |" for a, b in zip(scratch, tuned)),
        "",
        f"| FCD level | epochs {scratch_label} | epochs {tuned_label} |",
        "|---|---|---|",
        *(f"| {level:g} | {epochs_to_reach(scratch, level) or '-'} | {epochs_to_reach(tuned, level) or '-'} |"
          for level in levels),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=zoo.list_models())
    parser.add_argument("--data", default="fashion_mnist")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("-n", type=int, default=2000, help="images scored per point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, help="train on the first N images only (smoke tests)")
    parser.add_argument("--out", required=True, help="where the figure and tables go")
    parser.add_argument("--runs", default="runs/finetune_curve", help="the two training runs (checkpoints, samples)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    runs = {
        label: curve(args.name, args.data, args.epochs, Path(args.runs) / run, finetune, args.n, args.seed, args.limit)
        for label, run, finetune in (("from scratch", "scratch", False), (f"fine-tuned from {args.name}", "finetune", True))
    }

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for label, points in runs.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    ax.set_xlabel(f"epochs on {args.data}")
    ax.set_ylabel(f"FCD ({args.data} evaluator, N={args.n})")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "curve.png")
    plt.close(fig)

    command = "python scripts/finetune_curve.py " + " ".join(map(shlex.quote, argv if argv is not None else sys.argv[1:]))
    with open(out / "curve.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "epoch", "fcd", "train_seconds"])
        for label, points in runs.items():
            writer.writerows([label, *point] for point in points)
    lines = summary(runs, f"`{command}` ({(time.time() - started) / 60:.1f} min)")
    (out / "curve.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
