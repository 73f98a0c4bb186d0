"""A string registry of model classes: `@register("vae")` on a class, `get("vae", **config)` to build one."""

_MODELS = {}


def register(name):
    """Class decorator that makes a model constructible by name through `get(name, **config)`."""

    def decorate(cls):
        if name in _MODELS and _MODELS[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered to {_MODELS[name].__name__}")
        _MODELS[name] = cls
        cls.registry_name = name
        return cls

    return decorate


def get_class(name):
    """The class registered as `name`; a ValueError listing the registered names otherwise."""
    try:
        return _MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(names())}") from None


def get(name, **config):
    """Builds the registered model `name` with keyword configuration `config`."""
    return get_class(name)(**config)


def names():
    """The registered names, sorted."""
    return sorted(_MODELS)
