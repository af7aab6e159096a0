"""Latent-space walks: `interpolate` between latent vectors and `walk` animations (`zoo walk`)."""

import numpy as np

from zoo._base import check_labels


def _latent_vector(model, vector, what):
    array = np.asarray(vector, dtype="float32")
    if array.shape != (model.latent_dim,):
        raise ValueError(f"{what} must be one latent vector of shape ({model.latent_dim},), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return array


def slerp(start, end, fractions):
    """Spherical interpolation (Shoemake): stays on the shell where Gaussian latents live."""
    cosine = np.dot(start, end) / max(np.linalg.norm(start) * np.linalg.norm(end), 1e-12)
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if angle < 1e-6:  # (anti)parallel vectors: the straight line is as good
        return start + fractions[:, None] * (end - start)
    return (np.sin((1 - fractions) * angle)[:, None] * start + np.sin(fractions * angle)[:, None] * end) / np.sin(angle)


def interpolate(model, start, end, steps=8):
    """`steps` latent vectors from `start` to `end`, both included, shape (steps, latent_dim).

    Spherical for Gaussian priors (a straight line would pass through the
    low-norm centre that the generator never saw), linear for uniform ones.
    Feed the result to `model.generate(latent=...)`.
    """
    start = _latent_vector(model, start, "start")
    end = _latent_vector(model, end, "end")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    fractions = np.linspace(0.0, 1.0, steps, dtype="float32")
    if model.prior == "uniform":
        return (start + fractions[:, None] * (end - start)).astype("float32")
    return slerp(start, end, fractions).astype("float32")


def walk_frames(model, frames=48, walkers=16, keypoints=4, seed=0, classes=None):
    """Images (frames, walkers, 28, 28, 1): `walkers` loops through `keypoints` random latents.

    Conditional models draw `classes` in turn (default 0-9), the latent walk
    going on, so one walker keeps its style while the digit changes.
    """
    for name, value, low in (("frames", frames, 2), ("walkers", walkers, 1), ("keypoints", keypoints, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if model.conditional:
        classes = check_labels(list(range(10)) if classes is None else classes)
    elif classes is not None:
        raise ValueError(f"{model.name} is unconditional: it takes no classes")
    rng = np.random.default_rng(seed)
    anchors = model._draw_latent(rng, keypoints * walkers).reshape(keypoints, walkers, model.latent_dim)
    segment = np.arange(frames) * keypoints / frames  # position along the closed loop of keypoints
    latents = np.empty((frames, walkers, model.latent_dim), dtype="float32")
    for t, position in enumerate(segment):
        k, fraction = int(position), np.float32(position % 1.0)
        for w in range(walkers):
            start, end = anchors[k, w], anchors[(k + 1) % keypoints, w]
            latents[t, w] = _between(model, start, end, fraction)
    request = None
    if model.conditional:
        frame_classes = classes[(np.arange(frames) * len(classes)) // frames]
        request = np.repeat(frame_classes, walkers)
    images = model.generate(request, latent=latents.reshape(-1, model.latent_dim))
    return images.reshape(frames, walkers, 28, 28, 1)


def _between(model, start, end, fraction):
    if model.prior == "uniform":
        return start + fraction * (end - start)
    return slerp(start, end, np.array([fraction], dtype="float32"))[0]


def save_walk(model, path, frames=48, walkers=16, seed=0, classes=None, seconds_per_frame=0.1):
    """Write a looping GIF of `walk_frames` (a square-ish grid of walkers per frame)."""
    from PIL import Image

    from zoo._base import IMAGE_SHAPE
    from zoo.plotting import image_grid

    if tuple(model.sample_shape) != IMAGE_SHAPE:
        raise ValueError(f"a walk animates images; {model.name} generates samples of shape {model.sample_shape}")
    images = walk_frames(model, frames=frames, walkers=walkers, seed=seed, classes=classes)
    pictures = []
    for frame in images:
        grid = 255 - np.round(image_grid(frame) * 255).astype("uint8")  # dark digits on white, as the grids
        pictures.append(Image.fromarray(grid).resize((grid.shape[1] * 3, grid.shape[0] * 3), Image.NEAREST))
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=int(seconds_per_frame * 1000), loop=0)
    return path
