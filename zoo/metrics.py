"""Sample-quality metrics in the feature space of the zoo's own evaluator classifier.

All functions take arrays; `evaluate(model)` generates N images with a fixed
seed and returns every metric that applies to the model.
"""

import numpy as np

from zoo._base import NUM_CLASSES, check_images
from zoo.evaluator import load_evaluator


def frechet_distance(mean_a, cov_a, mean_b, cov_b):
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)), via symmetric eigendecompositions."""
    values, vectors = np.linalg.eigh(cov_a)
    sqrt_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    cross = np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)  # same spectrum as C_a C_b, but symmetric
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def fcd(features, evaluator=None):
    """Fréchet classifier distance of features (N, d) to the evaluator's test-set statistics."""
    evaluator = evaluator or load_evaluator()
    return frechet_distance(features.mean(axis=0), np.cov(features, rowvar=False), evaluator.mean, evaluator.covariance)


def classifier_score(probabilities, splits=10):
    """exp(E_x[KL(p(y|x) || p(y))]) as (mean, std) over `splits` splits; 10 for perfect MNIST."""
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def label_histogram(probabilities):
    return np.bincount(probabilities.argmax(axis=1), minlength=NUM_CLASSES) / len(probabilities)


def modes_covered(probabilities, threshold=0.01):
    """How many classes hold at least `threshold` of the samples (by the evaluator's vote)."""
    return int((label_histogram(probabilities) >= threshold).sum())


def label_kl(probabilities):
    """KL divergence of the predicted-label histogram from uniform (0 when balanced)."""
    histogram = label_histogram(probabilities)
    nonzero = histogram > 0
    return float(np.sum(histogram[nonzero] * np.log(histogram[nonzero] * NUM_CLASSES)))


def class_accuracy(probabilities, labels):
    """Share of samples whose evaluator class is the label they were drawn for."""
    return float(np.mean(probabilities.argmax(axis=1) == np.asarray(labels)))


def _distances(a, b):
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(squared, 0, None))


def _kth_neighbour_radii(features, k, chunk=1000):
    radii = np.empty(len(features))
    for start in range(0, len(features), chunk):
        d = _distances(features[start : start + chunk], features)
        radii[start : start + chunk] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself
    return radii


def _coverage(queries, support, radii, chunk=1000):
    inside = [
        (_distances(queries[i : i + chunk], support) <= radii[None, :]).any(axis=1)
        for i in range(0, len(queries), chunk)
    ]
    return float(np.concatenate(inside).mean())


def precision_recall(real_features, fake_features, k=3, real_radii=None):
    """k-NN manifold precision and recall (Kynkäänniemi et al., 2019).

    Precision: share of fakes inside some real sample's ball reaching its k-th
    nearest real neighbour; recall: the same with the roles swapped.
    `real_radii` may pass those real balls in when they were computed before.
    """
    if real_radii is None:
        real_radii = _kth_neighbour_radii(real_features, k)
    precision = _coverage(fake_features, real_features, real_radii)
    recall = _coverage(real_features, fake_features, _kth_neighbour_radii(fake_features, k))
    return precision, recall


class RealReference:
    """Real images' manifold features and k-NN radii, computed once and shared by many scorings."""

    def __init__(self, images, dataset="mnist", k=3):
        self.dataset = dataset
        self.k = k
        self.manifold = load_evaluator(dataset)(images).manifold
        self.radii = _kth_neighbour_radii(self.manifold, k)


def real_images(n=10_000, dataset="mnist", split="train", seed=0):
    """A fixed random sample of real images in [0, 1] and their labels."""
    from zoo.data import load_arrays

    images, labels = load_arrays(dataset, split)
    index = np.random.default_rng(seed).choice(len(images), size=min(n, len(images)), replace=False)
    return images[index][..., None].astype("float32") / 255.0, labels[index].astype("int32")


def score_images(images, labels=None, reference=None, dataset="mnist"):
    """Every image metric: fcd, classifier score, modes, label KL, precision/recall, class accuracy.

    `reference` (a `RealReference`) holds the real images precision and recall
    compare with; by default as many training images as `images`.
    """
    evaluator = load_evaluator(dataset)
    features, manifold, probabilities = evaluator(images)
    reference = reference or RealReference(real_images(len(images), dataset)[0], dataset)
    score, score_std = classifier_score(probabilities)
    precision, recall = precision_recall(reference.manifold, manifold, reference.k, reference.radii)
    result = {
        "fcd": fcd(features, evaluator),
        "classifier_score": score,
        "classifier_score_std": score_std,
        "modes_covered": modes_covered(probabilities),
        "label_kl": label_kl(probabilities),
        "precision": precision,
        "recall": recall,
    }
    if labels is not None:
        result["class_accuracy"] = class_accuracy(probabilities, labels)
    return result


def encoder_probe(model, dataset="mnist", train_size=10_000, seed=0):
    """Test accuracy of a linear classifier and of 1-nearest-neighbour on `model.encode` features."""
    import keras

    x_train, y_train = real_images(train_size, dataset, "train", seed)
    x_test, y_test = real_images(10_000, dataset, "test", seed)
    z_train, z_test = model.encode(x_train), model.encode(x_test)
    mean, std = z_train.mean(0), z_train.std(0) + 1e-6
    z_train, z_test = (z_train - mean) / std, (z_test - mean) / std
    # Seeded start and a fixed batch order (the sample is already shuffled): the same probe every run.
    initializer = keras.initializers.GlorotUniform(seed=seed)
    linear = keras.Sequential(
        [keras.Input(z_train.shape[1:]), keras.layers.Dense(NUM_CLASSES, activation="softmax", kernel_initializer=initializer)]
    )
    linear.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    linear.fit(z_train, y_train, batch_size=256, epochs=30, shuffle=False, verbose=0)
    linear_accuracy = float(linear.evaluate(z_test, y_test, verbose=0)[1])
    nearest = np.concatenate(
        [_distances(z_test[i : i + 1000], z_train).argmin(axis=1) for i in range(0, len(z_test), 1000)]
    )
    return {"encoder_probe_linear": linear_accuracy, "encoder_probe_1nn": float(np.mean(y_train[nearest] == y_test))}


