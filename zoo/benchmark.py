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
from zoo._registry import get_entry, list_models, load, metadata_path
from zoo.plotting import save_grid
from zoo.toy2d import RING, ring_points, score_points

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
    ("code_match_error", "code error", "{:.3f}"),
    ("ring_modes", "modes of 8", "{}"),
    ("high_quality", "high quality", "{:.3f}"),
    ("temperature", "temp.", "{:.1f}"),
    ("bar", "quality bar", "{}"),
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


def measure_model(model, n, seed, reference, timing=True, dataset="mnist"):
    start = time.perf_counter()
    images, labels = metrics.generate_for_scoring(model, n, seed)
    seconds = time.perf_counter() - start
    row = {"model": model.name, **metrics.score_model(model, images, labels, reference, dataset)}
    if hasattr(model, "temperature"):
        row["temperature"] = model.temperature
    counts = model.parameter_counts()
    row.update(g_params=counts["generator"], d_params=counts["discriminator"], images_per_second=n / seconds)
    if timing:
        row["train_step_ms"] = train_step_ms(model)
    return row, images


DATASET_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", RING: "Ring of 8 Gaussians (2-D)"}


def point_rows(names, n, seed, references=True):
    """Rows of the 2-D models: modes covered out of 8 and the share of high-quality samples."""
    rows = [{"model": "real ring (sampled)", **score_points(ring_points(n, seed))}] if references else []
    for name in names:
        model = load(name, compile=False)
        start = time.perf_counter()
        points = model.generate(n, seed=seed)
        seconds = time.perf_counter() - start
        counts = model.parameter_counts()
        rows.append({
            "model": name, **score_points(points),
            "g_params": counts["generator"], "d_params": counts["discriminator"], "images_per_second": n / seconds,
        })
    return rows


def reference_rows(real, n, seed, dataset="mnist"):
    """Real, blurred-real and uniform-noise rows, scored like the models."""
    images, labels = real
    noise = np.random.default_rng(seed).uniform(0, 1, images.shape).astype("float32")
    # Another sample as the reference: real images against themselves would score a trivial 1.0.
    reference = metrics.RealReference(metrics.real_images(n, dataset, seed=seed + 1)[0], dataset)
    title = DATASET_TITLES.get(dataset, dataset)
    return [
        {"model": f"real {title} (train)", **metrics.score_images(images, labels, reference, dataset)},
        {"model": "blurred real (3x3 box)", **metrics.score_images(metrics.box_blur(images), labels, reference, dataset)},
        {"model": "uniform noise", **metrics.score_images(noise, None, reference, dataset)},
    ]


def benchmark(names=None, out_dir=None, n=10_000, seed=0, references=True, baseline=True, timing=True, verbose=1):
    """Score `names` (default: every registered model) and the reference rows; returns the rows.

    Models are scored against the data set they were registered for, with that data
    set's evaluator and reference rows; the seed-recipe baseline row is an MNIST one.
    Each row says its data set under "dataset".
    """
    from zoo.baseline import load_baseline

    names = list(names or list_models())
    datasets = list(dict.fromkeys(get_entry(name).dataset for name in names))
    baseline = baseline and "mnist" in datasets
    tasks = len(names) + (len(datasets) if references else 0) + (1 if baseline else 0)
    progress = keras.utils.Progbar(tasks, verbose=verbose, unit_name="row")
    rows, samples = [], []
    for dataset in datasets:
        if dataset == RING:  # 2-D points: no evaluator, scored against the ring's modes
            group = point_rows([name for name in names if get_entry(name).dataset == RING], n, seed, references)
            progress.add(len(group))
            rows += [{**row, "dataset": dataset} for row in group]
            continue
        real = metrics.real_images(n, dataset, seed=seed)
        reference = metrics.RealReference(real[0], dataset)
        group = []
        if references:
            group += reference_rows(real, n, seed, dataset)
            progress.add(1)
        models = [
            (name, lambda name=name: load(name, compile=False)) for name in names if get_entry(name).dataset == dataset
        ]
        if baseline and dataset == "mnist":
            models.append(("baseline (classic Keras loop)", load_baseline))
        for label, make in models:
            model = make()
            row, images = measure_model(model, n, seed, reference, timing=timing and label in names, dataset=dataset)
            row["model"] = label
            group.append(row)
            samples.append((label, images[:10]))  # conditional models: the classes 0-9
            progress.add(1)
        if dataset == "mnist" and references and baseline:
            mark_quality_bar(group, names)
        rows += [{**row, "dataset": dataset} for row in group]
    if out_dir is not None:
        write_results(rows, samples, Path(out_dir), n)
    return rows


def mark_quality_bar(rows, names):
    """Set "bar" on the rows of `names`: "clears", or the metrics that miss the zoo's MNIST
    quality bar, judged against the blurred-real and baseline rows among `rows`."""
    by_label = {row["model"]: row for row in rows}
    references = {"blurred_fcd": by_label["blurred real (3x3 box)"]["fcd"],
                  "baseline_fcd": by_label["baseline (classic Keras loop)"]["fcd"]}
    titles = {key: title.rstrip(" ↓↑") for key, title, _ in COLUMNS}
    for row in rows:
        if row["model"] in names:
            misses = metrics.quality_bar_misses(row, **references)
            row["bar"] = "misses " + ", ".join(dict.fromkeys(titles.get(m.split()[0], m.split()[0]) for m in misses)) if misses else "clears"


QUALITY_KEYS = [key for key, _, _ in COLUMNS[1:13]] + ["classifier_score_std", "encoder_probe_1nn"]


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
        if "bar" in row:
            meta["metrics"]["quality_bar"] = row["bar"]
        path.write_text(json.dumps(meta, indent=2) + "\n")


def markdown_table(rows):
    present = [c for c in COLUMNS if any(c[0] in row for row in rows)]
    lines = ["| " + " | ".join(title for _, title, _ in present) + " |", "|" + "---|" * len(present)]
    for row in rows:
        cells = [fmt.format(row[key]) if key in row else "" for key, _, fmt in present]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def results_markdown(rows, n):
    """The results as markdown: one table per data set, with its evaluator named."""
    sections = []
    for dataset in dict.fromkeys(row.get("dataset", "mnist") for row in rows):
        title = DATASET_TITLES.get(dataset, dataset)
        table = markdown_table([row for row in rows if row.get("dataset", "mnist") == dataset])
        if dataset == RING:
            about = "Modes covered out of 8 and the share of samples within 3 standard deviations of a mode (`zoo.toy2d`)."
        else:
            about = f"Metrics in the feature space of the zoo's {title} evaluator (`zoo.evaluator`)."
        sections.append(f"### {title}\n\n{about}\n\n{table}\n")
    return f"N = {n:,} generated images per model, seed 0.\n\n" + "\n".join(sections)


def write_results(rows, samples, out_dir, n):
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = [key for key, _, _ in COLUMNS] + sorted({k for row in rows for k in row} - {k for k, _, _ in COLUMNS})
    with open(out_dir / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "results.md").write_text(results_markdown(rows, n))
    if samples:
        save_grid(np.concatenate([images for _, images in samples]), out_dir / "samples.png", columns=10,
                  row_labels=[label for label, _ in samples])
