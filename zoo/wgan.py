"""Wasserstein GAN with gradient penalty (Gulrajani et al., 2017).

D is a critic whose score difference between real and generated images
estimates the Wasserstein distance; the penalty (|grad D(x_hat)| - 1)^2 at
points between real and generated images (one mixing weight per sample) keeps
it 1-Lipschitz. The networks of `dcgan-mnist` (G of 64 filters, D with a dense
layer of 512); every model takes `loss="wasserstein", gradient_penalty=10,
critic_steps=N`; this entry ships the weights trained with them.
"""

from zoo._registry import register_model
from zoo.dcgan import DCGAN, WIDE_NETWORKS


@register_model(recipe={"epochs": 60, "batch_size": 64, "rejection_keep": 0.5})
def wgan_gp_mnist(**overrides):
    """Wasserstein GAN with gradient penalty (WGAN-GP) with the DCGAN networks on MNIST."""
    return DCGAN(**{
        "latent_dim": 64, "ema_decay": 0.999, "temperature": 1.1, **WIDE_NETWORKS,
        "loss": "wasserstein", "gradient_penalty": 10.0, "critic_steps": 2, **overrides,
    })
