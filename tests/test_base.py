"""The update rules of the adversarial train_step, for every registered model."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers, ops

from conftest import IMAGE_MODELS
from zoo import GAN
from zoo._base import dtype_policy, logits_and_r1
from zoo._registry import get_entry


def snapshot(variables):
    return [v.numpy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def built_model(name):
    model = get_entry(name).build(seed=1)
    model.compile()
    return model


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_discriminator_step_updates_only_discriminator(name, mnist_batch):
    model = built_model(name)
    real, labels = tf.constant(mnist_batch[0]), tf.constant(mnist_batch[1])
    g_vars = model.generator.variables + (model.encoder.variables if hasattr(model, "encoder") else [])
    g_before, d_before = snapshot(g_vars), snapshot(model.discriminator.trainable_variables)
    model.discriminator_step(real, labels)
    still = [v.path for v, c in zip(model.discriminator.trainable_variables, changed(d_before, model.discriminator.trainable_variables)) if not c]
    if model.loss_name == "wasserstein":  # mean(D(fake)) - mean(D(real)) does not depend on the output bias
        assert still == [model.discriminator.trainable_variables[-1].path] and still[0].endswith("bias"), still
    else:
        assert not still, f"every D weight should move: {still}"
    # G runs in training mode to make the fakes, so only its batch-norm statistics may move.
    moved = [v.path for v, c in zip(g_vars, changed(g_before, g_vars)) if c]
    assert all("moving" in path for path in moved), moved


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_generator_step_updates_only_generator(name, mnist_batch):
    model = built_model(name)
    real, labels = tf.constant(mnist_batch[0]), tf.constant(mnist_batch[1])
    d_before = snapshot(model.discriminator.variables)
    g_before = snapshot(model.generator.trainable_variables)
    model.generator_step(real, labels)
    assert not any(changed(d_before, model.discriminator.variables)), "the G step must not touch D"
    assert all(changed(g_before, model.generator.trainable_variables)), "every G weight should move"


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_mixed_bfloat16_networks_compute_in_bfloat16_with_float32_weights_and_losses(name, mnist_batch):
    with dtype_policy("mixed_bfloat16"):
        model = built_model(name)
    assert keras.config.dtype_policy().name == "float32"  # restored on exit
    real, labels = tf.constant(mnist_batch[0]), tf.constant(mnist_batch[1])
    latent = model.sample_latent(4)
    assert model.generator(model.generator_inputs(latent, labels[:4])).dtype == "bfloat16"
    assert {v.dtype for v in model.weights} == {"float32"}
    for loss in (model.discriminator_step(real, labels), model.generator_step(real, labels)):
        assert loss.dtype == "float32" and np.isfinite(loss.numpy())
    images = model.postprocess(model.generator(model.generator_inputs(latent, labels[:4])))
    assert images.dtype == "float32" and 0.0 <= float(ops.min(images)) and float(ops.max(images)) <= 1.0


def test_mixed_precision_weights_load_into_a_float32_model(tmp_path):
    with dtype_policy("mixed_bfloat16"):
        mixed = built_model("dcgan-mnist")
    mixed.save_weights(tmp_path / "mixed.weights.h5")
    plain = built_model("dcgan-mnist")
    plain.load_weights(tmp_path / "mixed.weights.h5")
    for a, b in zip(mixed.weights, plain.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    latent = np.random.default_rng(0).standard_normal((8, plain.latent_dim)).astype("float32")
    # same weights, bfloat16 arithmetic: close to the float32 images, not equal to them
    difference = np.abs(mixed.generate(latent=latent) - plain.generate(latent=latent))
    assert 0 < difference.max() < 0.1


@keras.saving.register_keras_serializable(package="zoo_tests")
class BatchNormDiscriminatorGAN(GAN):
    """A tiny GAN whose D has batch norm, to check the G step leaves its statistics alone."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        z = keras.Input((self.latent_dim,))
        self.generator = keras.Model(z, layers.Reshape((28, 28, 1))(layers.Dense(784, activation="tanh")(z)))
        x = keras.Input((28, 28, 1))
        h = layers.BatchNormalization()(layers.Dense(8)(layers.Flatten()(x)))
        self.discriminator = keras.Model(x, layers.Dense(1)(h))
        self.track_generator_average()


