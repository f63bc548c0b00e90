#!/usr/bin/env python3
"""PyTorch reference for TransferHub's worker benchmark (Debian python3-torch / python3-torchvision).

Same architecture (torchvision ResNet, BasicBlock [2,2,2,3]), same weights (exported by the worker as a PyTorch
state_dict), same images, same split, same preprocessing (alpha on white, squash resize, BGR minus channel means),
epochs and image size. Prints one JSON line with the timings.

Modes:
  feature-extraction  the tutorial's "ConvNet as fixed feature extractor": frozen backbone (eval mode), the
                      head trains, the backbone runs over every image in every epoch.
  fine-tune           everything trains (backbone LR x0.1), random resized crop + horizontal flip. --optimizer sgd
                      --backbone-lr-mult 1 --crop-scale-min 0.08 --step-size 7 gives the PyTorch tutorial's recipe
                      (SGD momentum 0.9, StepLR), the one issue 16 compares fine-tuning speed with; --predict-image
                      then times single-image predictions of the trained model (decode, resize, forward, softmax).
  linear-probe        extract once: the frozen backbone's pooled last-stage features of every image (one pass, no
                      flip), standardised on train; multinomial logistic regression with an L2 penalty fitted to
                      convergence by full-batch L-BFGS (torch.optim.LBFGS); the L2 strength chosen by val accuracy
                      from a grid, then refitted on train + val and evaluated once on test. Prints accuracy and
                      macro-F1. The textbook linear probe, as the autopilot's plain-PyTorch reference column.
  extract-once        like for like with TransferHub's feature extraction: the frozen backbone (eval, inference_mode)
                      computes every image's pooled features ONCE (DataLoader with --workers decode processes); prints
                      images/s of that pass. No head is trained.
Resident memory: "rss_idle_mib" (model loaded, before training) and "rss_after_mib" (after training, gc) of this
process, read from /proc/self/status; a parent that wants the peak of the whole process tree (DataLoader workers
included) polls it.
"""
import argparse
import csv
import gc
import io
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


def rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def percentile(sorted_values, p):
    # Nearest rank, as the C# bench computes it.
    import math
    return sorted_values[min(max(math.ceil(p / 100 * len(sorted_values)) - 1, 0), len(sorted_values) - 1)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="folder-per-class image folder")
    parser.add_argument("--split", required=True, help="CSV: relative path, split (train/val/test)")
    parser.add_argument("--weights", required=True, help="backbone state_dict exported by the worker (.pt)")
    parser.add_argument("--mode", choices=["feature-extraction", "fine-tune", "linear-probe", "extract-once"], required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help="fine-tune: Adam, or SGD momentum 0.9")
    parser.add_argument("--lr", type=float, default=1e-3, help="fine-tune: the head's learning rate")
    parser.add_argument("--backbone-lr-mult", type=float, default=0.1, help="fine-tune: the backbone's rate = lr x this")
    parser.add_argument("--crop-scale-min", type=float, default=0.6, help="fine-tune: RandomResizedCrop's smallest area")
    parser.add_argument("--step-size", type=int, default=0, help="fine-tune: StepLR every N epochs (gamma 0.1); 0 = none")
    parser.add_argument("--predict-image", help="after fine-tuning: time single-image predictions of this file")
    parser.add_argument("--predict-count", type=int, default=100)
    parser.add_argument("--breakdown", action="store_true", help="per epoch: seconds waiting for batches, forward, backward, step")
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    plain = transforms.Compose([transforms.Resize((args.size, args.size)), transforms.ToTensor(), to_model_input])
    augmented = transforms.Compose([
        transforms.RandomResizedCrop(args.size, scale=(args.crop_scale_min, 1.0)),
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

    if args.mode == "extract-once":
        extract_once(args, model, eval_set, splits, started)
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
        groups = [{"params": head, "lr": args.lr}, {"params": body, "lr": args.lr * args.backbone_lr_mult}]
        optimizer = torch.optim.SGD(groups, lr=args.lr, momentum=0.9) if args.optimizer == "sgd" else torch.optim.Adam(groups)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, args.step_size, gamma=0.1) if args.step_size > 0 else None
    criterion = nn.CrossEntropyLoss()
    gc.collect()
    rss_idle = rss_mib()

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
        parts = [0.0] * 5  # wait for batch, forward + loss, backward, step, loss read
        mark = time.perf_counter()

        def lap(i):
            nonlocal mark
            now = time.perf_counter()
            parts[i] += now - mark
            mark = now

        for x, y in loader(train_set, "train", True):
            lap(0)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            lap(1)
            loss.backward()
            lap(2)
            optimizer.step()
            lap(3)
            loss.item()
            lap(4)
        train_seconds = time.perf_counter() - t0
        if scheduler is not None:
            scheduler.step()
        val_accuracy = evaluate("val")
        epochs.append({"epoch": epoch + 1, "seconds": time.perf_counter() - t0, "val_accuracy": val_accuracy})
        if args.breakdown:
            epochs[-1].update({"wait": parts[0], "forward": parts[1], "backward": parts[2], "step": parts[3], "read": parts[4],
                               "train": train_seconds, "validation": epochs[-1]["seconds"] - train_seconds})

    test_accuracy = evaluate("test")
    total_seconds = time.perf_counter() - started
    optimizer.zero_grad(set_to_none=True)
    gc.collect()
    rss_after = rss_mib()
    predict = time_predictions(args, model, plain) if args.predict_image else None
    print(json.dumps({
        "mode": args.mode, "size": args.size, "epochs": epochs, "test_accuracy": test_accuracy,
        "total_seconds": total_seconds, "torch": torch.__version__, "threads": args.threads,
        "workers": args.workers, "train_images": len(splits["train"]), "rss_idle_mib": rss_idle, "rss_after_mib": rss_after,
        "predict_ms": predict,
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


def extract_once(args, model, eval_set, splits, started):
    """Every image's pooled features once: eval mode (frozen BatchNorm), inference_mode, batches of --batch."""
    model.fc = nn.Identity()
    model.eval()
    every = sorted(splits["train"] + splits["val"] + splits["test"])
    subset = torch.utils.data.Subset(eval_set, every)
    loader = torch.utils.data.DataLoader(subset, batch_size=args.batch, shuffle=False, num_workers=args.workers)
    t0 = time.perf_counter()
    count = 0
    with torch.inference_mode():
        for x, _ in loader:
            features = model(x)
            count += features.shape[0]
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "mode": args.mode, "size": args.size, "images": count, "seconds": seconds, "images_per_second": count / seconds,
        "feature_dim": int(features.shape[1]), "total_seconds": time.perf_counter() - started, "torch": torch.__version__,
        "threads": args.threads, "workers": args.workers,
    }))


def time_predictions(args, model, plain):
    """Single-image predictions of a loaded model: decode the file's bytes (held in memory), alpha on white, squash
    resize, normalise, forward, softmax. 5 warm-up calls, then --predict-count timed ones; ms."""
    with open(args.predict_image, "rb") as f:
        data = f.read()
    model.eval()

    def predict():
        with Image.open(io.BytesIO(data)) as image:
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            rgb = Image.alpha_composite(background, image).convert("RGB")
        with torch.inference_mode():
            return torch.softmax(model(plain(rgb).unsqueeze(0)), 1).topk(3)

    for _ in range(5):
        predict()
    times = []
    for _ in range(args.predict_count):
        t0 = time.perf_counter()
        predict()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50": percentile(times, 50), "p95": percentile(times, 95), "mean": sum(times) / len(times),
            "min": times[0], "max": times[-1], "count": len(times)}


if __name__ == "__main__":
    main()
