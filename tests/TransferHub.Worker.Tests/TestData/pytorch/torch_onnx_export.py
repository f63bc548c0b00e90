#!/usr/bin/env python3
"""Writes what PyTorch itself produces for a TorchVision architecture, for the worker's opt-in import test.

Usage: torch_onnx_export.py ARCH OUT_DIR [--size 64] [--batch 2] [--seed 7]

In OUT_DIR:
  ARCH-pytorch.onnx      torch.onnx.export of the whole classifier (eval mode, opset 17, constant folding on, so
                         every BatchNorm is folded into its convolution and initializers get generated names), with a
                         dynamic batch axis: the file a user drops into the worker's weights folder.
  ARCH.input.f32         the test input, float32 [batch, 3, size, size], row-major, little-endian.
  ARCH.features.f32      PyTorch's pooled backbone features of that input (the classifier with its last Linear
                         replaced by Identity; eval mode): float32 [batch, feature_dim].
Random weights (seeded), with BatchNorm statistics and affine parameters randomised too, so the folding is not an
identity. Needs Debian's python3-torch and python3-torchvision (1.13 / 0.14).
"""
import argparse
import os

import torch
import torchvision


def build(arch):
    factories = {
        "resnet18": torchvision.models.resnet18,
        "resnet34": torchvision.models.resnet34,
        "resnet50": torchvision.models.resnet50,
        "mobilenet_v2": torchvision.models.mobilenet_v2,
    }
    return factories[arch](weights=None)


def randomise_batch_norm(model, generator):
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
            module.weight.data.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("arch")
    parser.add_argument("out")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(args.seed)
    model = build(args.arch)
    with torch.no_grad():
        randomise_batch_norm(model, generator)
    model.eval()

    x = torch.rand(args.batch, 3, args.size, args.size, generator=generator) * 4 - 2
    os.makedirs(args.out, exist_ok=True)
    torch.onnx.export(model, x, os.path.join(args.out, f"{args.arch}-pytorch.onnx"), opset_version=17,
                      do_constant_folding=True, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})

    if args.arch.startswith("resnet"):
        model.fc = torch.nn.Identity()
    else:
        model.classifier = torch.nn.Identity()
    with torch.no_grad():
        features = model(x)
    x.contiguous().numpy().astype("<f4").tofile(os.path.join(args.out, f"{args.arch}.input.f32"))
    features.contiguous().numpy().astype("<f4").tofile(os.path.join(args.out, f"{args.arch}.features.f32"))
    print(f"{args.arch}: input {tuple(x.shape)}, features {tuple(features.shape)}")


if __name__ == "__main__":
    main()
