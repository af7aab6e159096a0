"""Discriminator rejection sampling: calibration, sampling, saving, refusals."""

import dataclasses

import h5py
import keras
import numpy as np
import pytest

import zoo
from zoo import rejection
from zoo.bigan import BiGAN
from zoo.cgan import ConditionalGAN
from zoo.dcgan import DCGAN
from zoo.gan import VanillaGAN
from zoo.infogan import InfoGAN


@pytest.fixture(scope="module")
def real_images():
    images, _ = zoo.data.load_arrays("mnist", "train")
    return images[:1000, :, :, None].astype("float32") / 255.0


@pytest.fixture(scope="module")
def calibrated(real_images):
    keras.utils.set_random_seed(0)
    model = DCGAN(filters=8, generator_filters=8, latent_dim=8, seed=0)
    model.calibrate_rejection(real_images, keep=0.5)
    return model


def test_the_sampler_tells_real_images_from_an_untrained_generator(calibrated):
    test_images, _ = zoo.data.load_arrays("mnist", "test")
    features = rejection.features_of(calibrated, test_images[:500, :, :, None].astype("float32") / 255.0)
    assert calibrated.rejection.accepts(features).mean() > 0.95  # held-out real digits pass

    with rejection.sampling_plainly(calibrated):
        draws = calibrated.generate(2000, seed=7)
    kept_share = calibrated.rejection.accepts(rejection.features_of(calibrated, draws)).mean()
    assert abs(kept_share - 0.5) < 0.08  # the threshold keeps the share it was set to on new draws


def test_an_image_passes_when_its_score_reaches_its_strata_threshold(calibrated):
    test_images, _ = zoo.data.load_arrays("mnist", "test")
    with rejection.sampling_plainly(calibrated):
        draws = calibrated.generate(500, seed=11)
    images = np.concatenate([test_images[:500, :, :, None].astype("float32") / 255.0, draws])
    features = rejection.features_of(calibrated, images)  # real digits fall in many strata
    # a threshold of its own for each stratum, spread over the scores
    strata = len(calibrated.rejection.thresholds)
    spread = np.quantile(calibrated.rejection.logits(features), np.linspace(0.1, 0.9, strata))
    sampler = dataclasses.replace(calibrated.rejection, thresholds=np.random.default_rng(0).permutation(spread))
    strata_of = sampler.strata_of(features)
    assert len(set(strata_of.tolist())) > 1
    expected = sampler.logits(features) >= sampler.thresholds[strata_of]
    assert 0.2 < expected.mean() < 0.8  # both outcomes occur
    np.testing.assert_array_equal(sampler.accepts(features), expected)


def test_generate_returns_only_kept_draws_whatever_the_batch_size(calibrated):
    images = calibrated.generate(300, seed=3)
    assert images.shape == (300, 28, 28, 1)
    assert calibrated.rejection.accepts(rejection.features_of(calibrated, images)).all()
    np.testing.assert_array_equal(calibrated.generate(300, seed=3, batch_size=64), images)
    assert not np.array_equal(calibrated.generate(300, seed=4), images)


def test_explicit_latents_are_used_as_given(calibrated):
    latent = np.random.default_rng(0).standard_normal((20, 8)).astype("float32")
    with rejection.sampling_plainly(calibrated):
        plain = calibrated.generate(latent=latent)
    np.testing.assert_array_equal(calibrated.generate(latent=latent), plain)


def test_the_sampler_is_saved_with_the_weights_and_in_keras_files(calibrated, tmp_path):
    expected = calibrated.generate(50, seed=1)
    calibrated.save_weights(tmp_path / "m.weights.h5")
    reloaded = DCGAN(filters=8, generator_filters=8, latent_dim=8, seed=0)
    assert reloaded.rejection is None
    reloaded.load_weights(tmp_path / "m.weights.h5")
    assert reloaded.rejection.keep == 0.5
    np.testing.assert_array_equal(reloaded.generate(50, seed=1), expected)

    calibrated.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.generate(50, seed=1), expected)

    loaded.rejection = None  # turned off: nothing saved, nothing restored
    loaded.save_weights(tmp_path / "off.weights.h5")
    reloaded.load_weights(tmp_path / "off.weights.h5")
    assert reloaded.rejection is None


def test_training_turns_the_sampler_off(real_images):
    model = DCGAN(filters=8, generator_filters=8, latent_dim=8, seed=0)
    model.calibrate_rejection(real_images, keep=0.8)
    model.compile()
    with pytest.warns(UserWarning, match="calibrate_rejection again"):
        model.fit(real_images[:64] * 2 - 1, batch_size=32, epochs=1, verbose=0)
    assert model.rejection is None


