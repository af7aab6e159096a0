"""Discriminator rejection sampling (Azadi et al., 2019) for unconditional image models.

Near the end of training D barely tells G's samples from real images (its logits hardly vary),
but its last hidden layer still describes each image. A logistic regression on those features,
fit to tell real training images from G's own samples, estimates how real a sample looks;
`generate` then keeps only the draws it scores above a threshold set so that a fraction `keep`
of all draws pass. It is fit against G's output as it is, not against what G drew during
training: on `dcgan-mnist` keeping the top 80% by D's own logit skewed the digit mix (label KL
0.003 -> 0.019), by this score far less (0.009), with a better FCD (1.16 against 2.64).

The regression still prefers some kinds of image (on `lsgan-mnist`, keeping 70% with one
threshold raised the label KL 0.008 -> 0.022). So the threshold is set per stratum: D's features
of the real images are split into `strata` clusters (k-means), each draw belongs to its nearest
cluster, and every cluster keeps the same share of its draws (a cluster with fewer than
`MIN_DRAWS_PER_STRATUM` held-out draws gets the overall threshold). G's mix of clusters, and with it
of digits, passes through unchanged; only the worse draws within each cluster go. With 20 strata
instead of one threshold, `lsgan-mnist` at keep 0.7: label KL 0.022 -> 0.010, FCD 2.70 -> 1.55
(score 9.30 -> 9.31); `dcgan-mnist` at keep 0.8: label KL 0.009 -> 0.005, FCD 1.18 -> 0.84
(score 9.37 -> 9.39).

BiGAN's D scores (image, latent) pairs: there the sampler is fit on D's features of real pairs
(x, E(x)) against G's (G(z), z), and each draw is judged with the latent it came from (the earlier,
fully connected `bigan-mnist`, keep 0.6: FCD 6.55 -> 4.38, score 8.36 -> 8.65, precision 0.634 -> 0.685). A
`BiGAN(unary_scores=True)` is judged by its image-alone score instead, the latent playing no part.
With `refine_latents`, a draw's latent is its refined one, E(G(z)), in calibration and sampling alike.

The fitted head is data of the weights, not of the recipe: `GAN.save_own_variables` stores it
with the networks, in `.weights.h5` and `.keras` files alike.
"""

import contextlib
import dataclasses

import numpy as np
import keras
import tensorflow as tf

STORE_PREFIX = "rejection_"
MAX_STRATA = 100
MIN_DRAWS_PER_STRATUM = 50  # held-out draws needed to set a stratum's own threshold
FIELDS = ("mean", "scale", "kernel", "bias", "centers", "thresholds", "keep")
SCALARS = ("bias", "keep")


@dataclasses.dataclass
class RejectionSampler:
    """A linear real-or-generated score on D's last hidden features (standardised by `mean` and
    `scale`), the centres of the strata in that standardised space, and the score a draw of each
    stratum needs to be kept; `keep` is the share of draws that pass (on held-out draws)."""

    mean: np.ndarray
    scale: np.ndarray
    kernel: np.ndarray
    bias: float
    centers: np.ndarray  # (strata, features)
    thresholds: np.ndarray  # (strata,)
    keep: float

    def standardize(self, features):
        return (np.asarray(features) - self.mean) / self.scale

    def logits(self, features):
        return self._score(self.standardize(features))

    def strata_of(self, features):
        return nearest_center(self.standardize(features), self.centers)

    def accepts(self, features):
        standardized = self.standardize(features)  # once for the score and the stratum
        return self._score(standardized) >= self.thresholds[nearest_center(standardized, self.centers)]

    def _score(self, standardized):
        return standardized @ self.kernel + self.bias

    def to_store(self):
        # scalars as float64, so that `keep` reads back as the number it was set to
        return {
            STORE_PREFIX + field: np.atleast_1d(np.asarray(value, "float64" if field in SCALARS else "float32"))
            for field, value in ((field, getattr(self, field)) for field in FIELDS)
        }

    @classmethod
    def from_store(cls, store):
        """The sampler saved in a weights store, or None if the file has none."""
        stored = {key[len(STORE_PREFIX):]: np.asarray(store[key]) for key in store.keys() if key.startswith(STORE_PREFIX)}
        if "threshold" in stored and "thresholds" not in stored and "mean" in stored:  # written before strata: one stratum
            stored["centers"] = np.zeros((1,) + stored["mean"].shape, "float32")
            stored["thresholds"] = stored.pop("threshold")
        if not all(field in stored for field in FIELDS):
            return None
        values = {field: stored[field] for field in FIELDS}
        for scalar in SCALARS:
            values[scalar] = float(values[scalar][0])
        return cls(**values)


