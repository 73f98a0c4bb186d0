"""Declarative hyperparameter search spaces, which models list next to their code (`search_spaces`).

A model class maps each space's name to the hyperparameters it searches, e.g.

    search_spaces = {"latent_dim": (Int("latent_dim", 2, 128, sampling="log"),)}

Each hyperparameter is named after the model's constructor argument (and its recipe's flag). The
first one is the space's axis in plots. `tuning.tuner` declares them to Keras Tuner.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Range:
    """A hyperparameter in [low, high], sampled uniformly ("linear") or on a log scale ("log")."""

    name: str
    low: float
    high: float
    sampling: str = "linear"

    def declare(self, hp):
        """Declares this hyperparameter on a `keras_tuner.HyperParameters`."""
        raise NotImplementedError


class Int(Range):
    """An integer hyperparameter."""

    def declare(self, hp):
        return hp.Int(self.name, self.low, self.high, sampling=self.sampling)


class Float(Range):
    """A real hyperparameter."""

    def declare(self, hp):
        return hp.Float(self.name, self.low, self.high, sampling=self.sampling)


def spaces_of(model_cls):
    """The search spaces of a model class: {space name: tuple of hyperparameters}."""
    return dict(getattr(model_cls, "search_spaces", {}))