def reconstruction_class_kept(model, dataset="mnist", n=10_000):
    """Share of test images whose reconstruction `generate(latent=encode(x))` keeps x's class."""
    images, labels = real_images(n, dataset, "test")
    probabilities = load_evaluator(dataset)(model.generate(latent=model.encode(images))).probabilities
    return class_accuracy(probabilities, labels)


def best_matching_accuracy(confusion):
    """Largest count on the diagonal of `confusion` (codes x classes) over all one-to-one
    assignments of codes to classes: exact, by dynamic programming over sets of used classes."""
    confusion = np.asarray(confusion, dtype="float64")
    codes, classes = confusion.shape
    if codes > classes:
        raise ValueError(f"cannot match {codes} codes one-to-one to {classes} classes")
    best = {0: 0.0}  # set of classes used by the first popcount(mask) codes -> best count
    for code in range(codes):
        step = {}
        for mask, total in best.items():
            for cls in range(classes):
                if not mask >> cls & 1:
                    key = mask | 1 << cls
                    step[key] = max(step.get(key, -1.0), total + confusion[code, cls])
        best = step
    return max(best.values())


def categorical_code_error(model, n=10_000, seed=0, dataset="mnist"):
    """Share of `n` samples (codes drawn in equal numbers) whose evaluator class differs from
    their categorical code under the best one-to-one matching of codes to classes."""
    codes = np.arange(n) % model.categorical_codes
    images = model.generate(n, codes={"category": codes}, seed=seed)
    predicted = load_evaluator(dataset)(images).probabilities.argmax(axis=1)
    confusion = np.zeros((model.categorical_codes, NUM_CLASSES))
    np.add.at(confusion, (codes, predicted), 1)
    return 1.0 - best_matching_accuracy(confusion) / n


def dataset_of(model):
    """The data set a model was registered for ("mnist" for models outside the registry)."""
    from zoo._registry import list_models, get_entry

    return get_entry(model.name).dataset if model.name in list_models() else "mnist"


def generate_for_scoring(model, n, seed):
    """(images, labels): `n` images with a fixed seed; conditional models get balanced labels."""
    labels = np.arange(n) % NUM_CLASSES if model.conditional else None
    return model.generate(labels if model.conditional else n, seed=seed), labels


def score_model(model, images, labels=None, reference=None, dataset="mnist"):
    """`score_images` of a model's samples, plus the encoder metrics when it has an encoder
    and the code-matching error when it has categorical codes."""
    result = score_images(images, labels, reference, dataset)
    if hasattr(model, "categorical_codes"):
        result["code_match_error"] = categorical_code_error(model, len(images), dataset=dataset)
    if hasattr(model, "encode"):
        result.update(encoder_probe(model, dataset))
        result["reconstruction_class_kept"] = reconstruction_class_kept(model, dataset)
    return result


def evaluate(model, n=10_000, seed=0, dataset=None):
    """Generate `n` images with a fixed seed and score them (by default against the
    data set the model is registered for)."""
    if hasattr(model, "score_samples"):  # 2-D points (gan-toy2d): scored against the ring's modes
        return model.score_samples(n, seed)
    dataset = dataset or dataset_of(model)
    images, labels = generate_for_scoring(model, n, seed)
    return score_model(model, images, labels, dataset=dataset)


def box_blur(images):
    """3x3 box filter, edges padded by replication: the 'blurred real' reference."""
    images = check_images(images)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    return sum(padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)) / 9.0


def bar_references(n=10_000, seed=0):
    """FCDs of the two MNIST reference rows the quality bar is relative to: real training
    images blurred with a 3x3 box, and the seed recipe (the classic Keras loop's weights)."""
    from zoo.baseline import load_baseline

    images = real_images(n, seed=seed)[0]
    blurred = fcd(load_evaluator()(box_blur(images)).features)
    baseline = evaluate(load_baseline(), n=n, seed=seed, dataset="mnist")["fcd"]
    return {"blurred_fcd": blurred, "baseline_fcd": baseline}


def quality_bar_misses(result, blurred_fcd, baseline_fcd):
    """The parts of the zoo's MNIST quality bar that a scored model misses, as readable
    strings ([] when it clears all): 10 modes, label KL <= 0.02, score >= 9.3, FCD below
    half the blurred-real row and at most a fifth of the baseline row, precision and recall
    >= 0.75, and where measured class accuracy >= 0.98, encoder probe >= 0.90 and
    reconstructions keeping the class >= 0.80."""
    checks = [
        ("modes_covered", ">=", 10),
        ("label_kl", "<=", 0.02),
        ("classifier_score", ">=", 9.3),
        ("fcd", "<", blurred_fcd / 2),
        ("fcd", "<=", baseline_fcd / 5),
        ("precision", ">=", 0.75),
        ("recall", ">=", 0.75),
        ("class_accuracy", ">=", 0.98),
        ("encoder_probe_linear", ">=", 0.90),
        ("reconstruction_class_kept", ">=", 0.80),
    ]
    compare = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b}
    misses = []
    for key, op, limit in checks:
        if key in result and not compare[op](result[key], limit):
            misses.append(f"{key} {result[key]:.3g} (needs {op} {limit:.3g})")
    return misses