def test_generator_step_keeps_discriminator_batchnorm_statistics(mnist_batch):
    model = BatchNormDiscriminatorGAN(latent_dim=4, seed=0)
    model.compile()
    real = tf.constant(mnist_batch[0])
    stats = [v for v in model.discriminator.non_trainable_variables if "moving" in v.path]
    assert len(stats) == 2
    before = snapshot(stats)
    model.generator_step(real, None)
    assert not any(changed(before, stats))
    model.discriminator_step(real, None)  # the D step, in training mode, does update them
    assert all(changed(before, stats))


def test_fit_runs_both_steps_and_logs_losses(mnist_batch):
    model = BatchNormDiscriminatorGAN(latent_dim=4, seed=0)
    model.compile()
    history = model.fit(mnist_batch[0], batch_size=32, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss"}
    assert len(history.history["d_loss"]) == 2
    assert model.d_optimizer.iterations.numpy() == 4 and model.g_optimizer.iterations.numpy() == 4


def test_fit_on_arrays_batches_them_with_the_autotuner_off(mnist_batch, monkeypatch):
    passed_on = []
    monkeypatch.setattr(keras.Model, "fit", lambda self, x=None, y=None, *args, **kwargs: passed_on.append((x, y, kwargs)))
    model = BatchNormDiscriminatorGAN(latent_dim=4, seed=0)
    images, labels = mnist_batch
    model.fit(images[:40], labels[:40], batch_size=16, shuffle=False, epochs=3)
    dataset, y, kwargs = passed_on[-1]
    assert isinstance(dataset, tf.data.Dataset) and y is None and kwargs == {"epochs": 3}
    assert dataset.options().autotune.enabled is False
    batches = list(dataset)
    assert [len(batch_images) for batch_images, _ in batches] == [16, 16, 8]  # as Keras: the last may be short
    np.testing.assert_array_equal(np.concatenate([b for b, _ in batches]), images[:40])
    np.testing.assert_array_equal(np.concatenate([b for _, b in batches]), labels[:40])

    model.fit(images, labels)  # Keras's defaults: batches of 32, a new order each epoch
    dataset = passed_on[-1][0]
    orders = [np.concatenate([b.numpy() for _, b in dataset]) for _ in range(2)]
    assert [len(b) for b, _ in dataset] == [32, 32] and not np.array_equal(orders[0], orders[1])
    assert sorted(orders[0]) == sorted(labels)

    model.fit(images, labels, validation_split=0.25)  # only Keras's pipeline for arrays splits them
    assert passed_on[-1][0] is not None and not isinstance(passed_on[-1][0], tf.data.Dataset)
    assert passed_on[-1][2] == {"validation_split": 0.25}
    model.fit(images, labels, sample_weight=np.ones(len(images)), validation_split=0.0)
    assert not isinstance(passed_on[-1][0], tf.data.Dataset) and "sample_weight" in passed_on[-1][2]
    model.fit(images, labels, validation_split=0.0, class_weight=None)  # Keras's defaults: our pipeline
    assert isinstance(passed_on[-1][0], tf.data.Dataset)


def test_minimax_and_non_saturating_losses_differ():
    logits = tf.constant([[-2.0], [0.5]])
    minimax = BatchNormDiscriminatorGAN(latent_dim=4, loss="minimax").generator_loss(logits)
    non_saturating = BatchNormDiscriminatorGAN(latent_dim=4).generator_loss(logits)
    # minimax: mean(log(1 - sigmoid(l))); non-saturating: -mean(log(sigmoid(l)))
    sig = 1 / (1 + np.exp(-np.array([-2.0, 0.5])))
    np.testing.assert_allclose(minimax, np.mean(np.log(1 - sig)), rtol=1e-5)
    np.testing.assert_allclose(non_saturating, -np.mean(np.log(sig)), rtol=1e-5)


def test_label_smoothing_lowers_the_real_target():
    logits = tf.constant([[3.0]])
    fake = tf.constant([[-30.0]])
    plain = BatchNormDiscriminatorGAN(latent_dim=4).discriminator_loss(logits, fake)
    smoothed = BatchNormDiscriminatorGAN(latent_dim=4, label_smoothing=0.1).discriminator_loss(logits, fake)
    sig = 1 / (1 + np.exp(-3.0))
    np.testing.assert_allclose(smoothed, -(0.9 * np.log(sig) + 0.1 * np.log(1 - sig)), rtol=1e-4)
    assert smoothed > plain


def test_least_squares_hinge_and_wasserstein_losses_match_their_formulas():
    real, fake = np.array([[0.5], [2.0]], "float32"), np.array([[-1.5], [0.25]], "float32")
    expected = {
        "least_squares": (0.5 * (np.mean((real - 1) ** 2) + np.mean(fake**2)), 0.5 * np.mean((fake - 1) ** 2)),
        "hinge": (np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake)), -np.mean(fake)),
        "wasserstein": (np.mean(fake) - np.mean(real), -np.mean(fake)),
    }
    for loss, (d_expected, g_expected) in expected.items():
        model = BatchNormDiscriminatorGAN(latent_dim=4, loss=loss, gradient_penalty=10.0 * (loss == "wasserstein"))
        np.testing.assert_allclose(model.discriminator_loss(real, fake), d_expected, rtol=1e-6)
        np.testing.assert_allclose(model.generator_loss(fake), g_expected, rtol=1e-6)