@contextlib.contextmanager
def sampling_plainly(model):
    """`model.generate` without rejection inside the block; the sampler comes back after it."""
    sampler, model.rejection = model.rejection, None
    try:
        yield model
    finally:
        model.rejection = sampler


def check_supported(model):
    """`model.rejection_features()`; ValueError unless `model` is an unconditional image model whose
    D gives one score, of an image alone or of an image-latent pair, with a final Dense(1), and
    looks at each image on its own up to the features that Dense(1) scores."""
    reason, extractor = None, None
    if model.conditional:
        reason = "it is conditional (the sampler has no label input)"
    elif getattr(model, "sample_shape", None) != (28, 28, 1):
        reason = "it does not generate images"
    else:
        from zoo._base import MinibatchStddev

        extractor = model.rejection_features()
        if extractor is None:
            reason = "its discriminator returns more than one logit, or does not end in a Dense(1)"
        elif any(isinstance(layer, MinibatchStddev) for layer in extractor.layers):
            reason = ("its discriminator looks at the whole batch (minibatch_stddev) before its last hidden features, "
                      "so a sample's score would depend on its batch")
        elif len(extractor.inputs) == 2 and not hasattr(model, "encode"):
            reason = "its discriminator takes a second input, and only an encoder's (image, latent) pairs are supported"
    if reason:
        raise ValueError(f"{model.name} cannot use discriminator rejection sampling: {reason}")
    return extractor


def feature_function(model):
    """(function, pairs): images in [0, 1] and their latent vectors -> the hidden features D scores,
    as one compiled function (cached); `pairs` says whether D needs the latent vectors (BiGAN)."""
    cached = getattr(model, "_rejection_features", None)
    if cached is not None and cached[0] is model.discriminator:
        return cached[1:]
    extractor = check_supported(model)
    pairs = len(extractor.inputs) == 2

    @tf.function(reduce_retracing=True)
    def features(images, latent):
        images = images * 2.0 - 1.0  # D sees G's tanh range
        return tf.cast(extractor([images, latent] if pairs else images, training=False), "float32")

    model._rejection_features = (model.discriminator, features, pairs)
    return features, pairs


def features_of(model, images, latent=None, batch_size=1000):
    """D's features of `images`; where D scores pairs, of (image, latent) pairs: G's latent vectors
    for its samples, `model.encode(images)` for real images (the default)."""
    function, pairs = feature_function(model)
    if pairs:
        latent = model.encode(images) if latent is None else np.asarray(latent, "float32")
        if latent.shape != (len(images), model.latent_dim):
            raise ValueError(f"latent must have shape ({len(images)}, {model.latent_dim}), one per image, got {latent.shape}")
    return np.concatenate([
        function(tf.constant(images[s : s + batch_size]), tf.constant(latent[s : s + batch_size]) if pairs else None).numpy()
        for s in range(0, len(images), batch_size)
    ])


def draws(model, count, seed):
    """`count` plain samples of G drawn with `seed`, and their latent vectors where D scores
    pairs (else None)."""
    with sampling_plainly(model):
        if not feature_function(model)[1]:
            return model.generate(count, seed=seed), None
        latent = model._draw_latent(np.random.default_rng(seed), count)
        return model.generate(latent=latent), latent


def nearest_center(points, centers):
    distances = np.sum(centers**2, axis=1)[None, :] - 2.0 * points @ centers.T  # + |point|^2, the same for all
    return np.argmin(distances, axis=1)


def kmeans(points, count, seed, iterations=30):
    """Lloyd's k-means from `count` distinct points drawn with `seed`; an empty cluster keeps its centre."""
    centers = points[np.random.default_rng(seed).choice(len(points), count, replace=False)]
    for _ in range(iterations):
        nearest = nearest_center(points, centers)
        centers = np.stack(
            [points[nearest == k].mean(axis=0) if np.any(nearest == k) else centers[k] for k in range(count)])
    return centers


