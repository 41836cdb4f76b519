"""Training the model: the team's labelled texts (shipped in data/corpus/) plus every recategorisation an
office made on the 待分类 page, through scikit-learn's logistic regression, into a `Model` the web process
answers with in pure Python.

scikit-learn (with numpy and scipy) is imported here and only here: `gridpatrol understanding retrain` and
the developers' `python -m sms.understanding.train` load it; no serving process ever does.

- Labels: a report is labelled with its category (a text with two acceptable categories counts half for
  each); every other text with its intent.
- An office's correction counts as much as CORRECTION_SHARE of the shipped texts together (1 %: eighteen
  corpus texts today; it is the office's own word on its own residents' phrasing, and must not drown as the
  shipped corpus grows), and its rare n-grams are kept even when seen once (呲花 after one correction).
- Calibration: out-of-fold scores over FOLDS folds fit one temperature (the one that minimises the log loss),
  so the probabilities the gateway compares with its threshold are honest on unseen texts.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources

from sms.parser import normalize
from sms.understanding.category import Lexicon, build_lexicon
from sms.understanding.features import features, read
from sms.understanding.model import Model, shipped_path

C = 4.0                # inverse regularisation strength, chosen by cross-validation on the training corpus
CORRECTION_SHARE = 0.01   # one correction weighs this share of the shipped corpus
MIN_COUNT = 2          # an n-gram must occur in this many corpus texts to be kept
FOLDS = 5
INTENTS = ("query", "stop", "start", "help", "chat", "spam")


@dataclass(frozen=True)
class Example:
    text: str          # as received (normalised when read)
    labels: tuple[str, ...]
    weight: float = 1.0
    source: str = "corpus"


def parse_corpus(text: str, source: str = "corpus") -> list[Example]:
    """intent<TAB>categories<TAB>place<TAB>text lines (the bench/corpus format); # lines are comments."""
    examples = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intent, categories, _place, body = line.split("\t", 3)
        labels = tuple(c for c in categories.split("|") if c and c != ".") if intent == "report" else (intent,)
        examples.append(Example(body, labels or ("other",), 1.0, source))
    return examples


def shipped_corpus() -> list[Example]:
    """Every data/corpus/*.tsv in the package: the texts the shipped model was trained on."""
    folder = resources.files("sms.understanding").joinpath("data/corpus")
    examples: list[Example] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".tsv"):
            examples.extend(parse_corpus(entry.read_text("utf-8"), entry.name))
    return examples


def corrections_as_examples(corrections, corpus_size: int | None = None) -> list[Example]:
    """(text, category code) pairs from the 待分类 page: each is a report of that category, weighted
    CORRECTION_SHARE of the corpus it joins (the shipped one unless `corpus_size` says otherwise)."""
    size = len(shipped_corpus()) if corpus_size is None else corpus_size
    weight = max(8.0, CORRECTION_SHARE * size)
    return [Example(text, (code,), weight, "correction") for text, code in corrections if text]


def _rows(examples: list[Example], lexicon: Lexicon):
    X, y, w, groups = [], [], [], []
    for index, example in enumerate(examples):
        feats = features(read(normalize(example.text), lexicon))
        for label in example.labels:
            X.append(feats)
            y.append(label)
            w.append(example.weight / len(example.labels))
            groups.append(index)
    return X, y, w, groups


def _vocabulary(X, examples_of_rows: list[Example]) -> set[str]:
    counts: Counter = Counter()
    keep: set[str] = set()
    for feats, example in zip(X, examples_of_rows):
        counts.update(feats.keys())
        if example.source == "correction":
            keep.update(feats)
    return {f for f, n in counts.items() if n >= MIN_COUNT or not f.startswith(("c:", "w:", "p:"))} | keep


def _fit(X, y, w, vocabulary, c: float = C):
    # local: scikit-learn is for training only; serving processes never import it
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    vectorizer = DictVectorizer()
    matrix = vectorizer.fit_transform([{k: v for k, v in f.items() if k in vocabulary} for f in X])
    classifier = LogisticRegression(C=c, max_iter=3000)
    classifier.fit(matrix, y, sample_weight=w)
    return vectorizer, classifier


def _temperature(X, y, w, groups, vocabulary, c: float = C) -> float:
    """The temperature that makes out-of-fold probabilities honest (lowest weighted log loss)."""
    folds = range(len(X))
    fold_of = {g: g % FOLDS for g in set(groups)}
    scores: list[tuple[list[float], list[str], int]] = []
    for fold in range(FOLDS):
        train = [i for i in folds if fold_of[groups[i]] != fold]
        test = [i for i in folds if fold_of[groups[i]] == fold]
        if not test or len({y[i] for i in train}) < 2:
            continue
        vectorizer, classifier = _fit([X[i] for i in train], [y[i] for i in train], [w[i] for i in train],
                                      vocabulary, c)
        decision = classifier.decision_function(vectorizer.transform(
            [{k: v for k, v in X[i].items() if k in vocabulary} for i in test]))
        labels = list(classifier.classes_)
        for row, i in zip(decision, test):
            if y[i] in labels:
                scores.append((list(row), labels, labels.index(y[i])))
    if not scores:
        return 1.0

    def loss(t: float) -> float:
        total = 0.0
        for row, _labels, truth in scores:
            top = max(row)
            whole = sum(math.exp((s - top) / t) for s in row)
            total -= (row[truth] - top) / t - math.log(whole)
        return total
    return min((0.25 * 1.1 ** k for k in range(30)), key=loss)


def train(examples: list[Example], lexicon: Lexicon | None = None, *, c: float = C, calibrate: bool = True,
          note: str = "") -> Model:
    lexicon = lexicon or build_lexicon()
    X, y, w, groups = _rows(examples, lexicon)
    row_examples = [examples[g] for g in groups]
    vocabulary = _vocabulary(X, row_examples)
    vectorizer, classifier = _fit(X, y, w, vocabulary, c)
    temperature = _temperature(X, y, w, groups, vocabulary, c) if calibrate else 1.0
    labels = tuple(str(label) for label in classifier.classes_)
    names = vectorizer.get_feature_names_out()
    coef = classifier.coef_
    if len(labels) == 2:  # binary: scikit-learn keeps one row; make it two for the softmax
        coef = [[-v for v in coef[0]], list(coef[0])]
        bias = (-float(classifier.intercept_[0]), float(classifier.intercept_[0]))
    else:
        bias = tuple(float(b) for b in classifier.intercept_)
    from array import array
    width = len(labels)
    weights = array("f", [0.0] * (len(names) * width))
    for j in range(width):
        row = coef[j]
        for i in range(len(names)):
            weights[i * width + j] = float(row[i])
    sources = Counter(e.source for e in examples)
    meta = {"trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "texts": len(examples),
            "corrections": sources.get("correction", 0), "sources": dict(sources), "c": c,
            "features": len(names), "temperature": round(temperature, 3), "note": note}
    return Model(labels, {str(n): i * width for i, n in enumerate(names)}, weights, bias, temperature, meta)


def main(argv=None) -> int:
    """Rebuild the shipped model from the shipped corpus: python -m sms.understanding.train [--out PATH]."""
    import argparse
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    model = train(shipped_corpus(), note="shipped")
    target = args.out or str(shipped_path())
    with open(target, "wb") as handle:
        handle.write(model.to_bytes())
    print(f"{target}: {model.meta['texts']} texts, {model.meta['features']} features, "
          f"temperature {model.temperature:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
