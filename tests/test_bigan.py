"""BiGAN's cycle terms: each one pulls its own reconstruction together, and only when asked."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.bigan import BiGAN

TINY = {"latent_dim": 8, "widths": (64,), "discriminator_widths": (64,), "seed": 0}


def reconstruction_errors(model, images):
    """Mean |G(E(x)) - x| on images and mean (E(G(z)) - z)^2 on latents, with the raw networks
    (batch statistics: a few steps leave the moving averages far from them)."""
    encoded = model.encoder(images, training=True)
    image_error = np.abs(model.generator(encoded, training=True).numpy() - images).mean()
    latent = tf.constant(np.random.default_rng(1).standard_normal((64, model.latent_dim)).astype("float32"))
    reencoded = model.encoder(model.generator(latent, training=True), training=True)
    return image_error, float(np.mean(np.square(reencoded.numpy() - latent.numpy())))


def tiny_bigan(**weights):
    keras.utils.set_random_seed(0)  # the same initial networks for every set of weights
    return BiGAN(**TINY, **weights)


def train_tiny(mnist_batch, **weights):
    model = tiny_bigan(**weights)
    # a learning rate 10x the recipe's, so that 128 steps move the networks far enough to compare
    model.compile(g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5), d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    images, labels = mnist_batch
    history = model.fit(np.tile(images, (4, 1, 1, 1)), np.tile(labels, 4), batch_size=32, epochs=16, verbose=0)
    return model, history.history


def test_each_cycle_term_lowers_its_own_reconstruction_error(mnist_batch):
    images = tf.constant(mnist_batch[0])
    plain, plain_logs = train_tiny(mnist_batch)
    image_cycle, image_logs = train_tiny(mnist_batch, cycle_weight=5.0)
    latent_cycle, latent_logs = train_tiny(mnist_batch, latent_cycle_weight=5.0)

    plain_image, plain_latent = reconstruction_errors(plain, images)
    assert reconstruction_errors(image_cycle, images)[0] < 0.6 * plain_image
    assert reconstruction_errors(latent_cycle, images)[1] < 0.1 * plain_latent

    assert "cycle_loss" not in plain_logs, "no cycle term, no cycle_loss in the logs"
    for logs in (image_logs, latent_logs):
        assert logs["cycle_loss"][-1] < logs["cycle_loss"][0]


def test_cycle_terms_do_not_touch_the_discriminator_step(mnist_batch):
    """The cycle terms are G/E losses: D's update is the same with and without them."""
    real = tf.constant(mnist_batch[0][:16])
    updated = []
    for weights in ({}, {"cycle_weight": 1.0, "latent_cycle_weight": 1.0}):
        model = tiny_bigan(**weights)
        model.compile()
        model.discriminator_step(real, None)
        updated.append([v.numpy() for v in model.discriminator.trainable_variables])
    for plain, cycled in zip(*updated):
        np.testing.assert_array_equal(plain, cycled)


@pytest.mark.parametrize("name", ["cycle_weight", "latent_cycle_weight"])
@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_bad_cycle_weights_are_refused(name, bad):
    with pytest.raises(ValueError, match=name):
        BiGAN(**{name: bad})


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_a_unary_scores_flag_that_is_not_a_bool_is_refused(bad):
    with pytest.raises(ValueError, match="unary_scores must be True or False"):
        BiGAN(unary_scores=bad)


def test_unary_scores_see_only_their_own_input():
    """BigBiGAN's D: column 0 scores the image alone, column 1 the latent alone, column 2 the pair."""
    model = tiny_bigan(unary_scores=True)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    latents = rng.standard_normal((2, 4, 8)).astype("float32")
    other_images = rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    scores = model.discriminator([images, latents[0]], training=False).numpy()
    new_latent = model.discriminator([images, latents[1]], training=False).numpy()
    new_image = model.discriminator([other_images, latents[0]], training=False).numpy()
    assert scores.shape == (4, 3)
    np.testing.assert_array_equal(scores[:, 0], new_latent[:, 0])
    np.testing.assert_array_equal(scores[:, 1], new_image[:, 1])
    for changed in (new_latent, new_image):
        assert np.all(np.abs(changed[:, 2] - scores[:, 2]) > 1e-6)
    assert np.all(np.abs(new_image[:, 0] - scores[:, 0]) > 1e-6)
    assert np.all(np.abs(new_latent[:, 1] - scores[:, 1]) > 1e-6)


