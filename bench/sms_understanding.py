"""How well residents' free texts are understood, on held-out corpora nobody tuned on.

    .venv/bin/python bench/sms_understanding.py              # every held-out corpus, then all of them combined
    .venv/bin/python bench/sms_understanding.py --cv         # 5-fold cross-validation on the training texts
    .venv/bin/python bench/sms_understanding.py --cv --errors  # ... and list the misses (training texts only)
    .venv/bin/python bench/sms_understanding.py --rules-only # the rules without the model, for comparison

Held-out corpora: bench/corpus/heldout.tsv (the team's, written before the understanding code) and every
bench/corpus/residents/*heldout*.tsv (one per independent writer). Each line: intent, acceptable categories
(a|b), expected area code (- = the intake area), text. They are run through the same path the gateway uses
for a resident (sms.understanding.resolve.interpret: the coded grammar first, then the rules and the
shipped model) and only aggregate figures are printed — per corpus and combined: reports under an acceptable
category, clear opt-outs honoured, false opt-outs, questions answered as questions, intent accuracy,
per-category precision/recall and the confusion matrix. The held-out texts are never printed: `--errors`
refuses unless `--cv` (training texts). Speed: p95 per text in process, the model's load time and the
resident set growth of a fresh process that loads everything the web process loads to understand a text.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sms.understanding import RULES_ONLY, Gazetteer, build_lexicon, prepare  # noqa: E402
from sms.understanding.resolve import interpret  # noqa: E402
from sms.understanding.train import shipped_corpus, train  # noqa: E402

CORPUS = ROOT / "bench" / "corpus"
ANSWERED = {"report", "query", "stop", "start", "help", "chat", "spam"}
DEFAULT_CATEGORIES = {1: "dust", 2: "construction_dust", 3: "garbage_burning", 4: "straw_burning", 5: "coal",
                      6: "fireworks", 7: "cured_meat", 8: "cooking_fumes", 9: "industrial", 10: "other"}


def heldout_corpora() -> dict[str, list[tuple[str, set[str], str, str]]]:
    files = [CORPUS / "heldout.tsv", *sorted((CORPUS / "residents").glob("*heldout*.tsv"))]
    return {path.stem if path.parent == CORPUS else f"residents/{path.stem}": load(path) for path in files
            if path.exists()}


def load(path: Path) -> list[tuple[str, set[str], str, str]]:
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intent, categories, place, text = line.split("\t", 3)
        rows.append((intent.strip(), set(categories.strip().split("|")), place.strip(), text))
    return rows


def gazetteer() -> tuple[Gazetteer, str]:
    data = json.loads((CORPUS / "gazetteer.json").read_text("utf-8"))
    g, depth = Gazetteer(), {}
    for index, (code, name, kind, parent, aliases) in enumerate(data["areas"], start=1):
        depth[code] = 0 if parent is None else depth[parent] + 1
        g.add_area(index, code, name, kind, depth[code], aliases)
    return g, data["intake"]


def judge(rows, lexicon, gaz, intake, model=None, repeat=1) -> tuple[list[tuple], list[float]]:
    """(expected intent, acceptable categories, expected place, text, got intent, got category, place right)."""
    results, timings = [], []
    for intent, cats, place, text in rows:
        runs = []
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            parsed = interpret(text, is_staff=False, lexicon=lexicon, gazetteer=gaz, model=model)
            runs.append((time.perf_counter() - t0) * 1000)
        timings.append(statistics.median(runs))
        u = parsed.understanding or {}
        got_intent = "help" if parsed.command == "empty" else parsed.command
        got_cat = u.get("category") or (DEFAULT_CATEGORIES.get(parsed.category) if parsed.command == "report" else None)
        got_place = (u.get("place") or {}).get("code") or intake
        results.append((intent, cats, place, text, got_intent, got_cat or "other",
                        got_place == (intake if place in ("-", ".") else place)))
    return results, timings


def figures(results) -> dict:
    reports = [r for r in results if r[0] == "report"]
    stops = [r for r in results if r[0] == "stop"]
    questions = [r for r in results if r[0] == "query"]
    not_stop = [r for r in results if r[0] != "stop"]
    return {
        "texts": len(results),
        "reports": (sum(r[4] == "report" and r[5] in r[1] for r in reports), len(reports)),
        "opt-outs honoured": (sum(r[4] == "stop" for r in stops), len(stops)),
        "false opt-outs": (sum(r[4] == "stop" for r in not_stop), len(not_stop)),
        "false opt-outs (adverts, help)": (sum(r[4] == "stop" for r in not_stop if r[0] in ("spam", "help")),
                                           sum(r[0] in ("spam", "help") for r in not_stop)),
        "questions answered": (sum(r[4] == "query" for r in questions), len(questions)),
        "intent": (sum(r[0] == r[4] for r in results), len(results)),
        "place (reports)": (sum(r[4] == "report" and r[6] for r in reports), len(reports)),
        "answered": (sum(r[4] in ANSWERED for r in results), len(results)),
    }


def print_figures(name: str, fig: dict) -> None:
    goals = {"reports": "goal ≥ 95 %", "opt-outs honoured": "goal 100 %", "false opt-outs": "goal 0",
             "questions answered": "goal ≥ 98 %"}
    print(f"\n== {name}: {fig['texts']} texts")
    for key, value in fig.items():
        if key == "texts":
            continue
        hit, total = value
        share = f"{hit / total:6.1%}" if total else "   n/a"
        print(f"  {key:32s} {share}  ({hit}/{total}){'  ' + goals[key] if key in goals else ''}")


def per_category(results) -> None:
    reports = [r for r in results if r[0] == "report"]
    tp, fp, fn = Counter(), Counter(), Counter()
    confusion: dict[str, Counter] = defaultdict(Counter)
    for _intent, cats, _p, _t, got_intent, got_cat, _gp in reports:
        truth = got_cat if got_cat in cats else sorted(cats)[0]
        predicted = got_cat if got_intent == "report" else f"<{got_intent}>"
        confusion[truth][predicted] += 1
        if predicted == truth:
            tp[truth] += 1
        else:
            fn[truth] += 1
            fp[predicted] += 1
    labels = sorted(set(confusion) | {p for row in confusion.values() for p in row})
    print("\nper category (reports):  precision  recall  support")
    for label in labels:
        support = tp[label] + fn[label]
        precision = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        print(f"  {label:22s} {precision:8.1%} {tp[label] / support if support else 0.0:7.1%} {support:8d}")
    print("\nconfusion (rows: truth, columns: filed as)")
    print(" " * 20 + " ".join(f"{c[:6]:>6s}" for c in labels))
    for truth in sorted(confusion):
        print(f"  {truth:18s}" + " ".join(f"{confusion[truth][c] or '.':>6}" for c in labels))
    intents = Counter((r[0], r[4]) for r in results if r[0] != r[4])
    if intents:
        print("\nintent confusions (expected → got):",
              ", ".join(f"{a}→{b} ×{n}" for (a, b), n in sorted(intents.items(), key=lambda kv: -kv[1])))


PROBE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize() / 1e6
import flask, sqlalchemy  # what a web process has loaded anyway
base = rss()
t0 = time.perf_counter()
from sms.understanding import build_lexicon, understand
from sms.understanding.model import shipped
from sms.parser import normalize
t1 = time.perf_counter()
model = shipped()
t2 = time.perf_counter()
lexicon = build_lexicon()
understand(normalize("楼下有人烧煤"), lexicon)
t3 = time.perf_counter()
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "model_load_ms": (t2 - t1) * 1000,
                  "first_text_ms": (t3 - t2) * 1000, "rss_delta_mb": rss() - base,
                  "heavy": sorted(m for m in ("numpy", "scipy", "sklearn", "pypinyin") if m in sys.modules)}}))
"""


