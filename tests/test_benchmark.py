import csv
import json

import numpy as np

import zoo
from zoo.baseline import ClassicLoop
from zoo.cli import main


def test_benchmark_writes_table_csv_and_samples(tmp_path):
    rows = zoo.benchmark(["gan-mnist", "cgan-mnist"], tmp_path, n=300, verbose=0)
    names = [row["model"] for row in rows]
    assert names == [
        "real MNIST (train)", "blurred real (3x3 box)", "uniform noise",
        "gan-mnist", "cgan-mnist", "baseline (classic Keras loop)",
    ]
    by_name = {row["model"]: row for row in rows}
    assert by_name["real MNIST (train)"]["fcd"] < by_name["blurred real (3x3 box)"]["fcd"] < by_name["uniform noise"]["fcd"]
    assert "class_accuracy" in by_name["cgan-mnist"] and by_name["gan-mnist"]["g_params"] > 0
    assert by_name["gan-mnist"]["images_per_second"] > 0 and by_name["gan-mnist"]["train_step_ms"] > 0
    # each model row says how it fares against the quality bar, and at which temperature it sampled
    for name in ("gan-mnist", "cgan-mnist"):
        misses = zoo.metrics.quality_bar_misses(
            by_name[name], by_name["blurred real (3x3 box)"]["fcd"], by_name["baseline (classic Keras loop)"]["fcd"])
        assert (by_name[name]["bar"] == "clears") == (not misses)
        assert by_name[name]["bar"] == "clears" or by_name[name]["bar"].startswith("misses ")
    assert by_name["cgan-mnist"]["temperature"] == zoo.load("cgan-mnist", compile=False).temperature
    assert "bar" not in by_name["real MNIST (train)"]
    table = (tmp_path / "results.md").read_text()
    assert "| model | FCD" in table and "| cgan-mnist |" in table and "quality bar" in table
    with open(tmp_path / "results.csv") as f:
        assert [r["model"] for r in csv.DictReader(f)] == names
    assert (tmp_path / "samples.png").stat().st_size > 1000


def test_benchmark_scores_each_model_against_its_own_data_set(tmp_path):
    rows = zoo.benchmark(["dcgan-fashion", "gan-mnist"], tmp_path, n=300, timing=False, verbose=0)
    assert [(row["model"], row["dataset"]) for row in rows] == [
        ("real Fashion-MNIST (train)", "fashion_mnist"), ("blurred real (3x3 box)", "fashion_mnist"),
        ("uniform noise", "fashion_mnist"), ("dcgan-fashion", "fashion_mnist"),
        ("real MNIST (train)", "mnist"), ("blurred real (3x3 box)", "mnist"), ("uniform noise", "mnist"),
        ("gan-mnist", "mnist"), ("baseline (classic Keras loop)", "mnist"),
    ]
    fashion = {row["model"]: row for row in rows[:4]}
    # Real Fashion-MNIST is near the floor of the Fashion-MNIST evaluator; under the MNIST one it would not be.
    assert fashion["real Fashion-MNIST (train)"]["fcd"] < 10
    assert fashion["real Fashion-MNIST (train)"]["fcd"] < fashion["dcgan-fashion"]["fcd"] < fashion["uniform noise"]["fcd"]
    results = (tmp_path / "results.md").read_text()
    assert results.index("### Fashion-MNIST") < results.index("| dcgan-fashion |") < results.index("### MNIST")


def test_cli_bench_and_evaluate(tmp_path, capsys):
    assert main(["bench", "dcgan-mnist", "--out", str(tmp_path), "-n", "200", "--no-baseline", "--no-timing", "--no-references"]) == 0
    assert "| dcgan-mnist |" in capsys.readouterr().out
    model = zoo.load("bigan-mnist")
    model.save(tmp_path / "mine.keras")
    assert main(["evaluate", str(tmp_path / "mine.keras"), "-n", "300"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"fcd", "precision", "recall", "encoder_probe_linear", "reconstruction_class_kept"} <= set(result)
    assert main(["evaluate", str(tmp_path / "missing.keras")]) == 2
    spread = {}
    for temperature in ("1", "2"):
        assert main(["evaluate", "gan-mnist", "-n", "300", "--temperature", temperature]) == 0
        spread[temperature] = json.loads(capsys.readouterr().out)
    assert spread["2"]["recall"] > spread["1"]["recall"] and spread["2"]["precision"] < spread["1"]["precision"]


def test_quality_bar_column_names_the_missed_metrics():
    from zoo.benchmark import mark_quality_bar

    good = {"modes_covered": 10, "label_kl": 0.0, "classifier_score": 9.9, "fcd": 2.0, "precision": 0.8, "recall": 0.8}
    rows = [
        {"model": "blurred real (3x3 box)", "fcd": 50.0},
        {"model": "good", **good},
        {"model": "weak", **good, "fcd": 30.0, "recall": 0.6, "classifier_score": 8.0},
        {"model": "baseline (classic Keras loop)", "fcd": 80.0},
    ]
    mark_quality_bar(rows, ["good", "weak"])
    assert rows[1]["bar"] == "clears"
    assert rows[2]["bar"] == "misses score, FCD, recall"  # FCD misses both of its limits, named once
    assert "bar" not in rows[0] and "bar" not in rows[3]


def test_classic_loop_updates_both_networks():
    loop = ClassicLoop()
    d_before = [w.copy() for w in loop.discriminator.get_weights()]
    g_before = [w.copy() for w in loop.generator.get_weights()]
    loop.step(np.zeros((32, 28, 28, 1), "float32"))
    assert all(not np.array_equal(a, b) for a, b in zip(d_before, loop.discriminator.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(g_before, loop.generator.get_weights()))


def test_literal_recipe_never_updates_d_in_keras_3():
    """Why the baseline toggles `trainable`: frozen once before stacking, D never learns."""
    loop = ClassicLoop()
    loop.discriminator.trainable = False  # the literal recipe: frozen once, never unfrozen
    before = [w.copy() for w in loop.discriminator.get_weights()]
    loop.discriminator.train_on_batch(np.zeros((32, 28, 28, 1), "float32"), loop.ones)
    assert all(np.array_equal(a, b) for a, b in zip(before, loop.discriminator.get_weights()))


def test_record_metrics_writes_metadata(tmp_path, monkeypatch):
    import shutil

    from zoo import _registry
    from zoo.benchmark import record_metrics

    source = _registry.metadata_path("gan-mnist").parent
    for suffix in (".json", ".weights.h5"):
        shutil.copy(source / f"gan-mnist{suffix}", tmp_path)
    monkeypatch.setenv(_registry.WEIGHTS_ENV, str(tmp_path))
    record_metrics([{"model": "gan-mnist", "fcd": 1.23456, "recall": 0.5, "g_params": 7}, {"model": "uniform noise", "fcd": 9.0}], "zoo bench -n 10")
    meta = json.loads((tmp_path / "gan-mnist.json").read_text())
    assert meta["metrics"] == {"fcd": 1.2346, "recall": 0.5, "command": "zoo bench -n 10"}
    assert zoo.load("gan-mnist") is not None  # the sha256 still matches: only the metadata changed
