"""scripts/select_temperature.py: the distance-minimising temperature, its table and figure."""

import re
from conftest import load_script
from zoo._registry import get_entry


def test_picks_the_temperature_of_least_distance(tmp_path, monkeypatch):
    script = load_script("select_temperature")
    monkeypatch.setattr(script, "TEMPERATURES", (0.5, 1.0, 2.0))
    script.main(["gan-mnist", "-n", "300", "--out", str(tmp_path)])
    table = (tmp_path / "temperature.md").read_text()
    rows = re.findall(r"^\| (\d\.\d)( \(chosen\))? \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", table, re.M)
    assert [r[0] for r in rows] == ["0.5", "1.0", "2.0"]
    distances = [float(r[2]) for r in rows]
    assert len(set(distances)) == 3  # the temperature changes the samples
    chosen = [r[0] for r in rows if r[1]]
    assert chosen == [rows[distances.index(min(distances))][0]]
    assert f"### gan-mnist: {chosen[0]}" in table
    # a wider spread trades precision for recall
    precision, recall = [float(r[3]) for r in rows], [float(r[4]) for r in rows]
    assert precision[0] > precision[2] and recall[0] < recall[2]
    assert (tmp_path / "gan-mnist.png").stat().st_size > 10_000


def test_a_rejection_sampler_is_fit_again_at_each_temperature(tmp_path, monkeypatch):
    script = load_script("select_temperature")
    monkeypatch.setattr(script, "TEMPERATURES", (0.5, 2.0))
    monkeypatch.setattr("zoo.rejection.RELEASE_IMAGES", 1000)
    fits = []

    def recorded(model, dataset, keep, strata):
        fits.append((model.temperature, dataset, keep, strata))
        return calibrate_for_release(model, dataset, keep, strata)

    calibrate_for_release = script.calibrate_for_release
    monkeypatch.setattr(script, "calibrate_for_release", recorded)
    monkeypatch.setitem(get_entry("dcgan-mnist").recipe, "rejection_strata", 5)
    script.main(["dcgan-mnist", "gan-mnist", "-n", "300", "--out", str(tmp_path)])
    # dcgan-mnist's recipe keeps 0.8 (in the strata its recipe names); gan-mnist has no sampler
    assert fits == [(0.5, "mnist", 0.8, 5), (2.0, "mnist", 0.8, 5)]
    table = (tmp_path / "temperature.md").read_text()
    assert table.count("sampler fit again") == 1
