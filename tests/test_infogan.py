"""InfoGAN: the code layout of the latent vector, `generate(codes=...)` and the info loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.infogan import CATEGORIES, InfoGAN


@pytest.fixture(scope="module")
def model():
    return zoo.load("infogan-mnist", pretrained=False, compile=False, seed=0)


def test_sampled_latent_holds_noise_a_one_hot_category_and_uniform_codes(model):
    latent = model.sample_latent(4000).numpy()
    noise = latent[:, : model.noise_dim]
    category = latent[:, model.noise_dim : model.noise_dim + CATEGORIES]
    continuous = latent[:, model.noise_dim + CATEGORIES :]
    assert abs(noise.std() - 1.0) < 0.05
    np.testing.assert_array_equal(category.sum(axis=1), 1.0)
    counts = category.sum(axis=0)
    assert counts.min() > 300, counts  # about 400 each: the categories are drawn uniformly
    assert continuous.shape == (4000, 2) and -1 <= continuous.min() and continuous.max() <= 1
    assert abs(continuous.mean()) < 0.05 and abs(continuous.std() - 1 / np.sqrt(3)) < 0.03  # uniform on [-1, 1]


def test_generate_with_codes_fixes_them_and_draws_the_rest(model):
    rng = np.random.default_rng(3)
    latent = model.compose_latent(rng, 6, {"category": 7, "continuous": [0.5, -0.5]})
    assert (latent[:, model.noise_dim + 7] == 1).all() and latent[:, model.noise_dim : model.noise_dim + 10].sum() == 6
    np.testing.assert_allclose(latent[:, -2:], [[0.5, -0.5]] * 6)
    images = model.generate(6, codes={"category": 7, "continuous": [0.5, -0.5]}, seed=3)
    np.testing.assert_allclose(images, model.generate(latent=latent), atol=1e-6)
    per_image = model.generate(3, codes={"category": [0, 1, 2]}, seed=0)
    assert per_image.shape == (3, 28, 28, 1)
    assert not np.allclose(model.generate(2, codes={"category": 1}, seed=0), model.generate(2, codes={"category": 2}, seed=0))


def test_temperature_scales_the_noise_and_keeps_the_codes():
    model = zoo.load("infogan-mnist", pretrained=False, compile=False, seed=0, temperature=1.0)
    plain = model.compose_latent(np.random.default_rng(4), 50, {})
    model.temperature = 1.5
    warm = model.compose_latent(np.random.default_rng(4), 50, {})
    np.testing.assert_allclose(warm[:, : model.noise_dim], 1.5 * plain[:, : model.noise_dim], rtol=1e-6)
    np.testing.assert_array_equal(warm[:, model.noise_dim :], plain[:, model.noise_dim :])


@pytest.mark.parametrize("codes, message", [
    ({"category": 10}, "0-9"),
    ({"category": [1, 2]}, "one per image"),
    ({"continuous": [np.nan, 0]}, "finite"),
    ({"style": 1}, "keys"),
    ([1, 2], "dict"),
])
def test_bad_codes_are_refused(model, codes, message):
    with pytest.raises(ValueError, match=message):
        model.generate(3, codes=codes)


def test_codes_and_latent_together_are_refused(model):
    with pytest.raises(ValueError, match="not both"):
        model.generate(2, codes={"category": 1}, latent=np.zeros((2, model.latent_dim)))


def test_info_loss_is_small_when_q_recovers_the_codes(model):
    latent = model.sample_latent(32)
    category = latent[:, model.noise_dim : model.noise_dim + CATEGORIES]
    continuous = latent[:, model.noise_dim + CATEGORIES :]
    assert float(model.info_loss(latent, category * 50.0, continuous)) < 1e-6
    wrong = float(model.info_loss(latent, tf.roll(category, 1, axis=1) * 50.0, continuous + 1.0))
    assert wrong > 10.0


def test_continuous_weight_scales_only_the_continuous_codes_loss():
    heavy, light = (zoo.load("infogan-mnist", pretrained=False, compile=False, continuous_weight=weight)
                    for weight in (1.0, 0.1))
    latent = heavy.sample_latent(32)
    category = latent[:, heavy.noise_dim : heavy.noise_dim + CATEGORIES]
    continuous = latent[:, heavy.noise_dim + CATEGORIES :]
    # Right category, each continuous code off by 1: the continuous part alone, 0.5 * 2 per image.
    assert float(heavy.info_loss(latent, category * 50.0, continuous + 1.0)) == pytest.approx(1.0, rel=1e-4)
    assert float(light.info_loss(latent, category * 50.0, continuous + 1.0)) == pytest.approx(0.1, rel=1e-4)
    # Wrong category, right continuous codes: both weigh the categorical part alike.
    wrong_category = tf.roll(category, 1, axis=1) * 50.0
    assert float(light.info_loss(latent, wrong_category, continuous)) == pytest.approx(
        float(heavy.info_loss(latent, wrong_category, continuous)), rel=1e-4)


def test_fit_logs_the_info_loss_and_the_d_step_teaches_q_the_codes(mnist_batch):
    model = zoo.load("infogan-mnist", pretrained=False, compile=False, seed=0)
    model.compile(d_optimizer=keras.optimizers.Adam(2e-3))  # fast enough to see Q learn in a few steps
    history = model.fit(mnist_batch[0], batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "info_loss"}
    latent = model.sample_latent(256)
    fake = model.generator(latent, training=True)  # batch statistics, as the fakes D trains on

    def info_loss():
        _, category_logits, continuous = model.discriminator(fake, training=False)
        return float(model.info_loss(latent, category_logits, continuous))

    before = info_loss()
    for _ in range(80):
        model.discriminator_step(tf.constant(mnist_batch[0]), None)
    after = info_loss()
    assert after < before - 0.3, (before, after)


@pytest.mark.parametrize("kwargs, message", [
    ({"latent_dim": 12}, "exceed"),
    ({"prior": "uniform"}, "normal"),
    ({"info_weight": 0}, "info_weight"),
    ({"continuous_weight": -1}, "continuous_weight"),
    ({"loss": "wasserstein", "gradient_penalty": 10.0}, "no gradient penalty"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InfoGAN(**kwargs)


def test_code_grid_has_a_row_per_category(model, tmp_path):
    from zoo.infogan import save_code_grid

    assert save_code_grid(model, tmp_path / "codes.png", continuous_index=1, steps=5).stat().st_size > 5000
    with pytest.raises(ValueError, match="continuous_index"):
        save_code_grid(model, tmp_path / "codes.png", continuous_index=2)
