"""scripts/time_to_quality.py: epoch-by-epoch training scored against the bar, resumable."""

import json
from conftest import load_script


def test_records_each_epoch_and_resumes(tmp_path, capsys):
    script = load_script("time_to_quality")
    argv = ["gan-mnist", "--max-epochs", "1", "--limit", "128", "-n", "300", "--out", str(tmp_path)]
    script.main(argv)
    record = json.loads((tmp_path / "quality.json").read_text())
    assert set(record["references"]) == {"blurred_fcd", "baseline_fcd"}
    (epoch,) = record["epochs"]
    assert epoch["epoch"] == 1 and epoch["train_minutes"] > 0
    # two steps of training are far from the bar: the misses say which parts and by how much
    assert any(miss.startswith("classifier_score") for miss in epoch["misses"])
    assert '"cleared": false' in capsys.readouterr().out
    # a second run reads the record instead of training again
    checkpoint = (tmp_path / "checkpoint.keras").stat().st_mtime_ns
    script.main(argv)
    assert json.loads((tmp_path / "quality.json").read_text())["epochs"] == [epoch]
    assert (tmp_path / "checkpoint.keras").stat().st_mtime_ns == checkpoint
