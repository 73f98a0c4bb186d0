"""Every model module is imported here so that its `@register` runs."""

from zoo.models import base, vae  # noqa: F401