def test_gradient_penalty_is_zero_for_a_unit_slope_critic_and_works_for_any_batch():
    model = BatchNormDiscriminatorGAN(latent_dim=4, loss="wasserstein", gradient_penalty=10.0, seed=0)
    x = keras.Input((28, 28, 1))
    flat = layers.Flatten()(x)
    # D(x) = x[0] * a: gradient norm |a| everywhere, so the penalty is (|a| - 1)^2.
    for slope, penalty in ((1.0, 0.0), (3.0, 4.0)):
        head = layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(0.0))
        model.discriminator = keras.Model(x, head(flat))
        kernel = np.zeros((784, 1), "float32")
        kernel[0] = slope
        head.kernel.assign(kernel)
        for batch in (1, 3, 7):
            real = tf.random.uniform((batch, 28, 28, 1), -1, 1)
            fake = tf.random.uniform((batch, 28, 28, 1), -1, 1)
            value = float(model.gradient_penalty_loss(real, fake, None))
            assert np.isfinite(value) and value == pytest.approx(penalty, abs=1e-4)


def test_r1_penalty_is_the_mean_squared_gradient_norm_at_real_images():
    model = BatchNormDiscriminatorGAN(latent_dim=4, r1_penalty=2.0, seed=0)
    x = keras.Input((28, 28, 1))
    head = layers.Dense(1, use_bias=False)
    model.discriminator = keras.Model(x, head(layers.Flatten()(x)))
    kernel = np.zeros((784, 1), "float32")
    kernel[:3, 0] = [1.0, -2.0, 2.0]  # D(x) = w.x: gradient w everywhere, squared norm 9
    head.kernel.assign(kernel)
    for batch in (1, 5):
        real = tf.random.uniform((batch, 28, 28, 1), -1, 1)
        logits, penalty = logits_and_r1(model.discriminator, real)
        np.testing.assert_allclose(logits, model.discriminator(real), rtol=1e-6)
        assert float(penalty) == pytest.approx(9.0, rel=1e-5)


def test_r1_penalty_of_a_d_with_several_outputs_is_that_of_its_first_the_real_or_fake_logit():
    x = keras.Input((28, 28, 1))
    flat = layers.Flatten()(x)
    logit = layers.Dense(1, use_bias=False)
    discriminator = keras.Model(x, [logit(flat), layers.Dense(3)(flat)])  # a code head, as InfoGAN's Q
    kernel = np.zeros((784, 1), "float32")
    kernel[:3, 0] = [1.0, -2.0, 2.0]
    logit.kernel.assign(kernel)
    outputs, penalty = logits_and_r1(discriminator, tf.random.uniform((4, 28, 28, 1), -1, 1))
    assert [tuple(o.shape) for o in outputs] == [(4, 1), (4, 3)]
    assert float(penalty) == pytest.approx(9.0, rel=1e-5)


