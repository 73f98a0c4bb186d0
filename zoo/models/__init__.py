"""Every model module is imported here so that its `@register` runs."""

from zoo.models import ae, base, classifier, contractive, denoising, gan, linear, sparse, tied, vae  # noqa: F401
