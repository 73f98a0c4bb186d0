import json

import numpy as np

from tests.conftest import run_python

MIRRORED = """
import json, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import zoo

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = zoo.get("vae", latent_dim=4, hidden_units=(32,), seed=5)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
images = (np.random.default_rng(0).random((256, 28, 28, 1)) < 0.2).astype(np.float32)
dataset = tf.data.Dataset.from_tensor_slices((images, np.zeros(256, np.int32))).repeat().batch(16, drop_remainder=True)
before = [w.numpy().copy() for w in model.trainable_weights]
history = model.fit(dataset, steps_per_epoch=8, epochs=2, verbose=0)
moved = any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
seeds = strategy.run(tf.function(lambda: model.noise_seed()))
per_replica = [s.numpy().tolist() for s in strategy.experimental_local_results(seeds)]

# One SGD step on the same global batch, mirrored over 2 replicas and on one device, from the same
# weights: with the loss scaled by 1/replicas the two updates have the same size (without it, twice).
initial = zoo.get("vae", latent_dim=4, hidden_units=(32,), seed=5).get_weights()

def one_step_update(strategy):
    with strategy.scope():
        twin = zoo.get("vae", latent_dim=4, hidden_units=(32,), seed=5)
        twin.set_weights(initial)
        twin.compile(optimizer=keras.optimizers.SGD(0.01), jit_compile=False)
    start = [w.numpy().copy() for w in twin.trainable_weights]
    twin.fit(tf.data.Dataset.from_tensor_slices(images).batch(256).take(1), epochs=1, verbose=0)
    return np.sqrt(sum(np.sum((w.numpy() - s) ** 2) for w, s in zip(twin.trainable_weights, start)))

ratio = float(one_step_update(strategy) / one_step_update(tf.distribute.OneDeviceStrategy("/cpu:0")))
json.dump({"replicas": strategy.num_replicas_in_sync, "loss": history.history["loss"], "moved": moved,
           "seeds": per_replica, "update_ratio": ratio}, open(sys.argv[1], "w"))
"""


def test_vae_trains_under_mirrored_strategy_on_two_cpus(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    result = run_python([str(script), str(tmp_path / "out.json")])
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["replicas"] == 2
    assert all(np.isfinite(out["loss"])) and out["loss"][1] < out["loss"][0]
    assert out["moved"]
    first, second = out["seeds"]
    assert first != second  # each replica draws its own noise
    assert 0.85 < out["update_ratio"] < 1.15


