"""Reference numbers for TransferHub.Contracts.Metrics.ClassificationMetrics (tests/TransferHub.Contracts.Tests).

Run with Debian's scikit-learn (apt-get install python3-sklearn; 1.2.1 when the tests were written):
    /usr/bin/python3 bench/reference/classification_metrics_reference.py
It prints, for each case, what scikit-learn's documented defaults give (labels=None, zero_division=0) and, where the
case names them, the numbers with labels= every class of the job. The tests hold these numbers as constants.
"""
from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_recall_fscore_support

CASES = {
    # 3 cats (2 right, 1 called dog), 2 dogs (both right), 1 bird (called cat).
    "hand_worked": ([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 0], 3),
    # class-without-train-images.zip, classes in the product's order [cyan, down, red, up]: the test split holds
    # red x3 (all right) and up x3 (all called down); cyan and down have no test images, cyan is never predicted.
    "class_without_train_images": ([2, 2, 2, 3, 3, 3], [2, 2, 2, 1, 1, 1], 4),
    "all_correct": ([0, 1, 2, 2, 1, 0, 3], [0, 1, 2, 2, 1, 0, 3], 5),
    # Five classes, uneven supports, class 4 has no test images but is predicted once, class 3 is never predicted.
    "mixed": ([0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3], [0, 0, 1, 4, 1, 1, 0, 2, 2, 2, 1, 0, 2, 0], 5),
}


def show(name, y_true, y_pred, labels):
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None, zero_division=0)
    print(f"  {name} per class (labels={labels}):")
    print(f"    precision {[float(x) for x in p]}")
    print(f"    recall    {[float(x) for x in r]}")
    print(f"    f1        {[float(x) for x in f]}")
    print(f"    support   {[int(x) for x in s]}")
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=average, zero_division=0)
        print(f"    {average}: precision {float(p)!r} recall {float(r)!r} f1 {float(f)!r}")


for case, (y_true, y_pred, classes) in CASES.items():
    print(case)
    print(f"  accuracy {accuracy_score(y_true, y_pred)!r}")
    print(f"  balanced accuracy {balanced_accuracy_score(y_true, y_pred)!r}")
    show("default", y_true, y_pred, None)
    show("all classes", y_true, y_pred, list(range(classes)))
