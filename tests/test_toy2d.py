"""The 2-D teaching model: ring data, scoring, the update rules, pictures, training and the CLI."""

import json

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.cli import main
from zoo.toy2d import MODES, RADIUS, STD, Toy2DGAN, ring_centres, ring_points, score_points


@pytest.fixture
def model():
    model = zoo.load("gan-toy2d", pretrained=False, seed=0)
    return model


def test_ring_points_lie_on_the_ring_in_equal_numbers():
    points = ring_points(8000, seed=0)
    assert points.shape == (8000, 2) and points.dtype == np.float32
    radii = np.linalg.norm(points, axis=1)
    assert abs(radii.mean() - RADIUS) < 0.01 and radii.std() < 2 * STD
    nearest = np.linalg.norm(points[:, None] - ring_centres()[None], axis=2).argmin(axis=1)
    assert np.bincount(nearest, minlength=MODES).min() > 900  # about 1000 each
    np.testing.assert_array_equal(points, ring_points(8000, seed=0))


def test_score_points_counts_modes_and_high_quality_samples():
    # A 2-D Gaussian puts 1 - exp(-9/2) = 98.9% of its mass within 3 standard deviations.
    assert score_points(ring_points(4000, seed=1)) == {"ring_modes": 8, "high_quality": pytest.approx(1 - np.exp(-4.5), abs=0.005)}
    collapsed = np.repeat(ring_centres()[:1], 1000, axis=0) + 0.01
    assert score_points(collapsed) == {"ring_modes": 1, "high_quality": 1.0}
    between = np.zeros((1000, 2), "float32")  # the centre of the ring: near no mode
    assert score_points(between) == {"ring_modes": 0, "high_quality": 0.0}
    # Half the samples in three modes, half off the ring.
    mixed = np.concatenate([np.repeat(ring_centres()[:3], 100, axis=0), np.full((300, 2), 5.0, "float32")])
    assert score_points(mixed) == {"ring_modes": 3, "high_quality": 0.5}


def test_steps_update_only_their_network(model):
    real = tf.constant(ring_points(64, seed=0))
    g_before = [w.numpy() for w in model.generator.weights]
    d_before = [w.numpy() for w in model.discriminator.weights]
    model.discriminator_step(real, None)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(g_before, model.generator.weights))
    assert all(not np.array_equal(a, w.numpy()) for a, w in zip(d_before, model.discriminator.weights))
    d_before = [w.numpy() for w in model.discriminator.weights]
    model.generator_step(real, None)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(d_before, model.discriminator.weights))
    assert all(not np.array_equal(a, w.numpy()) for a, w in zip(g_before, model.generator.weights))


def test_fit_moves_generated_points_towards_the_ring():
    model = zoo.load("gan-toy2d", pretrained=False, seed=0, ema_decay=0.0)  # G itself, not its slow average
    before = np.linalg.norm(model.generate(500, seed=0), axis=1)
    model.fit(model.training_data(batch_size=128, seed=0, limit=4096), epochs=6, verbose=0)
    after = np.linalg.norm(model.generate(500, seed=0), axis=1)
    assert np.abs(after - RADIUS).mean() < 0.6 * np.abs(before - RADIUS).mean()


def test_generate_points_and_bad_input(model):
    points = model.generate(7, seed=3)
    assert points.shape == (7, 2) and points.dtype == np.float32
    np.testing.assert_array_equal(points, model.generate(7, seed=3))
    with pytest.raises(ValueError, match=r"points \(N, 2\)"):
        model.fit(np.zeros((8, 28, 28), "float32"), verbose=0)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.full((8, 2), np.nan, "float32"), verbose=0)
    with pytest.raises(ValueError, match="ring8"):
        model.training_data("mnist")
    with pytest.raises(ValueError, match="walk animates images"):
        zoo.save_walk(model, "walk.gif")


def test_gradient_penalty_works_on_points():
    model = Toy2DGAN(loss="wasserstein", gradient_penalty=0.1, critic_steps=2, seed=0)
    model.compile()
    history = model.fit(ring_points(512, seed=0), batch_size=64, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])


def test_training_writes_a_picture_per_epoch_and_resumes(tmp_path):
    from zoo.training import train

    _, state = train("gan-toy2d", epochs=1, out_dir=tmp_path, limit=1024, verbose=0)
    model, state = train("gan-toy2d", epochs=2, out_dir=tmp_path, limit=1024, verbose=0)
    assert state["epochs_done"] == 2 and isinstance(model, Toy2DGAN)
    pictures = sorted((tmp_path / "samples").glob("epoch_*.png"))
    assert [p.name for p in pictures] == ["epoch_001.png", "epoch_002.png"]
    assert all(p.stat().st_size > 10_000 for p in pictures)
    assert (tmp_path / "progress.gif").is_file()
    plane = model.discriminator_plane(steps=9)
    assert plane.shape == (9, 9) and 0 <= plane.min() and plane.max() <= 1


def test_cli_generate_draws_a_scatter_plot_or_saves_points(tmp_path, capsys):
    assert main(["generate", "gan-toy2d", "-n", "300", "--out", str(tmp_path / "ring.png")]) == 0
    assert (tmp_path / "ring.png").stat().st_size > 10_000
    assert main(["generate", "gan-toy2d", "-n", "50", "--seed", "1", "--out", str(tmp_path / "ring.npz")]) == 0
    points = np.load(tmp_path / "ring.npz")["points"]
    np.testing.assert_array_equal(points, zoo.load("gan-toy2d").generate(50, seed=1))
    assert main(["generate", "gan-toy2d", "-n", str(10**15), "--out", str(tmp_path / "huge.png")]) == 2
    assert main(["evaluate", "gan-toy2d", "-n", "2000"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 2)[-1])["ring_modes"] == 8


def test_benchmark_scores_the_ring_model(tmp_path):
    rows = zoo.benchmark(["gan-toy2d"], tmp_path, n=2000, verbose=0)
    by_name = {row["model"]: row for row in rows}
    assert by_name["real ring (sampled)"]["ring_modes"] == 8
    assert 0 <= by_name["gan-toy2d"]["ring_modes"] <= 8 and by_name["gan-toy2d"]["g_params"] > 0
    assert "Ring of 8 Gaussians" in (tmp_path / "results.md").read_text()
