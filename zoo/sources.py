"""PROVISIONAL (replaced by the sources branch)."""
from zoo import data


def load(spec, data_dir=None, image_size=None, label_column=None, test_fraction=0.2, seed=0):
    assert spec == "mnist"
    return data.mnist_source(data_dir)