def calibrate(model, real_images, keep, seed=0, strata=20, epochs=20):
    """Fit the sampler of `model`: a logistic regression on D's features of `real_images`
    (real training images in [0, 1]) against as many of G's samples (drawn with `seed`);
    `strata` k-means clusters of the real images' features; and per cluster the threshold that
    keeps a share `keep` of a second, held-out set of samples (strata=1: one threshold)."""
    feature_function(model)  # refuses a model it cannot serve, before any work
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0.0 < keep < 1.0:
        raise ValueError(f"keep must be a fraction in (0, 1) (the share of draws kept), got {keep!r}")
    if isinstance(strata, bool) or not isinstance(strata, (int, np.integer)) or not 1 <= strata <= MAX_STRATA:
        raise ValueError(f"strata must be an integer from 1 to {MAX_STRATA}, got {strata!r}")
    count = len(real_images)
    if count < 1000:
        raise ValueError(f"calibrating needs at least 1,000 real images, got {count}")
    fake, fake_latent = draws(model, count, seed)  # calibrate on G's own output
    held_out, held_out_latent = draws(model, count, seed + 1)
    features = np.concatenate([features_of(model, real_images), features_of(model, fake, fake_latent)])
    targets = np.concatenate([np.ones(count), np.zeros(count)]).astype("float32")
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    order = np.random.default_rng(seed).permutation(len(features))
    head = keras.Sequential(
        [keras.Input(features.shape[1:]), keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed))]
    )
    head.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    head.fit(((features - mean) / scale)[order], targets[order], batch_size=256, epochs=epochs, shuffle=False, verbose=0)
    kernel, bias = (np.asarray(w) for w in head.layers[0].get_weights())
    centers = kmeans((features[:count] - mean) / scale, strata, seed)
    sampler = RejectionSampler(mean, scale, kernel[:, 0], float(bias[0]), centers, np.zeros(strata), float(keep))
    held_out_features = features_of(model, held_out, held_out_latent)
    sampler.thresholds = stratum_thresholds(
        sampler.logits(held_out_features), sampler.strata_of(held_out_features), strata, keep)
    return sampler


def stratum_thresholds(logits, strata_of_draws, strata, keep):
    """Per stratum, the score that a share `keep` of its draws reach; a stratum with fewer than
    `MIN_DRAWS_PER_STRATUM` draws (G hardly draws there) gets the threshold of all draws."""
    overall = np.quantile(logits, 1.0 - keep)
    return np.array([
        np.quantile(logits[strata_of_draws == k], 1.0 - keep)
        if np.sum(strata_of_draws == k) >= MIN_DRAWS_PER_STRATUM else overall
        for k in range(strata)])


class AcceptedStream:
    """The draws of a latent stream that the sampler keeps, in stream order: `take(k)` returns
    the next k kept images, so the output does not depend on how a caller splits its request."""

    MAX_DRAWS_PER_KEPT = 1000  # a sampler that keeps (almost) nothing is an error, not a hang

    def __init__(self, model, rng, draw_size=1000):
        self.model, self.rng, self.draw_size = model, rng, draw_size
        self.buffer = np.empty((0,) + tuple(model.sample_shape), "float32")

    def take(self, count):
        kept, draws = [self.buffer], 0
        available = len(self.buffer)
        while available < count:
            latent = self.model._draw_latent(self.rng, self.draw_size)
            images = self.model._sample(latent, None)
            accepted = images[self.model.rejection.accepts(features_of(self.model, images, latent))]
            kept.append(accepted)
            available += len(accepted)
            draws += self.draw_size
            if draws > self.MAX_DRAWS_PER_KEPT * count:
                raise RuntimeError(
                    f"rejection sampling kept {available} of {draws} draws; recalibrate "
                    "(model.calibrate_rejection) or turn it off (model.rejection = None)"
                )
        images = np.concatenate(kept)
        self.buffer = images[count:]
        return images[:count]


RELEASE_IMAGES = 20_000  # real training images the shipped samplers are fit with
RELEASE_STRATA = 20  # unless the recipe says otherwise ("rejection_strata")


def release_strata(recipe):
    """How many strata a recipe's sampler has: its "rejection_strata", else `RELEASE_STRATA`."""
    return recipe.get("rejection_strata", RELEASE_STRATA)


def calibrate_for_release(model, dataset, keep, strata=RELEASE_STRATA):
    """Calibrate `model` as the shipped weights are: a fixed sample of `RELEASE_IMAGES`
    training images of `dataset` against as many of G's samples (seed 0), in `strata` strata
    (`release_strata` of the recipe)."""
    from zoo.metrics import real_images

    images = real_images(RELEASE_IMAGES, dataset, "train", seed=1)[0]
    return model.calibrate_rejection(images, keep=keep, strata=strata)