def test_r1_penalty_adds_half_gamma_times_the_penalty_to_the_d_loss(mnist_batch):
    real = tf.constant(mnist_batch[0][:8])
    losses = {}
    for gamma in (0.0, 4.0):
        keras.utils.set_random_seed(0)
        model = BatchNormDiscriminatorGAN(latent_dim=4, r1_penalty=gamma, seed=0)
        x = keras.Input((28, 28, 1))  # no batch norm: R1 needs each logit to depend on its own image only
        model.discriminator = keras.Model(x, layers.Dense(1)(layers.Dense(8, activation="tanh")(layers.Flatten()(x))))
        model.compile(d_optimizer=keras.optimizers.SGD(0.0))  # no update: both runs see the same D
        penalty = float(logits_and_r1(model.discriminator, real)[1])
        losses[gamma] = float(model.discriminator_step(real, None))
    assert penalty > 0
    assert losses[4.0] - losses[0.0] == pytest.approx(0.5 * 4.0 * penalty, rel=1e-4)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_r1_penalty_raises_the_d_loss_or_is_refused(name, mnist_batch):
    """A variant whose own D step ignored the penalty would drop it silently: it must refuse it."""
    real, labels = tf.constant(mnist_batch[0][:8]), tf.constant(mnist_batch[1][:8])
    losses = {}
    for gamma in (0.0, 10.0):
        keras.utils.set_random_seed(0)
        try:
            model = get_entry(name).build(r1_penalty=gamma, seed=0)
        except ValueError as error:
            assert gamma and "R1" in str(error)
            return
        model.compile(d_optimizer=keras.optimizers.SGD(0.0))
        losses[gamma] = float(model.discriminator_step(real, labels))
    assert losses[10.0] > losses[0.0] + 1e-4, losses


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_lazy_r1_updates_d_as_r1_weighted_n_times_on_every_nth_update_and_as_no_r1_between(name, mnist_batch):
    """r1_every=2: D's first update is that of twice the penalty every update, its second that of
    no penalty. SGD, so that an update is the gradient itself; a variant that refuses R1 is skipped.
    Dropout is off: the lazy penalty runs D once more, with dropout draws of its own."""
    real, labels = tf.constant(mnist_batch[0][:8]), tf.constant(mnist_batch[1][:8])
    no_dropout = {"dropout": 0.0} if "dropout" in get_entry(name).build().get_config() else {}
    models = {}
    for key, kwargs in {"lazy": {"r1_penalty": 5.0, "r1_every": 2}, "doubled": {"r1_penalty": 10.0},
                        "off": {"r1_penalty": 0.0}}.items():
        keras.utils.set_random_seed(0)
        try:
            models[key] = get_entry(name).build(seed=0, **no_dropout, **kwargs)
        except ValueError as error:
            assert "R1" in str(error)
            pytest.skip(f"{name} refuses R1")
        models[key].compile(d_optimizer=keras.optimizers.SGD(0.1))
    d_weights = {key: model.discriminator.trainable_variables for key, model in models.items()}
    before = snapshot(d_weights["lazy"])
    for model in models.values():
        model.discriminator_step(real, labels)
    assert any(changed(before, d_weights["lazy"]))
    for lazy, doubled in zip(d_weights["lazy"], d_weights["doubled"]):
        np.testing.assert_allclose(lazy.numpy(), doubled.numpy(), rtol=1e-4, atol=1e-6)
    models["off"].discriminator.set_weights(models["lazy"].discriminator.get_weights())
    for key in ("lazy", "off"):
        models[key].discriminator_step(real, labels)  # the lazy model's update 1 of 2: not due
    for lazy, off in zip(d_weights["lazy"], d_weights["off"]):
        np.testing.assert_allclose(lazy.numpy(), off.numpy(), rtol=1e-4, atol=1e-6)


def test_lazy_r1_trains_with_xla_through_a_minibatch_stddev_d(mnist_batch):
    """XLA cannot differentiate a tf.cond around the minibatch-stddev feature: the lazy penalty's
    gradients are taken inside the branch, and the compiled fit runs."""
    keras.utils.set_random_seed(0)
    model = get_entry("gan-mnist").build(generator_widths=(16,), discriminator_widths=(16,), r1_penalty=2.5,
                                         r1_every=2, seed=0)
    assert model.minibatch_stddev
    model.compile(jit_compile=True, steps_per_execution=2)
    history = model.fit(mnist_batch[0], batch_size=16, epochs=1, verbose=0).history
    assert model.d_optimizer.iterations.numpy() == 4 and np.isfinite(history["d_loss"]).all()
    restored = type(model).from_config(model.get_config())
    assert restored.r1_every == 2


