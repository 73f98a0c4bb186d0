"""The denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol, 2008; Vincent et al., 2010):
trained to restore clean inputs from corrupted ones. Corruption (zoo.corruptions: masking, gaussian,
salt_and_pepper) happens only inside the training step, never at inference; the loss compares the
reconstruction with the clean input.
"""

import keras

from zoo import signatures
from zoo.corruptions import check_corruption, corrupt
from zoo.models.ae import AE
from zoo.registry import register


@register("denoising_ae")
@keras.saving.register_keras_serializable("zoo")
class DenoisingAE(AE):
    """Autoencoder trained to reconstruct clean images from corrupted ones.

    Args:
      corruption: "masking", "gaussian" or "salt_and_pepper".
      noise_level: q for masking (in [0, 1)), sigma for gaussian (>= 0), the fraction for salt_and_pepper.
      **kwargs: the arguments of `AE`.
    """

    ENDPOINTS = AE.ENDPOINTS + ("restore",)

    def __init__(self, corruption="masking", noise_level=0.5, **kwargs):
        check_corruption(corruption, noise_level)
        super().__init__(**kwargs)
        self.corruption = corruption
        self.noise_level = float(noise_level)

    def corrupt(self, images, seed):
        """The training corruption applied to `images`, stateless in the int seed [2]."""
        return corrupt(images, self.corruption, self.noise_level, seed)

    def training_inputs(self, images):
        return corrupt(images, self.corruption, self.noise_level, noise=self.batch_noise)

    def endpoints(self):
        """AE's endpoints and `restore(images) -> {"restored"}`: corrupted images in [0, 1], restored (the
        reconstruction, which for this model is the restoration)."""
        restore = signatures.Endpoint(lambda images: {"restored": self(signatures.checked_images(images))},
                                      (signatures.images_spec(self.image_shape),))
        return {**super().endpoints(), "restore": restore}

    def get_config(self):
        config = super().get_config()
        config.update(corruption=self.corruption, noise_level=self.noise_level)
        return config
