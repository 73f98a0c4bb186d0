"""Every model module is imported here so that its `@register` runs."""

from zoo.models import (  # noqa: F401
    ae, autorec, base, classifier, contractive, cvae, denoising, gan, ladder, linear, mixture, semi_supervised, sparse,
    tied, two_layer_vae, vae,
)
