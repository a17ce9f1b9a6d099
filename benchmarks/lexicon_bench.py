"""Lexicon-based transcription: accuracy and latency (the paper's Section 2.3 and Table 2).

Accuracy (36-class protocol) with the shipped weights: SVT test with its per-image 50-word
lexicons, IIIT5K test with the 50k-word lexicon, each beside the lexicon-free figure. Latency per
crop of candidate search + exact CTC scoring with the 50k lexicon (delta = 3): BK-tree vs RapidFuzz
scan vs scoring every word, measured in one run on the same crops.

    python benchmarks/lexicon_bench.py --data ../shared/data [--model NAME|DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from bench_common import data_folder

from crnn_plugin import Recognizer
from crnn_plugin.evaluate import evaluate_folder
from crnn_plugin.lexicon import Lexicon, score_words
from crnn_plugin.training.datasets import read_labels_tsv


def latency(rec: Recognizer, folder: Path, lexicon: Lexicon, n: int, n_all: int) -> dict[str, list[float]]:
    """Milliseconds per crop for each method (model forward excluded, identical for all)."""
    rows = read_labels_tsv(folder / "labels.tsv")[:n]
    tensors = [rec.prepare(folder / rel) for rel, _ in rows]
    outs = rec.log_probs_and_decode(tensors)
    vocab = rec.config.vocab
    lexicon.candidates("warmup", 3, vocab, method="bktree")  # build the tree outside the timing
    names = ["BK-tree + bounded scoring", "scan + bounded scoring", "scan + score every candidate"]
    times: dict[str, list[float]] = {k: [] for k in [*names, "score every word"]}
    counts: list[tuple[int, int]] = []  # (candidates within delta, candidates scored)
    for k, (lp, dec) in enumerate(outs):
        for name, method in zip(names[:2], ("bktree", "scan")):
            lexicon.search_method = method
            t0 = time.perf_counter()
            m = lexicon.match(lp, dec.text, vocab)
            times[name].append(1000 * (time.perf_counter() - t0))
        counts.append((m.candidates, m.scored))
        t0 = time.perf_counter()
        cands = lexicon.candidates(dec.text, 3, vocab, method="scan")
        if cands:
            score_words(lp, cands, vocab, case_sensitive=False)
        times[names[2]].append(1000 * (time.perf_counter() - t0))
        if k < n_all:
            words = lexicon._index.usable_words(vocab)  # every word the model's vocab can spell
            t0 = time.perf_counter()
            for i in range(0, len(words), 5000):
                score_words(lp, words[i : i + 5000], vocab, case_sensitive=False)
            times["score every word"].append(1000 * (time.perf_counter() - t0))
    lexicon.search_method = "auto"
    n_c, n_s = (sum(c[i] for c in counts) / len(counts) for i in (0, 1))
    print(f"candidates within delta per crop: {n_c:.0f} on average, of which {n_s:.0f} scored by CTC")
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", type=data_folder, default="../shared/data")
    p.add_argument("--model", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--latency-crops", type=int, default=300)
    p.add_argument("--all-words-crops", type=int, default=10)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    rec = Recognizer.from_pretrained(args.model, device="cpu")
    en50k = Lexicon.load("en-50k")
    svt = evaluate_folder(rec, data / "svt_test", lexicons=["per-image"])
    iiit = evaluate_folder(rec, data / "iiit5k_test", lexicons=["en-50k"])
    print("| dataset | lexicon-free | with lexicon | lexicon |")
    print("|---|---|---|---|")
    svt_lex = 100 * svt.acc36_lexicon["per-image"]
    print(f"| SVT test | {100 * svt.acc36:.1f} | {svt_lex:.1f} | per-image 50 words |")
    print(f"| IIIT5K test | {100 * iiit.acc36:.1f} | {100 * iiit.acc36_lexicon['en-50k']:.1f} | en-50k |")
    times = latency(rec, data / "iiit5k_test", en50k, args.latency_crops, args.all_words_crops)
    print()
    print(f"Latency per crop, 50k lexicon, delta=3, {args.threads} threads (model forward excluded):")
    print("| method | crops | median ms | mean ms | max ms |")
    print("|---|---|---|---|---|")
    for name, ts in times.items():
        med, mean = statistics.median(ts), statistics.mean(ts)
        print(f"| {name} | {len(ts)} | {med:.2f} | {mean:.2f} | {max(ts):.1f} |")


if __name__ == "__main__":
    main()
