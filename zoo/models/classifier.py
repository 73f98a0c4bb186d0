"""A small convolutional MNIST classifier: the yardstick of sample quality.

Its penultimate layer gives the features of the Fréchet distance between generated and real digits
(the Fréchet Inception Distance of Heusel et al., 2017, with this classifier in place of Inception,
as TF-GAN's classifier-based distances do), and its predictions the confidence and class spread of
samples.
"""

import keras
import tensorflow as tf

from zoo import config, signatures
from zoo.models.base import ZooModel
from zoo.registry import register


@register("mnist_classifier")
@keras.saving.register_keras_serializable("zoo")
class MnistClassifier(ZooModel):
    """Two conv blocks (32 and 64 filters), a 128-unit feature layer, dropout, softmax over the classes.

    Trains on (images, labels) batches; metrics loss (cross-entropy, nats) and accuracy.

    Args:
      num_classes: number of classes.
      feature_units: width of the penultimate (feature) layer.
      dropout: dropout rate before the output layer.
      **kwargs: image_shape, seed and keras.Model arguments.
    """

    loss_names = ("loss", "accuracy")
    takes_labels = True
    ENDPOINTS = ("classify",)
    serving_endpoint = "classify"

    def __init__(self, num_classes=10, feature_units=128, dropout=0.3, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.feature_units, self.dropout = int(num_classes), int(feature_units), float(dropout)
        self.feature_net = self.build_feature_net()
        self.head = keras.Sequential([keras.Input((self.feature_units,)), keras.layers.Dropout(self.dropout),
                                      keras.layers.Dense(self.num_classes)], name="head")
        self.built = True

    def build_feature_net(self):
        """The network from images to the feature layer [b, feature_units]."""
        # Two 2x2 poolings: images [H, W, C] of sides 4 and more.
        problem = config.conv_shape_problem(self.image_shape, "mnist_classifier", "mlp_classifier", min_side=4)
        if problem:
            raise ValueError(problem)
        conv = dict(kernel_size=3, padding="same", activation="relu")
        return keras.Sequential([
            keras.Input(self.image_shape),
            keras.layers.Conv2D(32, **conv), keras.layers.Conv2D(32, **conv), keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, **conv), keras.layers.Conv2D(64, **conv), keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(self.feature_units, activation="relu"),
        ], name="features")

    def features(self, images):
        """Penultimate-layer features [b, feature_units]."""
        return tf.cast(self.feature_net(images), tf.float32)

    def call(self, images, training=False):
        """Class logits [b, num_classes]."""
        return tf.cast(self.head(self.feature_net(images, training=training), training=training), tf.float32)

    def classify(self, images):
        """{"probs": class probabilities, "features": penultimate features}."""
        features = self.features(images)
        return {"probs": tf.nn.softmax(tf.cast(self.head(features), tf.float32)), "features": features}

    def endpoints(self):
        return {"classify": signatures.Endpoint(lambda inputs: self.classify(self.checked_inputs(inputs)),
                                                (self.inputs_spec(),))}

    def compute_losses(self, images, labels, training=False):
        logits = self(images, training=training)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(labels, tf.int32)), tf.float32)
        return {"loss": loss, "accuracy": tf.reduce_mean(correct)}

    def losses_of(self, data, training=False):
        images, labels = data
        return self.compute_losses(images, labels, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, feature_units=self.feature_units, dropout=self.dropout)
        return config


@register("mlp_classifier")
@keras.saving.register_keras_serializable("zoo")
class MLPClassifier(MnistClassifier):
    """A dense classifier: sigmoid hidden layers (the last is the feature layer), then softmax. Its hidden
    layers can start from a stack of denoising autoencoders' encoders (see zoo.pretraining).

    Args:
      hidden_units: widths of the hidden layers.
      dropout: dropout rate after every hidden layer (training only; Srivastava et al., 2014).
      input_dropout: dropout rate of the input pixels (training only).
      **kwargs: the arguments of `MnistClassifier` (feature_units is the last hidden width).
    """

    def __init__(self, hidden_units=(1000, 1000, 1000), dropout=0.0, input_dropout=0.0, **kwargs):
        self.hidden_units = tuple(int(units) for units in hidden_units)
        self.input_dropout = float(input_dropout)
        if not self.hidden_units:
            raise ValueError("hidden_units needs at least one width; received none")
        kwargs.pop("feature_units", None)
        super().__init__(feature_units=self.hidden_units[-1], dropout=dropout, **kwargs)

    def build_feature_net(self):
        layers = [keras.Input(self.image_shape), keras.layers.Flatten()]
        if self.input_dropout:
            layers.append(keras.layers.Dropout(self.input_dropout))
        for depth, units in enumerate(self.hidden_units):
            if depth and self.dropout:
                layers.append(keras.layers.Dropout(self.dropout))
            layers.append(keras.layers.Dense(units, activation="sigmoid"))
        return keras.Sequential(layers, name="features")

    def hidden_layers(self):
        """The Dense hidden layers, input side first."""
        return [layer for layer in self.feature_net.layers if isinstance(layer, keras.layers.Dense)]

    def get_config(self):
        config = super().get_config()
        config.pop("feature_units")
        config.update(hidden_units=list(self.hidden_units), input_dropout=self.input_dropout)
        return config
