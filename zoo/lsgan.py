"""Least-squares GAN (Mao et al., 2017): D regresses real to 1 and fake to 0, G pulls D(G(z)) to 1.

The squared loss keeps penalising samples that are on the right side of the
decision boundary but far from the real data, where the sigmoid cross-entropy
has saturated. The networks of `dcgan-mnist` (G of 64 filters, D with a dense
layer of 512); every model takes `loss="least_squares"`, this entry ships the
weights trained with it.
"""

from zoo._registry import register_model
from zoo.dcgan import DCGAN, WIDE_NETWORKS


@register_model(recipe={"epochs": 80, "batch_size": 64, "rejection_keep": 0.6})
def lsgan_mnist(**overrides):
    """Least-squares GAN (LSGAN) with the DCGAN networks on MNIST."""
    return DCGAN(**{
        "latent_dim": 64, "ema_decay": 0.999, **WIDE_NETWORKS, "r1_penalty": 5.0,
        "temperature": 1.0, "loss": "least_squares", **overrides})
