#!/usr/bin/env python3
"""PyTorch reference for TransferHub's worker benchmark (Debian python3-torch / python3-torchvision).

Same architecture (torchvision ResNet, BasicBlock [2,2,2,3]), same weights (exported by the worker as a PyTorch
state_dict), same images, same split, same preprocessing (alpha on white, squash resize, BGR minus channel means),
epochs and image size. Prints one JSON line with the timings.

Modes:
  feature-extraction  the tutorial's "ConvNet as fixed feature extractor": frozen backbone (eval mode), the
                      head trains, the backbone runs over every image in every epoch.
  fine-tune           everything trains (backbone LR x0.1), random resized crop + horizontal flip.
  linear-probe        extract once: the frozen backbone's pooled last-stage features of every image (one pass, no
                      flip), standardised on train; multinomial logistic regression with an L2 penalty fitted to
                      convergence by full-batch L-BFGS (torch.optim.LBFGS); the L2 strength chosen by val accuracy
                      from a grid, then refitted on train + val and evaluated once on test. Prints accuracy and
                      macro-F1. The textbook linear probe, as the autopilot's plain-PyTorch reference column.
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
    parser.add_argument("--mode", choices=["feature-extraction", "fine-tune", "linear-probe"], required=True)
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

    if args.mode == "linear-probe":
        linear_probe(model, eval_set, splits, train_set.classes, args, started)
        return

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


def fit_logistic_regression(x, y, classes, c):
    """scikit-learn's multinomial LogisticRegression(C=c) objective divided by n: mean cross-entropy + |W|^2 / (2 C n)."""
    n, dim = x.shape
    weight = torch.zeros(classes, dim, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1, max_iter=500, tolerance_grad=1e-6, tolerance_change=1e-10,
                                  history_size=10, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(x @ weight.T + bias, y) + (weight ** 2).sum() / (2 * c * n)
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach(), bias.detach()


def macro_f1(true, predicted, classes):
    scores = []
    for k in range(classes):
        tp = ((predicted == k) & (true == k)).sum().item()
        fp = ((predicted == k) & (true != k)).sum().item()
        fn = ((predicted != k) & (true == k)).sum().item()
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / classes


def linear_probe(model, eval_set, splits, class_names, args, started):
    model.fc = nn.Identity()
    model.eval()
    for p in model.parameters():
        p.requires_grad = False
    t0 = time.perf_counter()
    features, labels = {}, {}
    with torch.no_grad():
        for split in ("train", "val", "test"):
            subset = torch.utils.data.Subset(eval_set, splits[split])
            xs, ys = [], []
            for x, y in torch.utils.data.DataLoader(subset, batch_size=args.batch, shuffle=False, num_workers=args.workers):
                xs.append(model(x).double())
                ys.append(y)
            features[split], labels[split] = torch.cat(xs), torch.cat(ys)
    extract_seconds = time.perf_counter() - t0
    classes = len(class_names)

    def standardised(fit_on, *others):
        mean, std = fit_on.mean(0), fit_on.std(0, unbiased=False).clamp_min(1e-8)
        return [(t - mean) / std for t in (fit_on, *others)]

    grid = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
    val_scores = {}
    x_train, x_val = standardised(features["train"], features["val"])
    for c in grid:
        w, b = fit_logistic_regression(x_train, labels["train"], classes, c)
        val_scores[c] = ((x_val @ w.T + b).argmax(1) == labels["val"]).double().mean().item()
    best = max(grid, key=lambda c: (val_scores[c], -abs(grid.index(c) - 2)))  # ties: nearest to C = 0.1
    pool_x = torch.cat([features["train"], features["val"]])
    pool_y = torch.cat([labels["train"], labels["val"]])
    x_pool, x_test = standardised(pool_x, features["test"])
    w, b = fit_logistic_regression(x_pool, pool_y, classes, best)
    predicted = (x_test @ w.T + b).argmax(1)
    print(json.dumps({
        "mode": args.mode, "size": args.size, "test_accuracy": (predicted == labels["test"]).double().mean().item(),
        "test_macro_f1": macro_f1(labels["test"], predicted, classes), "c": best, "val_accuracy_by_c": val_scores,
        "extract_seconds": extract_seconds, "total_seconds": time.perf_counter() - started, "torch": torch.__version__,
        "threads": args.threads, "train_images": len(splits["train"]),
    }))


if __name__ == "__main__":
    main()
