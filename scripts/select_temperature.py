"""Pick each model's sampling temperature: the spread of the latents `generate` draws.

    python scripts/select_temperature.py [NAME ...] --out docs/temperature

For temperatures 0.8 to 1.5, draws 10,000 samples (latent seed 1) and measures the Fréchet
distance to 10,000 *training* images (sample seed 1) in the evaluator's feature space, plus
precision and recall against those images. The chosen temperature is the one of least distance:
a distribution match, not the published bar, and on data apart from what `zoo bench` reports
(FCD against the test set, precision/recall against training sample seed 0, latent seed 0).
Writes OUT/temperature.md (a table per model) and OUT/NAME.png (precision/recall and distance
against temperature). The chosen values go into the registered constructors by hand.
A model whose recipe samples with rejection (`rejection_keep`) has its sampler fit again at each
temperature, as `scripts/train.py` fits it for release, so each row is what `generate` would draw.
"""

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

import zoo
from zoo.evaluator import load_evaluator
from zoo._registry import get_entry
from zoo.metrics import _kth_neighbour_radii, dataset_of, frechet_distance, generate_for_scoring, precision_recall, real_images
from zoo.rejection import RELEASE_STRATA, calibrate_for_release, release_strata

TEMPERATURES = (0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5)


class Selection:
    """The held-out yardstick of one data set: training images of sample seed 1."""

    def __init__(self, dataset, n):
        self.evaluator = load_evaluator(dataset)
        real = self.evaluator(real_images(n, dataset, seed=1)[0])
        self.mean, self.covariance = real.features.mean(axis=0), np.cov(real.features, rowvar=False)
        self.manifold, self.radii = real.manifold, _kth_neighbour_radii(real.manifold, 3)

    def score(self, images):
        out = self.evaluator(images)
        distance = frechet_distance(out.features.mean(axis=0), np.cov(out.features, rowvar=False), self.mean, self.covariance)
        precision, recall = precision_recall(self.manifold, out.manifold, 3, self.radii)
        return {"distance": distance, "precision": precision, "recall": recall}


def scan(model, selection, n, temperatures=None, keep=None, strata=RELEASE_STRATA):
    """One row per temperature; with `keep`, the rejection sampler is refit at each."""
    rows = []
    for temperature in temperatures or TEMPERATURES:
        model.temperature = temperature
        if keep:
            calibrate_for_release(model, dataset_of(model), keep, strata)
        images, _ = generate_for_scoring(model, n, seed=1)
        rows.append({"temperature": temperature, **selection.score(images)})
        print(f"{model.name} T={temperature:.1f}: " + ", ".join(f"{k} {v:.3f}" for k, v in rows[-1].items() if k != "temperature"), flush=True)
    return rows


def save_figure(name, rows, best, path):
    from zoo.plotting import plt

    t = [r["temperature"] for r in rows]
    fig, left = plt.subplots(figsize=(6, 3.5), dpi=100)
    left.plot(t, [r["precision"] for r in rows], marker="o", label="precision")
    left.plot(t, [r["recall"] for r in rows], marker="o", label="recall")
    left.axhline(0.75, color="gray", linestyle=":", linewidth=1)
    left.set_xlabel("temperature (latent spread)")
    left.set_ylabel("precision / recall")
    right = left.twinx()
    right.plot(t, [r["distance"] for r in rows], color="black", marker="s", label="distance (FCD)")
    right.set_ylabel("Fréchet distance to training images")
    left.axvline(best, color="red", linewidth=1)
    handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    right.legend(handles=handles, loc="lower right", fontsize=8, framealpha=1)
    left.set_title(f"{name}: temperature {best:.1f} chosen (least distance)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="default: every image model")
    parser.add_argument("--out", default="docs/temperature")
    parser.add_argument("-n", type=int, default=10_000)
    args = parser.parse_args(argv)
    names = args.names or [m for m in zoo.list_models() if zoo.load(m, pretrained=False).sample_shape == (28, 28, 1)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python scripts/select_temperature.py", *map(shlex.quote, argv if argv is not None else sys.argv[1:])])
    lines = [f"Command: `{command}`", ""]
    selections = {}
    for name in names:
        model = zoo.load(name, compile=False)
        dataset = dataset_of(model)
        selection = selections.get(dataset) or selections.setdefault(dataset, Selection(dataset, args.n))
        recipe = get_entry(name).recipe
        keep = recipe.get("rejection_keep")
        rows = scan(model, selection, args.n, keep=keep, strata=release_strata(recipe))
        best = min(rows, key=lambda r: r["distance"])["temperature"]
        save_figure(name, rows, best, out / f"{name}.png")
        lines += [f"### {name}: {best:.1f}", ""]
        if keep:
            lines += [f"With rejection sampling (keep {keep}), the sampler fit again at each temperature.", ""]
        lines += ["| temperature | distance | precision | recall |", "|---|---|---|---|"]
        lines += [f"| {r['temperature']:.1f}{' (chosen)' if r['temperature'] == best else ''} | {r['distance']:.2f} | "
                  f"{r['precision']:.3f} | {r['recall']:.3f} |" for r in rows]
        lines.append("")
        (out / "temperature.md").write_text("\n".join(lines))
        print(f"{name}: temperature {best:.1f}", flush=True)


if __name__ == "__main__":
    main()
