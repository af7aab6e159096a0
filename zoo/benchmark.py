"""Every variant side by side in one run: quality metrics, sizes and speed.

`benchmark(names, out_dir)` (and `zoo bench`) writes `results.md`, `results.csv`
and `samples.png` (a row of samples per variant) into `out_dir`. Reference rows
measured in the same run frame the numbers: real training images (the floor),
real images blurred with a 3x3 box filter, uniform noise, and the seed recipe
(the classic Keras loop, see `zoo.baseline`).
"""

import csv
import json
import time
from pathlib import Path

import keras
import numpy as np

from zoo import metrics
from zoo._registry import list_models, load, metadata_path
from zoo.plotting import save_grid

COLUMNS = [
    ("model", "model", "{}"),
    ("fcd", "FCD ↓", "{:.2f}"),
    ("classifier_score", "score ↑", "{:.2f}"),
    ("modes_covered", "modes", "{}"),
    ("label_kl", "label KL ↓", "{:.3f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("class_accuracy", "class acc.", "{:.3f}"),
    ("encoder_probe_linear", "probe (linear)", "{:.3f}"),
    ("reconstruction_class_kept", "recon. class", "{:.3f}"),
    ("g_params", "G params", "{:,}"),
    ("d_params", "D params", "{:,}"),
    ("images_per_second", "generate img/s", "{:,.0f}"),
    ("train_step_ms", "train ms/step (b64)", "{:.1f}"),
]


def train_step_ms(model, batch_size=64, steps=30):
    """Milliseconds per compiled training step at `batch_size`, after a warm-up."""
    model = model.__class__.from_config(model.get_config())
    model.compile()
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch_size * steps, 28, 28, 1)).astype("float32")
    labels = rng.integers(0, 10, batch_size * steps).astype("int32")
    model.fit(images[: batch_size * 3], labels[: batch_size * 3], batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(images, labels, batch_size=batch_size, verbose=0)
    return (time.perf_counter() - start) / steps * 1000


def measure_model(model, n, seed, reference, timing=True):
    start = time.perf_counter()
    images, labels = metrics.generate_for_scoring(model, n, seed)
    seconds = time.perf_counter() - start
    row = {"model": model.name, **metrics.score_model(model, images, labels, reference)}
    counts = model.parameter_counts()
    row.update(g_params=counts["generator"], d_params=counts["discriminator"], images_per_second=n / seconds)
    if timing:
        row["train_step_ms"] = train_step_ms(model)
    return row, images


def reference_rows(real, n, seed):
    """Real, blurred-real and uniform-noise rows, scored like the models."""
    images, labels = real
    noise = np.random.default_rng(seed).uniform(0, 1, images.shape).astype("float32")
    # Another sample as the reference: real images against themselves would score a trivial 1.0.
    reference = metrics.RealReference(metrics.real_images(n, seed=seed + 1)[0])
    return [
        {"model": "real MNIST (train)", **metrics.score_images(images, labels, reference)},
        {"model": "blurred real (3x3 box)", **metrics.score_images(metrics.box_blur(images), labels, reference)},
        {"model": "uniform noise", **metrics.score_images(noise, None, reference)},
    ]


def benchmark(names=None, out_dir=None, n=10_000, seed=0, references=True, baseline=True, timing=True, verbose=1):
    """Score `names` (default: every registered model) and the reference rows; returns the rows."""
    from zoo.baseline import load_baseline

    names = list(names or list_models())
    real = metrics.real_images(n, seed=seed)
    tasks = len(names) + (1 if references else 0) + (1 if baseline else 0)
    progress = keras.utils.Progbar(tasks, verbose=verbose, unit_name="row")
    rows, samples = [], []
    reference = metrics.RealReference(real[0])
    if references:
        rows += reference_rows(real, n, seed)
        progress.add(1)
    models = [(name, lambda name=name: load(name, compile=False)) for name in names]
    if baseline:
        models.append(("baseline (classic Keras loop)", load_baseline))
    for label, make in models:
        model = make()
        row, images = measure_model(model, n, seed, reference, timing=timing and label in names)
        row["model"] = label
        rows.append(row)
        samples.append((label, images[:10]))  # conditional models: the digits 0-9
        progress.add(1)
    if out_dir is not None:
        write_results(rows, samples, Path(out_dir), n)
    return rows


QUALITY_KEYS = [key for key, _, _ in COLUMNS[1:10]] + ["classifier_score_std", "encoder_probe_1nn"]


def _rounded(value):
    return int(value) if isinstance(value, (int, np.integer)) else round(float(value), 4)


def record_metrics(rows, command):
    """Write each registered model's measured quality into its weights metadata."""
    for row in rows:
        path = metadata_path(row["model"]) if row["model"] in list_models() else None
        if path is None:
            continue
        meta = json.loads(path.read_text())
        meta["metrics"] = {k: _rounded(row[k]) for k in QUALITY_KEYS if k in row}
        meta["metrics"]["command"] = command
        path.write_text(json.dumps(meta, indent=2) + "\n")


def markdown_table(rows):
    present = [c for c in COLUMNS if any(c[0] in row for row in rows)]
    lines = ["| " + " | ".join(title for _, title, _ in present) + " |", "|" + "---|" * len(present)]
    for row in rows:
        cells = [fmt.format(row[key]) if key in row else "" for key, _, fmt in present]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_results(rows, samples, out_dir, n):
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = [key for key, _, _ in COLUMNS] + sorted({k for row in rows for k in row} - {k for k, _, _ in COLUMNS})
    with open(out_dir / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "results.md").write_text(
        f"N = {n:,} generated images per model, seed 0; metrics in the feature space of the zoo's "
        "MNIST evaluator (`zoo.evaluator`).\n\n" + markdown_table(rows) + "\n"
    )
    if samples:
        save_grid(np.concatenate([images for _, images in samples]), out_dir / "samples.png", columns=10,
                  row_labels=[label for label, _ in samples])
