"""scripts/rescore_sampling.py: a time-to-quality run's last checkpoint scored at other sampling settings."""

import json

import pytest
from conftest import load_script

from zoo import training


def rescored_lines(out):
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_rescores_the_last_checkpoint_as_the_run_scored_it(tmp_path, capsys):
    load_script("time_to_quality").main(["gan-mnist", "--max-epochs", "1", "--limit", "128", "-n", "300",
                                         "--out", str(tmp_path)])
    (scored,) = json.loads((tmp_path / "quality.json").read_text())["epochs"]
    checkpoint = (tmp_path / training.CHECKPOINT).stat().st_mtime_ns
    capsys.readouterr()
    load_script("rescore_sampling").main([str(tmp_path), "1.0", "1.2:0.7", "1.0:1", "-n", "300"])
    same, wider, every_draw = rescored_lines(capsys.readouterr().out)
    # the run's own setting (gan-mnist: temperature 1, no rejection) gives the run's own score
    assert (same["temperature"], same["rejection_keep"]) == (1.0, None)
    assert same["metrics"] == scored["metrics"] and same["epoch"] == 1
    assert (wider["temperature"], wider["rejection_keep"]) == (1.2, 0.7)
    assert wider["metrics"] != scored["metrics"] and set(wider["metrics"]) == set(scored["metrics"])
    assert every_draw["rejection_keep"] is None and every_draw["metrics"] == scored["metrics"]
    assert (tmp_path / training.CHECKPOINT).stat().st_mtime_ns == checkpoint


@pytest.mark.parametrize("setting", ["0", "1.1:0", "1.1:1.5", "warm"])
def test_a_bad_setting_is_refused(tmp_path, setting, capsys):
    with pytest.raises(SystemExit):
        load_script("rescore_sampling").main([str(tmp_path), setting])
    assert "T[:KEEP]" in capsys.readouterr().err


def test_a_folder_without_a_run_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        load_script("rescore_sampling").main([str(tmp_path), "1.0"])
    assert "holds no time-to-quality run" in capsys.readouterr().err


def test_a_run_without_its_state_is_refused(tmp_path, capsys):
    (tmp_path / "quality.json").write_text(json.dumps({"epochs": [], "references": {}}))
    (tmp_path / training.CHECKPOINT).write_bytes(b"")
    with pytest.raises(SystemExit):
        load_script("rescore_sampling").main([str(tmp_path), "1.0"])
    assert "holds no time-to-quality run" in capsys.readouterr().err
