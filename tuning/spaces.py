"""Which models are tunable and how a searched configuration becomes a recipe config (no TensorFlow on import).

A model is tunable when it declares search spaces (`search_spaces`, see zoo.search_space) and has a
recipe `recipes.<model>_mnist` whose flags include every hyperparameter of a space: trials and the
retraining take the recipe's defaults for everything not searched.
"""

import dataclasses
import functools
import importlib

import zoo
from zoo import registry, search_space

PROBE_OBJECTIVE = "val_probe_accuracy"  # computed after training; every other objective is logged by test_step


def recipe_config_class(model):
    """The config dataclass of the recipe `recipes.<model>_mnist`, or None if there is none."""
    try:
        recipe = importlib.import_module(f"recipes.{model}_mnist")
    except ModuleNotFoundError:
        return None
    return getattr(getattr(recipe, "main", None), "config_cls", None)


@functools.cache
def tunable_spaces():
    """{model name: {space name: hyperparameters}} for every registered model that has a recipe whose
    flags include each hyperparameter of its spaces."""
    zoo.names()  # registers the models
    tunable = {}
    for name in registry.names():
        config_cls = recipe_config_class(name)
        fields = {f.name for f in dataclasses.fields(config_cls)} if config_cls else set()
        spaces = {space: params for space, params in search_space.spaces_of(registry.get_class(name)).items()
                  if all(p.name in fields for p in params)}
        if spaces:
            tunable[name] = spaces
    return tunable


def objective_names(model):
    """The objectives a search over `model` can optimize."""
    return [f"val_{name}" for name in registry.get_class(model).loss_names] + [PROBE_OBJECTIVE]


def recipe_config(search, hyperparameters, **settings):
    """The recipe config of `search.model` with the search's data and optimizer settings, `hyperparameters`
    and `settings` (run_dir, epochs, ...) over the recipe's defaults."""
    shared = {k: getattr(search, k) for k in ("batch_size", "learning_rate", "seed", "validation_size",
                                              "train_limit", "xla", "eval_samples", "strategy", "cpu_devices")}
    return dataclasses.replace(recipe_config_class(search.model)(), **search.data_settings(), **shared, **hyperparameters, **settings)


def default_hyperparameters(search):
    """The recipe's default values of the searched hyperparameters."""
    defaults = recipe_config_class(search.model)()
    return {p.name: getattr(defaults, p.name) for p in search.hyperparameters}
