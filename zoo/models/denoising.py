"""The denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol, 2008; Vincent et al., 2010):
trained to restore clean inputs from corrupted ones. Corruption (zoo.corruptions: masking, gaussian,
salt_and_pepper) happens only inside the training step, never at inference; the loss compares the
reconstruction with the clean input.
"""

import keras

from zoo.corruptions import BLOCK_SIZE, check_corruption, corrupt
from zoo.models.ae import AE
from zoo.registry import register
from zoo.signatures import Endpoint

# What a corruption needs of the inputs (masking needs nothing): name -> (the need, whether a model's inputs meet it)
INPUT_NEEDS = {
    "gaussian": ("pixels in [0, 1], which it clips to", lambda model: model.pixel_inputs),
    "salt_and_pepper": ("pixels in [0, 1], which it sets to 0 or 1", lambda model: model.pixel_inputs),
    "mixed": (f"pixels in [0, 1] of images with sides of at least {BLOCK_SIZE}",
              lambda model: model.pixel_inputs and min(model.image_shape[:2]) >= BLOCK_SIZE),
}


@register("denoising_ae")
@keras.saving.register_keras_serializable("zoo")
class DenoisingAE(AE):
    """Autoencoder trained to reconstruct clean images from corrupted ones.

    Args:
      corruption: "masking", "gaussian", "salt_and_pepper" or "mixed" (all but masking need pixels: INPUT_NEEDS).
      noise_level: q for masking (in [0, 1)), sigma for gaussian (>= 0), the fraction for salt_and_pepper.
      **kwargs: the arguments of `AE`.
    """

    ENDPOINTS = AE.ENDPOINTS + ("restore",)

    def __init__(self, corruption="masking", noise_level=0.5, **kwargs):
        check_corruption(corruption, noise_level)
        super().__init__(**kwargs)
        need, met = INPUT_NEEDS.get(corruption, (None, lambda model: True))
        if not met(self):
            raise ValueError(f"corruption={corruption!r} needs {need} (images [H, W, C], not standardized); received "
                             f"image_shape={self.image_shape}, standardize={self.standardize}: use corruption='masking'")
        self.corruption = corruption
        self.noise_level = float(noise_level)

    def corrupt(self, images, seed):
        """The training corruption applied to `images`, stateless in the int seed [2]."""
        return corrupt(images, self.corruption, self.noise_level, seed)

    def training_inputs(self, images):
        return corrupt(images, self.corruption, self.noise_level, noise=self.batch_noise)

    def endpoints(self):
        """AE's endpoints and `restore(images) -> {"restored"}`: corrupted inputs restored (the reconstruction, which
        for this model is the restoration)."""
        restore = Endpoint(lambda inputs: {"restored": self(self.checked_inputs(inputs))}, (self.inputs_spec(),))
        return {**super().endpoints(), "restore": restore}

    def get_config(self):
        config = super().get_config()
        config.update(corruption=self.corruption, noise_level=self.noise_level)
        return config