def probe() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT))], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cross_validate(folds: int, errors: bool, lexicon, gaz, intake) -> None:
    examples = shipped_corpus()
    rows = []
    for example in examples:
        intent = example.labels[0] if example.labels[0] in ("query", "stop", "start", "help", "chat", "spam") \
            else "report"
        rows.append((intent, set(example.labels) if intent == "report" else {"."}, "-", example.text))
    results = []
    for fold in range(folds):
        train_part = [e for i, e in enumerate(examples) if i % folds != fold]
        model = train(train_part, lexicon, calibrate=False)
        part, _ = judge([r for i, r in enumerate(rows) if i % folds == fold], lexicon, gaz, intake, model)
        results.extend(part)
    print_figures(f"training texts, {folds}-fold cross-validation", figures(results))
    per_category(results)
    if errors:
        print("\nmisses (training texts):")
        for intent, cats, _p, text, got_intent, got_cat, _gp in results:
            if intent != got_intent or (intent == "report" and got_cat not in cats):
                print(f"  [{intent}/{'|'.join(sorted(cats))}] → [{got_intent}/{got_cat}] {text}")


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--cv", action="store_true", help="cross-validate on the training texts instead")
    args.add_argument("--folds", type=int, default=5)
    args.add_argument("--errors", action="store_true", help="list misses (training texts under --cv only)")
    args.add_argument("--rules-only", action="store_true", help="the rules without the model")
    args.add_argument("--repeat", type=int, default=5, help="time each text this many times, keep the median")
    opts = args.parse_args()
    lexicon = build_lexicon()
    gaz, intake = gazetteer()
    prepare(lexicon, gaz)
    if opts.cv:
        cross_validate(opts.folds, opts.errors, lexicon, gaz, intake)
        return 0
    if opts.errors:
        print("refusing: held-out texts are never printed (use --cv --errors on the training texts)",
              file=sys.stderr)
        return 2
    model = RULES_ONLY if opts.rules_only else None
    combined, timings = [], []
    for name, rows in heldout_corpora().items():
        results, times = judge(rows, lexicon, gaz, intake, model, opts.repeat)
        print_figures(f"held-out {name}", figures(results))
        combined.extend(results)
        timings.extend(times)
    print_figures("held-out, all corpora combined", figures(combined))
    per_category(combined)
    timings.sort()
    speed = probe()
    print(f"\ntime per text (median of {opts.repeat} runs, {len(timings)} texts): p50 "
          f"{timings[len(timings) // 2]:.3f} ms, p95 {timings[int(len(timings) * 0.95)]:.3f} ms, max "
          f"{timings[-1]:.3f} ms (goal p95 ≤ 2 ms)")
    print(f"fresh process: model load {speed['model_load_ms']:.0f} ms (goal ≤ 1 s); understanding's imports "
          f"{speed['import_ms']:.0f} ms; first text (jieba's dictionary, lexicon) {speed['first_text_ms']:.0f} ms; "
          f"RSS +{speed['rss_delta_mb']:.0f} MB (goal ≤ 100 MB); heavy libraries loaded: "
          f"{', '.join(speed['heavy']) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