def test_critic_steps_update_d_that_many_times_per_g_step(mnist_batch):
    model = BatchNormDiscriminatorGAN(latent_dim=4, loss="wasserstein", gradient_penalty=10.0, critic_steps=3, seed=0)
    model.compile()
    history = model.fit(mnist_batch[0], batch_size=32, epochs=2, verbose=0).history
    assert model.d_optimizer.iterations.numpy() == 12 and model.g_optimizer.iterations.numpy() == 4
    assert np.isfinite(history["d_loss"]).all() and np.isfinite(history["g_loss"]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"loss": "relativistic"}, "loss='relativistic'"),
        ({"loss": "wasserstein"}, "gradient_penalty"),
        ({"gradient_penalty": -1.0}, "gradient_penalty"),
        ({"r1_penalty": -1.0}, "r1_penalty"),
        ({"r1_every": 0}, "r1_every"),
        ({"critic_steps": 0}, "critic_steps"),
        ({"frozen_discriminator_layers": -1}, "frozen_discriminator_layers"),
        ({"prior": "cauchy"}, "prior='cauchy'"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"label_smoothing": 1.5}, "label_smoothing"),
        ({"ema_decay": 1.0}, "ema_decay"),
    ],
)
def test_bad_constructor_options_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNormDiscriminatorGAN(**kwargs)


def test_uniform_prior_stays_in_range():
    model = BatchNormDiscriminatorGAN(latent_dim=4, prior="uniform", seed=0)
    z = np.array(model.sample_latent(1000))
    assert z.min() >= -1 and z.max() <= 1 and z.std() > 0.5


def test_generator_average_follows_the_generator(mnist_batch):
    model = BatchNormDiscriminatorGAN(latent_dim=4, seed=0, ema_decay=0.5)
    assert model.generator_average is not None
    model.compile()
    before = [w.numpy() for w in model.generator_average.weights]
    model.train_on_batch(mnist_batch[0][:16])
    for old, average, weight in zip(before, model.generator_average.weights, model.generator.weights):
        np.testing.assert_allclose(average.numpy(), 0.5 * old + 0.5 * weight.numpy(), rtol=1e-5, atol=1e-6)
    # generate samples from the average, not from the raw generator
    z = np.zeros((2, 4), "float32")
    expected = (np.array(model.generator_average(z, training=False)) + 1) / 2
    np.testing.assert_allclose(model.generate(latent=z), np.clip(expected, 0, 1), atol=1e-6)


def test_no_generator_average_by_default():
    assert BatchNormDiscriminatorGAN(latent_dim=4).generator_average is None


def test_temperature_scales_the_drawn_latents_only():
    model = BatchNormDiscriminatorGAN(latent_dim=4, seed=0)
    assert model.temperature == 1.0 and model.get_config()["temperature"] == 1.0
    z = np.random.default_rng(5).standard_normal((3, 4), dtype="float32")
    model.temperature = 1.5
    np.testing.assert_allclose(model.generate(3, seed=5), model.generate(latent=1.5 * z), atol=1e-6)
    # explicit latents are used as given
    np.testing.assert_allclose(model.generate(latent=z), model.generate(latent=z), atol=0)
    assert not np.allclose(model.generate(latent=z), model.generate(3, seed=5))
    assert BatchNormDiscriminatorGAN.from_config(model.get_config()).temperature == 1.5


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), True, "1.2"])
def test_bad_temperatures_are_refused(value):
    with pytest.raises(ValueError, match="temperature"):
        BatchNormDiscriminatorGAN(latent_dim=4, temperature=value)
    model = BatchNormDiscriminatorGAN(latent_dim=4)
    with pytest.raises(ValueError, match="temperature"):
        model.temperature = value


def test_temperature_stretches_a_uniform_prior():
    model = BatchNormDiscriminatorGAN(latent_dim=4, prior="uniform", temperature=1.5)
    z = model._draw_latent(np.random.default_rng(0), 2000)
    assert 1.4 < np.abs(z).max() <= 1.5