def test_unary_scores_survive_a_keras_round_trip(tmp_path):
    model = tiny_bigan(unary_scores=True)
    path = str(tmp_path / "bigan.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.unary_scores
    images = np.zeros((2, 28, 28, 1), "float32")
    latent = np.ones((2, 8), "float32")
    np.testing.assert_allclose(
        loaded.discriminator([images, latent]).numpy(), model.discriminator([images, latent]).numpy(), rtol=1e-6)


def test_one_discriminator_step_trains_all_three_scores(mnist_batch):
    """Each score's Dense(1) head moves in the D step, and only D's weights do."""
    model = tiny_bigan(unary_scores=True)
    model.compile()
    heads = [layer for layer in model.discriminator.layers if isinstance(layer, keras.layers.Dense) and layer.units == 1]
    assert len(heads) == 3
    before = [head.kernel.numpy().copy() for head in heads]
    generator_before = [w.numpy().copy() for w in model.generator_variables]
    model.discriminator_step(tf.constant(mnist_batch[0][:32]), None)
    for head, kernel in zip(heads, before):
        assert np.abs(head.kernel.numpy() - kernel).max() > 1e-5
    for weight, old in zip(model.generator_variables, generator_before):
        np.testing.assert_array_equal(weight.numpy(), old)


def test_generator_filters_make_only_the_generator_convolutional(tmp_path, mnist_batch):
    small = {"latent_dim": 8, "widths": (32,), "discriminator_widths": (32,), "seed": 0}
    mlp, conv_g = BiGAN(**small), BiGAN(generator_filters=8, **small)
    kinds = lambda network: {type(layer).__name__ for layer in network.layers}  # noqa: E731
    assert "Conv2DTranspose" in kinds(conv_g.generator) and "Conv2DTranspose" not in kinds(mlp.generator)
    for name in ("encoder", "discriminator"):  # fully connected in both
        assert getattr(conv_g, name).count_params() == getattr(mlp, name).count_params()
        assert "Conv2D" not in kinds(getattr(conv_g, name))
    # and the other way round: convolutional E and D, fully connected G
    conv_ed = BiGAN(filters=8, generator_filters=0, **small)
    assert "Conv2DTranspose" not in kinds(conv_ed.generator) and "Conv2D" in kinds(conv_ed.encoder)
    conv_g.compile()
    conv_g.fit(mnist_batch[0][:32], batch_size=16, epochs=1, verbose=0)
    conv_g.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.get_config()["generator_filters"] == 8
    np.testing.assert_array_equal(loaded.generate(3, seed=1), conv_g.generate(3, seed=1))


@pytest.mark.parametrize("name", ["filters", "generator_filters"])
@pytest.mark.parametrize("bad", [-1, 2.5, True, "32"])
def test_bad_filters_are_refused(name, bad):
    with pytest.raises(ValueError, match=name):
        BiGAN(**{name: bad})


def test_refined_latents_are_the_encodings_of_the_priors_images(tmp_path):
    model = tiny_bigan(refine_latents=True)
    prior = np.random.default_rng(5).standard_normal((1500, 8), dtype="float32")  # generate's draw, seed 5
    expected = model.generate(latent=model.encode(model.generate(latent=prior)))  # explicit latents: as given
    images = model.generate(1500, seed=5)
    np.testing.assert_allclose(images, expected, atol=1e-5)
    assert np.abs(images - model.generate(latent=prior)).max() > 0.1  # the refinement changes the images
    model.save(tmp_path / "refined.keras")
    loaded = keras.saving.load_model(tmp_path / "refined.keras", safe_mode=True)
    assert loaded.get_config()["refine_latents"] is True
    np.testing.assert_array_equal(loaded.generate(20, seed=2), model.generate(20, seed=2))


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_a_refine_latents_flag_that_is_not_a_bool_is_refused(bad):
    with pytest.raises(ValueError, match="refine_latents"):
        BiGAN(refine_latents=bad)
