import pytest

import zoo
from conftest import copy_shipped_weights
from zoo import _registry


def test_list_models_has_the_seed_variants():
    assert zoo.list_models() == [
        "acgan-mnist", "bigan-mnist", "cgan-fashion", "cgan-mnist", "dcgan-fashion", "dcgan-mnist", "gan-mnist",
        "gan-toy2d", "infogan-mnist", "lsgan-mnist", "wgan-gp-mnist",
    ]
    assert zoo.list_models("*c*gan-mnist") == ["acgan-mnist", "cgan-mnist", "dcgan-mnist"]
    assert zoo.list_models("*-fashion") == ["cgan-fashion", "dcgan-fashion"]
    assert zoo.list_models("nothing*") == []


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="unknown model 'cgan-mnsit'; did you mean 'cgan-mnist'"):
        zoo.load("cgan-mnsit")
    with pytest.raises(ValueError, match="unknown model"):
        zoo.info("xyz")


def test_info_has_recipe_and_pretrained_details():
    meta = zoo.info("dcgan-mnist")
    assert meta["pretrained"] is True
    assert meta["dataset"] == "mnist"
    assert len(meta["sha256"]) == 64
    assert set(meta["parameters"]) == {"generator", "discriminator"}


def test_registering_a_name_twice_fails():
    def gan_mnist():
        pass

    with pytest.raises(ValueError, match="registered twice"):
        _registry.register_model(gan_mnist)


def test_overrides_reach_the_constructor():
    model = zoo.load("gan-mnist", pretrained=False, loss="minimax", label_smoothing=0.1)
    assert model.loss_name == "minimax" and model.label_smoothing == 0.1


def test_corrupted_weights_are_refused(tmp_path, monkeypatch):
    weights = copy_shipped_weights(tmp_path, "gan-mnist")
    monkeypatch.setenv(_registry.WEIGHTS_ENV, str(tmp_path))
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted.*gan-mnist.weights.h5.*restore"):
        zoo.load("gan-mnist")
    weights.write_bytes(bytes(data[:1000]))  # truncated
    with pytest.raises(ValueError, match="corrupted"):
        zoo.load("gan-mnist")


def test_missing_weights_file_is_refused(tmp_path, monkeypatch):
    copy_shipped_weights(tmp_path, "gan-mnist").unlink()
    monkeypatch.setenv(_registry.WEIGHTS_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="missing"):
        zoo.load("gan-mnist")


def test_pretrained_weights_that_do_not_fit_overrides_are_refused():
    with pytest.raises(ValueError, match="do not fit"):
        zoo.load("gan-mnist", latent_dim=8)
