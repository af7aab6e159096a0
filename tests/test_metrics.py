import numpy as np
import pytest

from zoo import metrics
from zoo.evaluator import load_evaluator


@pytest.fixture(scope="module")
def real():
    return metrics.real_images(2000, split="test", seed=0)


def test_frechet_distance_on_known_gaussians():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((5000, 8))
    mean, cov = features.mean(0), np.cov(features, rowvar=False)
    assert abs(metrics.frechet_distance(mean, cov, mean, cov)) < 1e-6
    shift = np.arange(8.0)
    assert metrics.frechet_distance(mean, cov, mean + shift, cov) == pytest.approx(np.sum(shift**2), rel=1e-6)
    # Two isotropic Gaussians: d = |mu|^2 + k (s1 - s2)^2 per dimension.
    assert metrics.frechet_distance(np.zeros(8), np.eye(8), np.zeros(8), 4 * np.eye(8)) == pytest.approx(8.0)


def test_evaluator_is_accurate_on_the_test_set(real):
    probabilities = load_evaluator()(real[0]).probabilities
    assert metrics.class_accuracy(probabilities, real[1]) > 0.98


def test_reference_order_and_real_score(real):
    images, labels = real
    reference = metrics.RealReference(metrics.real_images(2000, split="train", seed=1)[0])
    scores = {
        "real": metrics.score_images(images, labels, reference),
        "blurred": metrics.score_images(metrics.box_blur(images), labels, reference),
        "noise": metrics.score_images(np.random.default_rng(0).uniform(0, 1, images.shape), None, reference),
    }
    assert scores["real"]["fcd"] < scores["blurred"]["fcd"] < scores["noise"]["fcd"]
    assert scores["real"]["classifier_score"] > 9.5
    assert scores["real"]["modes_covered"] == 10 and scores["real"]["label_kl"] < 0.01
    assert scores["real"]["precision"] > 0.7 and scores["real"]["recall"] > 0.7
    assert scores["noise"]["precision"] < 0.05


def test_single_class_input_covers_one_mode(real):
    images, labels = real
    probabilities = load_evaluator()(images[labels == 3]).probabilities
    assert metrics.modes_covered(probabilities) == 1
    assert metrics.label_kl(probabilities) > 2.0  # log(10) for a single class


def test_label_kl_of_balanced_predictions_is_zero():
    assert metrics.label_kl(np.eye(10)[np.arange(1000) % 10]) == pytest.approx(0.0)


def test_precision_recall_identical_and_disjoint_sets():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 16))
    assert metrics.precision_recall(a, a) == (1.0, 1.0)
    assert metrics.precision_recall(a, a + 100.0) == (0.0, 0.0)
    # Half of the fakes collapse onto one real point: precision stays high, recall drops.
    collapsed = np.repeat(a[:1], 300, axis=0)
    precision, recall = metrics.precision_recall(a, collapsed)
    assert precision == 1.0 and recall < 0.05


def test_box_blur_keeps_mean_on_flat_images():
    flat = np.full((2, 28, 28), 0.4, "float32")
    np.testing.assert_allclose(metrics.box_blur(flat), 0.4, atol=1e-6)


def test_fcd_of_the_test_set_against_its_shipped_statistics_is_zero():
    images, _ = metrics.real_images(10_000, split="test")
    assert metrics.fcd(load_evaluator()(images).features) == pytest.approx(0.0, abs=1e-3)


def test_best_matching_accuracy_is_the_best_permutation():
    import itertools

    rng = np.random.default_rng(0)
    for shape in [(4, 4), (3, 5), (5, 5)]:
        confusion = rng.integers(0, 50, shape)
        brute = max(
            sum(confusion[row, col] for row, col in enumerate(cols))
            for cols in itertools.permutations(range(shape[1]), shape[0])
        )
        assert metrics.best_matching_accuracy(confusion) == brute
    permuted = np.eye(10)[np.random.default_rng(1).permutation(10)] * 100
    assert metrics.best_matching_accuracy(permuted) == 1000
    with pytest.raises(ValueError, match="one-to-one"):
        metrics.best_matching_accuracy(np.ones((3, 2)))


class RealDigitsByCode:
    """A stand-in InfoGAN whose category code c draws real test digits of class mapping[c]."""

    categorical_codes = 10

    def __init__(self, mapping, real):
        self.mapping, (self.images, self.labels) = mapping, real

    def generate(self, n, codes, seed=None):
        rng = np.random.default_rng(seed)
        return np.stack([self.images[rng.choice(np.flatnonzero(self.labels == self.mapping[c]))] for c in codes["category"]])


def test_categorical_code_error_matches_codes_to_classes(real):
    shuffled = RealDigitsByCode(np.random.default_rng(0).permutation(10), real)
    assert metrics.categorical_code_error(shuffled, n=1000) < 0.03  # only the evaluator's own mistakes
    # Two codes draw the same class: at best one of them can be matched to it.
    merged = RealDigitsByCode(np.array([0, 0, 2, 3, 4, 5, 6, 7, 8, 9]), real)
    assert 0.09 < metrics.categorical_code_error(merged, n=1000) < 0.13


def test_models_are_scored_against_their_registered_data_set():
    import zoo

    assert metrics.dataset_of(zoo.load("dcgan-fashion", pretrained=False, compile=False)) == "fashion_mnist"
    assert metrics.dataset_of(zoo.load("dcgan-mnist", pretrained=False, compile=False)) == "mnist"
    assert metrics.dataset_of(zoo._registry.get_entry("dcgan-fashion").build(name="mine")) == "mnist"  # unregistered name


def test_quality_bar_names_each_miss():
    clear = {"modes_covered": 10, "label_kl": 0.001, "classifier_score": 9.8, "fcd": 2.0, "precision": 0.8,
             "recall": 0.76, "class_accuracy": 0.99}
    assert metrics.quality_bar_misses(clear, blurred_fcd=53.0, baseline_fcd=80.0) == []
    misses = metrics.quality_bar_misses({**clear, "recall": 0.63, "fcd": 20.0}, blurred_fcd=53.0, baseline_fcd=80.0)
    assert misses == ["fcd 20 (needs <= 16)", "recall 0.63 (needs >= 0.75)"]
    # the FCD must also be under half the blurred row; encoder bars apply when measured
    assert metrics.quality_bar_misses({**clear, "fcd": 10.0}, blurred_fcd=18.0, baseline_fcd=80.0) == ["fcd 10 (needs < 9)"]
    assert metrics.quality_bar_misses({**clear, "encoder_probe_linear": 0.88}, 53.0, 80.0) == ["encoder_probe_linear 0.88 (needs >= 0.9)"]


class PooledPixels:
    """A stand-in encoder: 7x7 average pooling of the image, 16 features a linear probe can read."""

    def encode(self, images):
        return images.reshape(len(images), 4, 7, 4, 7).mean(axis=(2, 4)).reshape(len(images), 16)


def test_encoder_probe_reads_features_and_repeats_exactly():
    first = metrics.encoder_probe(PooledPixels(), train_size=2000)
    assert 0.5 < first["encoder_probe_linear"] < 1.0  # chance is 0.1
    assert 0.5 < first["encoder_probe_1nn"] < 1.0
    assert metrics.encoder_probe(PooledPixels(), train_size=2000) == first
