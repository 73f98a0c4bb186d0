"""benchmarks.training_speed: its flags and FLOP counts (no training)."""

import keras
import pytest

from benchmarks import plain_keras, training_speed
from zoo import nets
from zoo.models.gan import GAN


def test_batch_sizes_default_and_no_sweep():
    parse = training_speed.flags.parse
    assert parse(training_speed.TrainingSpeedConfig, []).batch_sizes == (64, 128, 256, 512, 1024)
    assert parse(training_speed.TrainingSpeedConfig, ["--batch-sizes", "32", "2048"]).batch_sizes == (32, 2048)
    assert parse(training_speed.TrainingSpeedConfig, ["--no-sweep"]).sweep is False
    with pytest.raises(SystemExit):
        parse(training_speed.TrainingSpeedConfig, ["--batch-sizes", "0"])


def test_conv_flops_count_output_positions_and_transposed_input_positions():
    decoder = nets.decoder("conv", 2, (28, 28, 1), (8,))
    dense = 2 * (2 * 8 + 8 * 7 * 7 * 64)
    transposed = 2 * 3 * 3 * 64 * 64 * 7 * 7 + 2 * 3 * 3 * 64 * 32 * 14 * 14  # on their 7x7 and 14x14 inputs
    conv = 2 * 3 * 3 * 32 * 1 * 28 * 28
    assert plain_keras.forward_flops(decoder) == dense + transposed + conv
    assert plain_keras.training_flops_per_image(keras.Sequential([decoder])) == 3 * (dense + transposed + conv)


def test_gan_flops_are_four_generators_and_eight_discriminators():
    model = GAN(latent_dim=4, filters=2)
    generator, discriminator = (plain_keras.forward_flops(net) for net in (model.generator, model.discriminator))
    assert discriminator == 2 * 4 * 4 * 1 * 2 * 14 * 14 + 2 * 4 * 4 * 2 * 4 * 7 * 7 + 2 * 7 * 7 * 4
    assert plain_keras.training_flops_per_image(model) == 4 * generator + 8 * discriminator