def test_a_sampler_that_keeps_nothing_fails_instead_of_hanging(calibrated):
    sampler = calibrated.rejection
    calibrated.rejection = dataclasses.replace(sampler, thresholds=np.full_like(sampler.thresholds, np.inf))
    try:
        with pytest.raises(RuntimeError, match="kept 0 of"):
            calibrated.generate(2, seed=0)
    finally:
        calibrated.rejection = sampler


@pytest.mark.parametrize(
    "model, keep, count, message",
    [
        (lambda: ConditionalGAN(), 0.8, 1000, "conditional"),
        (lambda: InfoGAN(), 0.8, 1000, "returns more than one logit"),
        (lambda: DCGAN(filters=8, minibatch_stddev=True), 0.8, 1000, "minibatch_stddev"),
        (lambda: DCGAN(filters=8), 1.0, 1000, "keep must be a fraction"),
        (lambda: DCGAN(filters=8), 0, 1000, "keep must be a fraction"),
        (lambda: DCGAN(filters=8), True, 1000, "keep must be a fraction"),
        (lambda: DCGAN(filters=8), 0.8, 999, "at least 1,000"),
    ],
)
def test_bad_calibrations_are_refused(real_images, model, keep, count, message):
    with pytest.raises(ValueError, match=message):
        model().calibrate_rejection(real_images[:count], keep=keep)


def test_a_d_whose_minibatch_stddev_comes_last_rejects_by_the_features_of_each_image_alone(real_images):
    """gan-mnist's D appends the batch's spread right before its Dense(1): the sampler scores the
    features before it, so an image's score is the same in any batch."""
    keras.utils.set_random_seed(0)
    model = VanillaGAN(generator_widths=(32,), discriminator_widths=(32, 16), minibatch_stddev=True, latent_dim=8, seed=0)
    assert rejection.check_supported(model).output.shape[-1] == 16  # not 17: the stddev channel is left out
    model.calibrate_rejection(real_images, keep=0.5)
    alone = rejection.features_of(model, real_images[:1])
    in_batch = rejection.features_of(model, real_images[:200])[:1]
    np.testing.assert_allclose(alone, in_batch, rtol=1e-5, atol=1e-6)
    assert model.generate(50, seed=0).shape == (50, 28, 28, 1)
    with rejection.sampling_plainly(model):
        draws = model.generate(2000, seed=7)
    assert abs(model.rejection.accepts(rejection.features_of(model, draws)).mean() - 0.5) < 0.08


def test_a_bigan_with_unary_scores_rejects_by_its_image_alone_score(real_images):
    """BigBiGAN's D scores an image alone: its features are the ones that score feeds on, so the
    sampler works as for a D of one input; the latent input plays no part."""
    keras.utils.set_random_seed(0)
    model = BiGAN(latent_dim=8, widths=(64,), discriminator_widths=(64,), seed=0, unary_scores=True)
    features = rejection.features_of(model, real_images[:20])
    image_head = model.discriminator.get_layer("image_score")
    for latent in (np.zeros((20, 8), "float32"), np.ones((20, 8), "float32")):
        scores = model.discriminator([real_images[:20] * 2.0 - 1.0, latent], training=False).numpy()[:, 0]
        np.testing.assert_allclose(features @ image_head.kernel.numpy()[:, 0] + image_head.bias.numpy()[0], scores, atol=1e-5)
    model.calibrate_rejection(real_images, keep=0.5)
    images = model.generate(50, seed=0)
    assert model.rejection.accepts(rejection.features_of(model, images)).all()


@pytest.mark.parametrize("refine_latents", [False, True])
def test_a_bigan_rejects_by_the_score_of_each_sample_and_its_latent(real_images, refine_latents):
    """BiGAN's D scores (image, latent) pairs: the sampler is fit on real pairs (x, E(x)) against
    G's (G(z), z), and a draw's features depend on the latent it was drawn from (with
    `refine_latents`, the refined one: `_draw_latent` returns it)."""
    keras.utils.set_random_seed(0)
    model = BiGAN(latent_dim=8, widths=(64,), discriminator_widths=(64,), seed=0, refine_latents=refine_latents)
    latent = np.random.default_rng(0).standard_normal((20, 8)).astype("float32")
    images = model.generate(latent=latent)
    with_latent = rejection.features_of(model, images, latent)
    assert np.abs(with_latent - rejection.features_of(model, images, latent + 1.0)).max() > 1e-3
    np.testing.assert_allclose(rejection.features_of(model, images), rejection.features_of(model, images, model.encode(images)))
    model.calibrate_rejection(real_images, keep=0.5)
    kept = model.generate(30, seed=3, batch_size=100)
    drawn_latent = model._draw_latent(np.random.default_rng(3), 100)  # generate's first draw of 100
    with rejection.sampling_plainly(model):
        drawn = model.generate(latent=drawn_latent)
    by_own_latent = model.rejection.accepts(rejection.features_of(model, drawn, drawn_latent))
    by_encoding = model.rejection.accepts(rejection.features_of(model, drawn))
    assert 30 <= by_own_latent.sum() < 100 and np.any(by_own_latent != by_encoding)
    np.testing.assert_array_equal(kept, drawn[by_own_latent][:30])
    with pytest.raises(ValueError, match="latent must have shape"):
        rejection.features_of(model, drawn, drawn_latent[:10])


