"""scripts/finetune_curve.py: fine-tuning against training from scratch, scored after every epoch."""

import csv

from conftest import load_script


def test_summary_counts_the_epochs_each_run_needs_per_fcd_level():
    script = load_script("finetune_curve")
    runs = {
        "from scratch": [(0, 250.0, 0.0), (1, 160.0, 1.0), (2, 41.0, 2.0)],
        "fine-tuned": [(0, 180.0, 0.0), (1, 78.0, 1.0), (2, 19.0, 2.0)],
    }
    lines = script.summary(runs, "header")
    assert lines[0] == "header"
    assert "| 2 | 41.00 | 19.00 |" in lines
    levels = {line.split(" | ")[0]: line for line in lines if line.startswith("| ") and "|---" not in line}
    assert levels["| 160"] == "| 160 | 1 | 1 |"  # scratch's 160.0 counts as reaching 160
    assert levels["| 80"] == "| 80 | 2 | 1 |"
    assert levels["| 20"] == "| 20 | - | 2 |"  # never reached from scratch


def test_two_runs_write_the_figure_and_the_tables(tmp_path):
    script = load_script("finetune_curve")
    out = tmp_path / "out"
    script.main(["gan-mnist", "--data", "fashion_mnist", "--epochs", "1", "--limit", "64", "-n", "200",
                 "--out", str(out), "--runs", str(tmp_path / "runs")])
    assert (out / "curve.png").stat().st_size > 0
    with open(out / "curve.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["run"], r["epoch"]) for r in rows] == [
        ("from scratch", "0"), ("from scratch", "1"), ("fine-tuned from gan-mnist", "0"), ("fine-tuned from gan-mnist", "1")]
    scratch_start, tuned_start = float(rows[0]["fcd"]), float(rows[2]["fcd"])
    # MNIST weights already draw strokes: closer to Fashion-MNIST than a random generator's noise
    assert tuned_start < scratch_start
    assert float(rows[1]["train_seconds"]) > 0 and float(rows[0]["train_seconds"]) == 0
    assert (out / "curve.md").read_text().startswith("`python scripts/finetune_curve.py gan-mnist --data fashion_mnist")
    for run in ("scratch", "finetune"):
        assert (tmp_path / "runs" / run / "checkpoint.keras").is_file()
    # a longer rerun goes on from both checkpoints and keeps the points it has
    script.main(["gan-mnist", "--data", "fashion_mnist", "--epochs", "2", "--limit", "64", "-n", "200",
                 "--out", str(out), "--runs", str(tmp_path / "runs")])
    with open(out / "curve.csv") as f:
        longer = list(csv.DictReader(f))
    assert [(r["run"], r["epoch"]) for r in longer] == [
        ("from scratch", "0"), ("from scratch", "1"), ("from scratch", "2"),
        ("fine-tuned from gan-mnist", "0"), ("fine-tuned from gan-mnist", "1"), ("fine-tuned from gan-mnist", "2")]
    assert [longer[i] for i in (0, 1, 3, 4)] == rows
    assert float(longer[2]["train_seconds"]) > float(longer[1]["train_seconds"])
