import json

import pytest

from conftest import load_script

bench_epochs = load_script("bench_epochs")


def test_quick_run_times_both_settings_and_writes_the_report(tmp_path, capsys):
    result = bench_epochs.main(["gan-mnist", "--epochs", "2", "--limit", "640", "--out", str(tmp_path)])
    settings = result["settings"]
    assert list(settings) == list(bench_epochs.SETTINGS)
    for summary in settings.values():
        assert len(summary["seconds"]) == 2 and all(s > 0 for s in summary["seconds"])
        assert summary["mean_after_first"] == summary["seconds"][1]
    off, on = (settings[s]["mean_after_first"] for s in bench_epochs.SETTINGS)
    assert result["ratio_on_over_off"] == pytest.approx(on / off, rel=1e-2)
    written = json.loads((tmp_path / "epochs.json").read_text())
    assert written["ratio_on_over_off"] == result["ratio_on_over_off"]
    report = (tmp_path / "epochs.md").read_text()
    assert f"**{result['ratio_on_over_off']:.2f}x**" in report and "--limit 640" in report
    assert report in capsys.readouterr().out


def test_summary_leaves_the_tracing_epoch_out():
    summary = bench_epochs.summarise([30.0, 10.0, 14.0])
    assert (summary["mean_after_first"], summary["max_after_first"], summary["min_after_first"]) == (12.0, 14.0, 10.0)


def test_one_epoch_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        bench_epochs.main(["gan-mnist", "--epochs", "1", "--out", str(tmp_path)])


def test_arrays_run_times_the_zoo_fit_against_keras_fit(tmp_path):
    result = bench_epochs.main(["cgan-mnist", "--arrays", "--epochs", "2", "--limit", "320", "--out", str(tmp_path)])
    assert list(result["settings"]) == list(bench_epochs.ARRAY_SETTINGS) and result["arrays"] is True
    assert all(len(summary["seconds"]) == 2 for summary in result["settings"].values())
    assert "fit on numpy arrays" in (tmp_path / "epochs.md").read_text()
