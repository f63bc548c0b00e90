#!/usr/bin/env python3
"""PyTorch reference for TransferHub's worker benchmark (Debian python3-torch / python3-torchvision).

Same architecture (torchvision ResNet, BasicBlock [2,2,2,3]), same weights (exported by the worker as a PyTorch
state_dict), same images, same split, same preprocessing (alpha on white, squash resize, BGR minus channel means),
epochs and image size. Prints one JSON line with the timings.

Modes:
  feature-extraction  the tutorial's "ConvNet as fixed feature extractor": frozen backbone (eval mode), the
                      head trains, the backbone runs over every image in every epoch.
  fine-tune           everything trains (backbone LR x0.1), random resized crop + horizontal flip.
"""
import argparse
import csv
import json
import time

import torch
import torch.nn as nn
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.models.resnet import BasicBlock, ResNet

MEANS_BGR = torch.tensor([103.063, 115.903, 123.152]).view(3, 1, 1)


def load_rgb_on_white(path):
    with Image.open(path) as image:
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")


def to_model_input(tensor01):
    # ToTensor gives RGB in 0..1; the pretrained network wants BGR 0..255 minus the channel means.
    return tensor01.flip(0) * 255.0 - MEANS_BGR


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="folder-per-class image folder")
    parser.add_argument("--split", required=True, help="CSV: relative path, split (train/val/test)")
    parser.add_argument("--weights", required=True, help="backbone state_dict exported by the worker (.pt)")
    parser.add_argument("--mode", choices=["feature-extraction", "fine-tune"], required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    plain = transforms.Compose([transforms.Resize((args.size, args.size)), transforms.ToTensor(), to_model_input])
    augmented = transforms.Compose([
        transforms.RandomResizedCrop(args.size, scale=(0.6, 1.0)),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        to_model_input,
    ]) if args.mode == "fine-tune" else plain

    train_set = torchvision.datasets.ImageFolder(args.data, transform=augmented, loader=load_rgb_on_white)
    eval_set = torchvision.datasets.ImageFolder(args.data, transform=plain, loader=load_rgb_on_white)
    index = {path: i for i, (path, _) in enumerate(train_set.samples)}
    splits = {"train": [], "val": [], "test": []}
    with open(args.split) as f:
        for relative, split in csv.reader(f):
            splits[split].append(index[f"{args.data.rstrip('/')}/{relative}"])

    def loader(dataset, split, shuffle):
        subset = torch.utils.data.Subset(dataset, splits[split])
        return torch.utils.data.DataLoader(subset, batch_size=args.batch, shuffle=shuffle, num_workers=args.workers)

    model = ResNet(BasicBlock, [2, 2, 2, 3])
    missing, unexpected = model.load_state_dict(torch.load(args.weights), strict=False)
    assert set(missing) <= {"fc.weight", "fc.bias"} and not unexpected, (missing, unexpected)
    model.fc = nn.Linear(512, len(train_set.classes))

    if args.mode == "feature-extraction":
        for p in model.parameters():
            p.requires_grad = False
        for p in model.fc.parameters():
            p.requires_grad = True
        optimizer = torch.optim.Adam(model.fc.parameters(), lr=3e-3)
    else:
        head = list(model.fc.parameters())
        head_ids = {id(p) for p in head}
        body = [p for p in model.parameters() if id(p) not in head_ids]
        optimizer = torch.optim.Adam([{"params": head, "lr": 1e-3}, {"params": body, "lr": 1e-4}])
    criterion = nn.CrossEntropyLoss()

    def evaluate(split):
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for x, y in loader(eval_set, split, False):
                correct += (model(x).argmax(1) == y).sum().item()
                total += len(y)
        return correct / max(total, 1)

    epochs = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        if args.mode == "feature-extraction":
            model.eval()  # frozen BatchNorm; only the head's parameters change
        for x, y in loader(train_set, "train", True):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        val_accuracy = evaluate("val")
        epochs.append({"epoch": epoch + 1, "seconds": time.perf_counter() - t0, "val_accuracy": val_accuracy})

    test_accuracy = evaluate("test")
    print(json.dumps({
        "mode": args.mode, "size": args.size, "epochs": epochs, "test_accuracy": test_accuracy,
        "total_seconds": time.perf_counter() - started, "torch": torch.__version__, "threads": args.threads,
        "workers": args.workers, "train_images": len(splits["train"]),
    }))


if __name__ == "__main__":
    main()
