"""The image families: shapes, parameter counts against the papers and the lecture's arithmetic, the
from-definition convolution paths against the fast one, references (ViT's patch embedding = unfold + matmul,
ViT's encoder = torch.nn's), properties, and sizes that shrink to nothing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lmlab.errors import LmlabError
from lmlab.vision.models import IMAGE_MODELS
from lmlab.vision.models.lenet import LeNet5, LeNet5Config
from lmlab.vision.models.mlp import MLP, MLPConfig
from lmlab.vision.models.resnet import ResNet, ResNetConfig
from lmlab.vision.models.vgg import VGG, VGGConfig
from lmlab.vision.models.vit import ViT, ViTConfig
from lmlab.vision.shapes import cnn_shapes, shape_text

TINY = {
    "mlp": {"hidden": (16,)},
    "lenet5": {},
    "alexnet": {"channels": (4, 4, 4, 4, 4), "fc": 8},
    "vgg": {"channels": (4, 8), "fc": (16,), "batch_norm": True},
    "resnet": {"channels": (4, 8), "blocks": (1, 1)},
    "vit": {"d_model": 16, "n_head": 2, "n_layer": 1, "d_ff": 32},
}


def params(net) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("name", list(IMAGE_MODELS))
def test_every_family_maps_images_to_logits_and_draws(name):
    entry = IMAGE_MODELS[name]
    cfg = entry.config_class()(**TINY[name], num_classes=3)
    torch.manual_seed(0)
    net = entry.network_class()(cfg).eval()
    x = torch.randn(5, 1, 28, 28)
    logits = net(x)
    assert logits.shape == (5, 3)
    # a batch permuted gives its outputs permuted; each image is classified on its own
    perm = torch.tensor([3, 0, 4, 1, 2])
    torch.testing.assert_close(net(x[perm]), logits[perm], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(net(x[:1]), logits[:1], rtol=1e-5, atol=1e-5)
    f = net.filters()
    assert f.dim() == 4 and f.shape[1] == 1
    if name == "mlp":
        with pytest.raises(LmlabError, match="no feature maps"):
            net.feature_maps(x[:1])
    else:
        maps = net.feature_maps(x[:1])
        assert maps and all(m.dim() == 3 for _, m in maps)


def test_lenet5_counts_its_weights_as_the_paper_does():
    net = LeNet5(LeNet5Config())
    assert net.layer_parameters() == {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164,
                                      "OUTPUT": 850}  # fmt: skip
    # C3's unconnected weights: no effect on the output, and no gradient
    x = torch.randn(2, 1, 28, 28)
    net(x).sum().backward()
    grad = net.c3.weight.grad
    assert torch.all(grad[net.c3_mask.expand_as(grad) == 0] == 0)
    assert torch.any(grad[net.c3_mask.expand_as(grad) == 1] != 0)
    # the fully connected variant with plain pooling is exactly the cnn-shapes count of its spec
    plain = LeNet5(LeNet5Config(c3_table=False, pool="avg"))
    spec = "28x28x1 conv5x5x6p2 avgpool2 conv5x5x16p0 avgpool2 conv5x5x120p0 flatten fc84 fc10"
    assert params(plain) == sum(r.parameters for r in cnn_shapes(spec)) == 61_706


def test_vgg_at_128_pixels_is_the_lecture_network():
    spec = "128x128x3 conv3x3x32 pool2 conv3x3x64 pool2 conv3x3x128 pool2 flatten fc1024 fc512 fc1000"
    rows = cnn_shapes(spec)
    net = VGG(VGGConfig(in_channels=3, image_size=128, num_classes=1000))  # padding 1: same, as the lecture
    assert params(net) == sum(r.parameters for r in rows) == 34_686_504
    assert net.flat_features == rows[7].shape[0] == 32_768
    maps = net.feature_maps(torch.zeros(1, 3, 128, 128))
    shapes = [tuple(m.shape) for name, m in maps if "pool" in name]
    assert shapes == [(32, 64, 64), (64, 32, 32), (128, 16, 16)]  # the lecture's sizes, channels first
    # without padding, the spec says p0; its pooling rounds up (ceil mode) where PyTorch's default rounds down
    spec_p0 = "128x128x3 conv3x3x32p0 pool2 conv3x3x64p0 pool2 conv3x3x128p0 pool2 flatten fc1024 fc512 fc1000"
    assert [shape_text(r.shape) for r in cnn_shapes(spec_p0)][1:8] == [
        "126x126x32", "63x63x32", "61x61x64", "31x31x64", "29x29x128", "15x15x128", "28800"]  # fmt: skip
    assert params(VGG(VGGConfig())) == 1_803_274  # the same network on 28x28 digits (padding 1)


def test_mlp_parameters_the_lecture_criticises():
    net = MLP(MLPConfig(hidden=(512, 256)))
    assert params(net.hidden[0]) == 784 * 512 + 512
    assert params(net) == (784 + 1) * 512 + (512 + 1) * 256 + (256 + 1) * 10


@pytest.mark.parametrize(
    "family,cfg",
    [("lenet5", LeNet5Config()), ("vgg", VGGConfig(channels=(4, 8), fc=(8,))), ("resnet", ResNetConfig(channels=(4,),
     blocks=(1,)))],
)  # fmt: skip
def test_from_definition_convolutions_give_the_same_network(family, cfg):
    entry = IMAGE_MODELS[family]
    torch.manual_seed(1)
    fast = entry.network_class()(cfg).double().eval()
    x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    for impl in ("unfold", "sliding"):
        other_cfg = type(cfg)(**{**cfg.__dict__, "conv": impl})
        other = entry.network_class()(other_cfg).double().eval()
        other.load_state_dict(fast.state_dict())
        torch.testing.assert_close(other(x), fast(x), rtol=1e-10, atol=1e-10)


def test_resnet_options():
    with_res = ResNet(ResNetConfig(channels=(4, 8), blocks=(1, 1)))
    plain = ResNet(ResNetConfig(channels=(4, 8), blocks=(1, 1), residual=False))
    # the projection shortcut of stage 2 (a 1x1 convolution and its batch norm) is the only difference
    assert params(with_res) - params(plain) == 4 * 8 + 2 * 8
    no_bn = ResNet(ResNetConfig(channels=(4,), blocks=(1,), batch_norm=False))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in no_bn.modules())
    x = torch.randn(3, 1, 28, 28)
    assert no_bn(x).shape == (3, 10)


def test_vit_patch_embedding_is_unfold_and_a_matrix_product():
    torch.manual_seed(0)
    net = ViT(ViTConfig(d_model=16, n_head=2, n_layer=1, d_ff=32)).eval()
    x = torch.randn(2, 1, 28, 28)
    patches = F.unfold(x, 7, stride=7).transpose(1, 2)  # (B, 16, 49): each patch's pixels
    w = net.patch_embed.weight.view(16, -1)
    ours = net.patch_embed(x).flatten(2).transpose(1, 2)
    torch.testing.assert_close(ours, patches @ w.T + net.patch_embed.bias, rtol=1e-5, atol=1e-5)
    assert net.attention_maps(x[:1]).shape == (1, 4, 4)


def test_vit_encoder_layer_equals_torch():
    torch.manual_seed(0)
    net = ViT(ViTConfig(d_model=16, n_head=2, n_layer=1, d_ff=32, dropout=0.0)).eval()
    ref = torch.nn.TransformerEncoderLayer(16, 2, 32, 0.0, activation="gelu", batch_first=True, norm_first=True).eval()
    ours = net.layers[0]
    ref.self_attn.in_proj_weight.data.copy_(ours.self_attn.in_proj.weight)  # the same (3C, C) layout as torch's
    ref.self_attn.in_proj_bias.data.copy_(ours.self_attn.in_proj.bias)
    ref.self_attn.out_proj.load_state_dict(ours.self_attn.out_proj.state_dict())
    for a in ("linear1", "linear2", "norm1", "norm2"):
        getattr(ref, a).load_state_dict(getattr(ours.ff if a.startswith("linear") else ours, a).state_dict())
    h = torch.randn(2, 17, 16)
    torch.testing.assert_close(ours(h)[0], ref(h), rtol=1e-5, atol=1e-5)


def test_sizes_that_shrink_to_nothing_name_the_layer():
    with pytest.raises(LmlabError, match="lenet5: layer C5 .* gets a 2x2 map, which shrinks to nothing"):
        LeNet5(LeNet5Config(image_size=16))
    with pytest.raises(LmlabError, match="vgg: layer block 4 pool .* gets a 1x1 map"):
        VGG(VGGConfig(image_size=8, channels=(2, 2, 2, 2), fc=(4,)))
    with pytest.raises(LmlabError, match="--patch-size 5 must divide the image size 28"):
        ViTConfig(patch_size=5)
    with pytest.raises(LmlabError, match="--d-model 10 must be a multiple of --n-head 4"):
        ViTConfig(d_model=10)
    with pytest.raises(LmlabError, match="--pool must be one of"):
        LeNet5Config(pool="median")
    with pytest.raises(LmlabError, match="--conv must be one of"):
        VGGConfig(conv="winograd")
    with pytest.raises(LmlabError, match="at least 2 classes"):
        MLPConfig(num_classes=1)
