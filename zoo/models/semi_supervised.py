"""M2, the semi-supervised VAE of Kingma, Rezende, Mohamed & Welling (2014, "Semi-supervised learning with deep
generative models"), here on the codes of an M1 VAE: their M1+M2.

Generative model p(y) p(z) p(x | y, z): y a class under a uniform prior, z ~ N(0, I), x a feature vector (an M1
code) under a diagonal Gaussian. Inference: q(y | x), the classifier, and q(z | x, y), all TFP distributions.
A labelled x costs -ELBO(x, y) plus alpha times the classifier's cross-entropy; an unlabelled x costs
sum_y q(y | x) (-ELBO(x, y)) - H(q(y | x)), so unlabelled data trains the classifier through the generative model.
"""

import math

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from zoo import signatures
from zoo.models.base import ZooModel
from zoo.registry import register

tfd = tfp.distributions


def softplus_mlp(input_dim, hidden_units, output_dim, name):
    return keras.Sequential([keras.Input((input_dim,)),
                             *[keras.layers.Dense(units, activation="softplus") for units in hidden_units],
                             keras.layers.Dense(output_dim)], name=name)


@register("semi_supervised_vae")
@keras.saving.register_keras_serializable("zoo")
class SemiSupervisedVAE(ZooModel):
    """M2: a VAE with a class variable, trained on labelled and unlabelled feature vectors at once.

    Trains on (unlabelled mean, unlabelled stddev, labelled mean, labelled stddev, labels) batches of equal size:
    every x is drawn from N(mean, stddev) afresh at each step (M1's posterior q(z1 | image) in M1+M2; a stddev of 0
    gives fixed features). Metrics: loss, labelled (-ELBO of the labelled rows, nats), unlabelled (their bound
    summed over q(y | x)), cross_entropy and accuracy of q(y | x) on the labelled rows.

    Args:
      input_dim: size of x.
      num_classes: number of classes y.
      latent_dim: size of z.
      hidden_units: widths of the softplus hidden layers of each network (classifier, encoder, decoder).
      alpha: weight of the labelled rows' mean cross-entropy.
      labelled_weight: weight of the labelled rows' mean -ELBO.
        Kingma et al. minimize sum_labelled -ELBO + sum_unlabelled U + 0.1 N E_labelled[cross-entropy] over N
        images. A batch here pairs each unlabelled row with a labelled one (the few labelled images repeat), so
        their objective per unlabelled row is labelled_weight = (labelled images) / (unlabelled images) and
        alpha = 0.1 N / (unlabelled images).
      **kwargs: seed and keras.Model arguments.
    """

    data_kind = "codes"
    takes_labels = True
    loss_names = ("loss", "labelled", "unlabelled", "cross_entropy", "accuracy")
    ENDPOINTS = ("classify",)
    serving_endpoint = "classify"

    def __init__(self, input_dim=32, num_classes=10, latent_dim=50, hidden_units=(500,), alpha=0.1, labelled_weight=1.0,
                 **kwargs):
        kwargs.pop("image_shape", None)
        super().__init__(image_shape=(int(input_dim),), **kwargs)
        for name, value in (("alpha", alpha), ("labelled_weight", labelled_weight)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0; received {name}={value}")
        self.input_dim, self.num_classes, self.latent_dim = int(input_dim), int(num_classes), int(latent_dim)
        self.hidden_units, self.alpha = tuple(int(units) for units in hidden_units), float(alpha)
        self.labelled_weight = float(labelled_weight)
        both = self.input_dim + self.num_classes
        self.classifier = softplus_mlp(self.input_dim, self.hidden_units, self.num_classes, "classifier")
        self.encoder = softplus_mlp(both, self.hidden_units, 2 * self.latent_dim, "encoder")
        self.decoder = softplus_mlp(self.latent_dim + self.num_classes, self.hidden_units, 2 * self.input_dim,
                                    "decoder")
        self.built = True

    def call(self, features, training=False):
        """Class logits [b, num_classes] of q(y | x)."""
        return tf.cast(self.classifier(features, training=training), tf.float32)

    def classify(self, features):
        """{"probs": q(y | x)} for feature vectors (M1 codes) [b, input_dim]."""
        return {"probs": tf.nn.softmax(self(features))}

    def endpoints(self):
        return {"classify": signatures.Endpoint(lambda code: self.classify(signatures.checked_codes(code)),
                                                (signatures.code_spec(self.input_dim),))}

    @staticmethod
    def gaussian(params, floor):
        mean, raw_scale = tf.split(tf.cast(params, tf.float32), 2, axis=-1)
        return tfd.MultivariateNormalDiag(loc=mean, scale_diag=tf.nn.softplus(raw_scale) + floor)

    def negative_elbo(self, features, one_hot, eps):
        """-ELBO(x, y) [n] with one draw z = mu + sigma * eps of q(z | x, y), including -log p(y)."""
        q = self.gaussian(self.encoder(tf.concat([features, one_hot], -1)), 1e-5)
        codes = q.loc + q.stddev() * eps
        p = self.gaussian(self.decoder(tf.concat([codes, one_hot], -1)), 1e-3)
        prior = tfd.MultivariateNormalDiag(loc=tf.zeros(self.latent_dim), scale_diag=tf.ones(self.latent_dim))
        return -p.log_prob(features) + tfd.kl_divergence(q, prior) + math.log(self.num_classes)

    def draw(self, mean, stddev):
        return mean + stddev * self.batch_noise(tf.random.stateless_normal, tf.shape(mean))

    def losses_of(self, data, training=False):
        unlabelled_mean, unlabelled_stddev, labelled_mean, labelled_stddev, labels = data
        unlabelled = self.draw(unlabelled_mean, unlabelled_stddev)
        labelled = self.draw(labelled_mean, labelled_stddev)
        labels = tf.cast(labels, tf.int32)
        batch = tf.shape(unlabelled)[0]

        labelled_bound = self.negative_elbo(labelled, tf.one_hot(labels, self.num_classes),
                                            self.batch_noise(tf.random.stateless_normal, [batch, self.latent_dim]))
        # Every class for every unlabelled row: [num_classes, b] bounds, weighted by q(y | x).
        every_class = tf.reshape(tf.tile(tf.eye(self.num_classes)[:, None, :], [1, batch, 1]), [-1, self.num_classes])
        repeated = tf.reshape(tf.tile(unlabelled[None], [self.num_classes, 1, 1]), [-1, self.input_dim])
        eps = self.batch_noise(tf.random.stateless_normal, [self.num_classes, batch, self.latent_dim], batch_axis=1)
        bounds = tf.reshape(self.negative_elbo(repeated, every_class, tf.reshape(eps, [-1, self.latent_dim])),
                            [self.num_classes, batch])
        log_q_y = tf.nn.log_softmax(self(unlabelled, training=training))  # [b, classes]
        unlabelled_bound = tf.reduce_sum(tf.exp(log_q_y) * (tf.transpose(bounds) + log_q_y), -1)

        logits = self(labelled, training=training)
        cross_entropy = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        correct = tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels)
        labelled_bound, unlabelled_bound = tf.reduce_mean(labelled_bound), tf.reduce_mean(unlabelled_bound)
        loss = self.labelled_weight * labelled_bound + unlabelled_bound + self.alpha * cross_entropy
        return {"loss": loss, "labelled": labelled_bound,
                "unlabelled": unlabelled_bound, "cross_entropy": cross_entropy,
                "accuracy": tf.reduce_mean(tf.cast(correct, tf.float32))}

    def get_config(self):
        config = super().get_config()
        config.pop("image_shape")
        config.update(input_dim=self.input_dim, num_classes=self.num_classes, latent_dim=self.latent_dim,
                      hidden_units=list(self.hidden_units), alpha=self.alpha, labelled_weight=self.labelled_weight)
        return config
