"""A multi-worker run (--strategy multi_worker) used as a hostile user would: TF_CONFIG ports and flag values in
digits other than ASCII's."""

import json

import pytest

from tests.test_distributed import flag_error
from zoo import cluster, flags


# --- TF_CONFIG and flags: ASCII digits only -------------------------------------------------------------------------

# Arabic-Indic digits, a superscript (str.isdigit takes both), a Cyrillic o in the host
@pytest.mark.parametrize("address", ["localhost:١٢٣٤٥", "localhost:²", "lоcalhost:1234"])
def test_a_tf_config_address_out_of_ascii_is_refused(address):
    environ = {"TF_CONFIG": json.dumps({"cluster": {"worker": [address]}, "task": {"type": "worker", "index": 0}})}
    with pytest.raises(cluster.ClusterError, match="ASCII") as error:
        cluster.read(environ)
    assert repr(address) in str(error.value)


def test_a_tf_config_port_in_arabic_indic_digits_is_one_line_and_exit_2():
    result = flag_error(json.dumps({"cluster": {"worker": ["localhost:١٢٣٤٥"]}, "task": {"type": "worker", "index": 0}}))
    assert result.returncode == 2
    assert "'localhost:١٢٣٤٥'" in result.stderr and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("steps", ["²,3", "٣,٤", "1,３"])
def test_profile_steps_out_of_ascii_digits_are_one_line_and_exit_2(steps, capsys):
    from recipes.vae_mnist import VAEMnistConfig

    with pytest.raises(SystemExit) as exit:
        flags.parse(VAEMnistConfig, ["--profile-steps", steps])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "--profile-steps takes two steps A,B" in err and err.count("\n") == 1
