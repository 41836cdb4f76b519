"""How well residents' free texts are understood: intent, category and place on a labelled corpus.

    .venv/bin/python bench/sms_understanding.py            # the held-out part (the figures we report)
    .venv/bin/python bench/sms_understanding.py --part dev # the development part (the one we tune on)
    .venv/bin/python bench/sms_understanding.py --errors   # also list the misses (use on dev only)

Corpus: bench/corpus/{heldout,dev}.tsv — intent, acceptable categories (a|b), expected area code (- = the
intake area), text. The gazetteer is bench/corpus/gazetteer.json (the demo's shape plus office aliases).
Every text goes through the same path the SMS gateway uses for a resident (sms.understanding.resolve.
interpret: the coded grammar first, then understanding), with the shipped lexicon. Pure: no database.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sms.understanding import Gazetteer, build_lexicon, prepare  # noqa: E402
from sms.understanding.resolve import interpret  # noqa: E402

CORPUS = ROOT / "bench" / "corpus"
ANSWERED = {"report", "query", "stop", "start", "help", "chat", "spam", "empty"}


def load(part: str) -> list[tuple[str, set[str], str, str]]:
    rows = []
    for line in (CORPUS / f"{part}.tsv").read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        intent, categories, place, text = line.split("\t", 3)
        rows.append((intent, set(categories.split("|")), place, text))
    return rows


def gazetteer() -> tuple[Gazetteer, str]:
    data = json.loads((CORPUS / "gazetteer.json").read_text("utf-8"))
    g, ids, depth = Gazetteer(), {}, {}
    for index, (code, name, kind, parent, aliases) in enumerate(data["areas"], start=1):
        ids[code] = index
        depth[code] = 0 if parent is None else depth[parent] + 1
        g.add_area(index, code, name, kind, depth[code], aliases)
    return g, data["intake"]


def intent_of(parsed) -> str:
    command = parsed.command
    if command == "empty":
        return "help"
    return command if command in ANSWERED else f"staff:{command}"


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--part", default="heldout", choices=("heldout", "dev", "all"))
    args.add_argument("--errors", action="store_true", help="list misses (do not use on the held-out part)")
    args.add_argument("--repeat", type=int, default=5, help="time each text this many times, keep the median")
    opts = args.parse_args()
    rows = load("heldout") + load("dev") if opts.part == "all" else load(opts.part)
    started = time.perf_counter()
    lexicon = build_lexicon()
    gaz, intake = gazetteer()
    prepare(lexicon, gaz)
    warm = time.perf_counter() - started
    for _, _, _, text in rows[:20]:
        interpret(text, is_staff=False, lexicon=lexicon, gazetteer=gaz)

    timings, results = [], []
    for intent, cats, place, text in rows:
        runs = []
        for _ in range(max(1, opts.repeat)):
            t0 = time.perf_counter()
            parsed = interpret(text, is_staff=False, lexicon=lexicon, gazetteer=gaz)
            runs.append((time.perf_counter() - t0) * 1000)
        timings.append(statistics.median(runs))
        u = parsed.understanding or {}
        got_intent = intent_of(parsed)
        got_cat = u.get("category") or {None: None}.get(None)
        if parsed.command == "report" and not got_cat and u.get("explicit"):
            from core.domain.catalogue import DEFAULT_CATEGORIES
            got_cat = {n: c for n, c, *_ in DEFAULT_CATEGORIES}.get(parsed.category)
        got_place = (u.get("place") or {}).get("code") or intake
        results.append((intent, cats, place, text, got_intent, got_cat or "other", got_place, u))

    reports = [r for r in results if r[0] == "report"]
    questions = [r for r in results if r[0] == "query"]
    intent_ok = sum(r[0] == r[4] for r in results)
    cat_ok = sum(r[4] == "report" and r[5] in r[1] for r in reports)
    place_ok = sum(r[4] == "report" and r[6] == (intake if r[2] == "-" else r[2]) for r in reports)
    q_ok = sum(r[4] == "query" for r in questions)
    answered = sum(r[4] in ANSWERED for r in results)
    triage = sum(r[4] == "report" and r[7].get("needs_triage", False) for r in reports)

    print(f"corpus part: {opts.part} — {len(results)} texts ({len(reports)} reports, {len(questions)} questions)")
    print(f"intent accuracy:            {intent_ok / len(results):7.1%}  ({intent_ok}/{len(results)})")
    print(f"reports, acceptable category:{cat_ok / len(reports):7.1%}  ({cat_ok}/{len(reports)}; goal ≥ 95 %)")
    print(f"questions answered as such: {q_ok / max(1, len(questions)):7.1%}  ({q_ok}/{len(questions)}; goal ≥ 98 %)")
    print(f"texts answered:             {answered / len(results):7.1%}  ({answered}/{len(results)}; goal 100 %)")
    print(f"place accuracy (reports):   {place_ok / len(reports):7.1%}  ({place_ok}/{len(reports)})")
    print(f"filed as 其他 待分类:        {triage} of {len(reports)} reports")
    print(f"time per text (median of {opts.repeat} runs each): mean {statistics.mean(timings):.3f} ms, p95 "
          f"{sorted(timings)[int(len(timings) * 0.95)]:.3f} ms, max {max(timings):.3f} ms (goal ≤ 2 ms); "
          f"one-off jieba load {warm * 1000:.0f} ms")

    # per-category precision / recall over reports (truth = first acceptable label; hit = any acceptable)
    labels = sorted({sorted(r[1])[0] for r in reports} | {r[5] for r in reports if r[4] == "report"})
    tp, fp, fn = Counter(), Counter(), Counter()
    confusion: dict[str, Counter] = defaultdict(Counter)
    for intent, cats, _, _, got_intent, got_cat, _, _ in reports:
        truth = sorted(cats)[0] if got_cat not in cats else got_cat
        predicted = got_cat if got_intent == "report" else f"<{got_intent}>"
        confusion[truth][predicted] += 1
        if predicted == truth:
            tp[truth] += 1
        else:
            fn[truth] += 1
            fp[predicted] += 1
    print("\nper category:          precision  recall  support")
    for label in labels:
        support = tp[label] + fn[label]
        precision = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        recall = tp[label] / support if support else 0.0
        print(f"  {label:18s} {precision:9.1%} {recall:7.1%} {support:8d}")
    columns = sorted({p for row in confusion.values() for p in row} | set(confusion))
    short = {c: c[:6] for c in columns}
    print("\nconfusion (rows: truth, columns: filed as)")
    print(" " * 19 + " ".join(f"{short[c]:>6s}" for c in columns))
    for truth in sorted(confusion):
        print(f"  {truth:17s}" + " ".join(f"{confusion[truth][c] or '.':>6}" for c in columns))
    intents = Counter((r[0], r[4]) for r in results if r[0] != r[4])
    if intents:
        print("\nintent misses (expected → got):", ", ".join(f"{a}→{b} ×{n}" for (a, b), n in intents.items()))
    if opts.errors:
        print("\nmisses:")
        for intent, cats, place, text, got_intent, got_cat, got_place, u in results:
            exp_place = intake if place == "-" else place
            if intent != got_intent or (intent == "report" and (got_cat not in cats or got_place != exp_place)):
                print(f"  [{intent}/{'|'.join(sorted(cats))}/{exp_place}] → [{got_intent}/{got_cat}/{got_place}] "
                      f"{text}  {json.dumps(u.get('cues', u.get('scores', '')), ensure_ascii=False)[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