@pytest.mark.parametrize("strata", [0, 101, 2.0, True, None])
def test_bad_strata_are_refused(real_images, strata):
    with pytest.raises(ValueError, match="strata must be an integer from 1 to 100"):
        DCGAN(filters=8).calibrate_rejection(real_images, strata=strata)


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(0)
    true_centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.concatenate([c + rng.standard_normal((200, 2)) for c in true_centers])
    centers = rejection.kmeans(points, 3, seed=0)
    found = rejection.nearest_center(true_centers, centers)
    assert sorted(found) == [0, 1, 2]
    np.testing.assert_allclose(centers[found], true_centers, atol=0.3)
    np.testing.assert_array_equal(rejection.nearest_center(points, centers), np.repeat(found, 200))


def test_every_stratum_keeps_its_share_of_draws():
    """Stratum 0's draws all score above stratum 1's: one threshold would keep all of stratum 0
    and hardly any of stratum 1; per stratum, each keeps the share asked for."""
    rng = np.random.default_rng(0)
    logits = np.concatenate([rng.normal(5.0, 1.0, 3000), rng.normal(-5.0, 1.0, 1000)])
    strata = np.repeat([0, 1], [3000, 1000])
    thresholds = rejection.stratum_thresholds(logits, strata, 3, keep=0.6)
    kept = logits >= thresholds[strata]
    assert abs(kept[strata == 0].mean() - 0.6) < 0.01 and abs(kept[strata == 1].mean() - 0.6) < 0.01
    assert thresholds[2] == np.quantile(logits, 0.4)  # no draws: the overall threshold
    assert np.quantile(logits, 0.4) > logits[strata == 1].max()  # which alone keeps none of stratum 1


def test_generated_draws_keep_their_mix_of_strata(calibrated):
    """Rejection changes which draws of each stratum come out, not how many of each. An untrained
    G draws into one cluster of real images, so the strata here are clusters of G's own draws."""
    sampler = calibrated.rejection
    with rejection.sampling_plainly(calibrated):
        features = rejection.features_of(calibrated, calibrated.generate(4000, seed=5))
    centers = rejection.kmeans(sampler.standardize(features), 3, seed=0)
    strata = rejection.nearest_center(sampler.standardize(features), centers)
    calibrated.rejection = dataclasses.replace(
        sampler, centers=centers, thresholds=rejection.stratum_thresholds(sampler.logits(features), strata, 3, 0.5))
    try:
        plain = np.bincount(strata, minlength=3) / 4000
        kept = np.bincount(calibrated.rejection.strata_of(
            rejection.features_of(calibrated, calibrated.generate(4000, seed=6))), minlength=3) / 4000
        one_threshold = np.bincount(strata[sampler.logits(features) >= np.quantile(sampler.logits(features), 0.5)],
                                    minlength=3) / 2000
    finally:
        calibrated.rejection = sampler
    assert np.count_nonzero(plain >= 0.1) >= 2, "the test needs draws in two strata at least"
    np.testing.assert_allclose(kept, plain, atol=0.03)
    assert np.abs(one_threshold - plain).max() > 0.05, "one threshold would have changed the mix"


def test_a_sampler_saved_before_strata_loads_as_one_stratum(calibrated, real_images, tmp_path):
    """Weights files written with one `threshold` (no strata) still load, as one stratum."""
    sampler = calibrated.rejection
    path = tmp_path / "old.weights.h5"
    calibrated.save_weights(path)
    with h5py.File(path, "r+") as weights:
        store = next(group for group in weights.values() if isinstance(group, h5py.Group) and "rejection_keep" in group)
        for key in ("rejection_centers", "rejection_thresholds"):
            del store[key]
        store["rejection_threshold"] = np.array([1.5], "float64")
    reloaded = DCGAN(filters=8, generator_filters=8, latent_dim=8, seed=0)
    reloaded.load_weights(path)
    assert reloaded.rejection.thresholds.tolist() == [1.5]
    features = rejection.features_of(reloaded, real_images[:200])
    np.testing.assert_array_equal(reloaded.rejection.accepts(features), sampler.logits(features) >= 1.5)


def test_bad_real_images_are_refused():
    with pytest.raises(ValueError, match="real_images float values must lie in"):
        DCGAN(filters=8).calibrate_rejection(np.full((1000, 28, 28), 2.0, "float32"))
