"""Pictures: sample grids, loss curves and progress GIFs."""

import math

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def image_grid(images, columns=None):
    """Tile images (N, 28, 28[, 1]) in [0, 1] into one 2-D array with 2-pixel gaps."""
    images = np.asarray(images).reshape((-1, 28, 28))
    n = len(images)
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * 30 + 2, columns * 30 + 2), dtype="float32")
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[2 + r * 30 : 30 + r * 30, 2 + c * 30 : 30 + c * 30] = image
    return grid


def save_grid(images, path, columns=None, title=None, row_labels=None):
    """Save a PNG grid of images; one row per entry of `row_labels` when given."""
    grid = image_grid(images, columns)
    height, width = grid.shape
    margin = 0.2 + 0.08 * max(map(len, row_labels)) if row_labels else 0.0  # inches for the row labels
    fig_width, fig_height = width / 40 + margin, height / 40 + (0.4 if title else 0)
    fig = plt.figure(figsize=(fig_width, fig_height), dpi=100)
    ax = fig.add_axes([margin / fig_width, 0, 1 - margin / fig_width, (height / 40) / fig_height])
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([16 + 30 * i for i in range(len(row_labels))] if row_labels else [])
    if row_labels:
        ax.set_yticklabels(row_labels)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.savefig(path)
    plt.close(fig)


def save_loss_curve(history, path):
    """Plot each logged loss against epochs."""
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for key, values in history.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_gif(png_paths, path, seconds_per_frame=0.5):
    """Animate PNG frames (e.g. one sample grid per epoch) into a looping GIF."""
    from PIL import Image

    frames = [Image.open(p).convert("P") for p in png_paths]
    if frames:
        frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(seconds_per_frame * 1000), loop=0)


def save_plane(real, fake, d_plane, extent, path, title=None, label="D(x)", value_range=None):
    """Scatter real and generated 2-D points over a heat map of D on [-extent, extent]^2."""
    fig, ax = plt.subplots(figsize=(5.6, 4.8), dpi=100)
    low, high = value_range or (None, None)
    heat = ax.imshow(d_plane, origin="lower", extent=(-extent, extent, -extent, extent), cmap="RdBu", vmin=low, vmax=high)
    fig.colorbar(heat, ax=ax, label=label)
    ax.scatter(real[:, 0], real[:, 1], s=4, c="black", label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="orange", alpha=0.6, label="generated")
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or "")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
