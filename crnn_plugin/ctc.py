"""CTC transcription: best path, prefix beam search and exact sequence probabilities p(l|y).

All functions take per-frame logits or log-probabilities ``(N, T, C)`` with the blank at ``C - 1``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .vocab import Tokenizer

__all__ = [
    "Decoded",
    "best_path",
    "beam_search",
    "sequence_log_probs",
    "ctc_loss",
    "case_folded_log_probs",
    "count_upper_bounds",
]


@dataclass(frozen=True)
class Decoded:
    """A transcription: text, word confidence in [0, 1] and one confidence per character."""

    text: str
    confidence: float
    char_confidences: tuple[float, ...]


def ctc_loss(logits: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """Mean CTC loss of ``(N, T, C)`` logits against concatenated ``targets`` (blank = C - 1).

    Computed in float32 (autocast-safe), normalised by target length like ``F.ctc_loss``'s mean.
    """
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # (T, N, C)
    n, t = logits.shape[0], logits.shape[1]
    input_lengths = torch.full((n,), t, dtype=torch.long, device=logits.device)
    return F.ctc_loss(
        log_probs,
        targets,
        input_lengths,
        target_lengths,
        blank=logits.shape[-1] - 1,
        reduction="mean",
        zero_infinity=True,
    )


def sequence_log_probs(log_probs: torch.Tensor, candidates: Sequence[Sequence[int]]) -> torch.Tensor:
    """Exact ``log p(l|y)`` of each candidate label sequence, summed over all CTC alignments.

    ``log_probs`` is ``(T, C)`` for one crop (every candidate scored against it) or ``(K, T, C)``
    with one row per candidate. Returns ``(K,)``; impossible labels (too long) give ``-inf``.
    """
    k = len(candidates)
    if k == 0:
        return log_probs.new_zeros((0,))
    if log_probs.dim() == 2:
        log_probs = log_probs.unsqueeze(0).expand(k, -1, -1)
    if log_probs.shape[0] != k:
        raise ValueError(f"{log_probs.shape[0]} rows of log-probs for {k} candidates")
    t, c = log_probs.shape[1], log_probs.shape[2]
    lp = log_probs.float().transpose(0, 1)  # (T, K, C)
    lengths = torch.tensor([len(s) for s in candidates], dtype=torch.long)
    flat = torch.tensor([i for s in candidates for i in s], dtype=torch.long)
    if lp.device.type == "cuda":
        flat, lengths = flat.to(lp.device), lengths.to(lp.device)
    nll = F.ctc_loss(
        lp,
        flat,
        torch.full((k,), t, dtype=torch.long, device=lengths.device),
        lengths,
        blank=c - 1,
        reduction="none",
        zero_infinity=False,
    )
    return -nll


def best_path(logits: torch.Tensor, tokenizer: Tokenizer) -> list[Decoded]:
    """Greedy CTC decoding of ``(N, T, C)`` logits.

    The word confidence is the exact ``p(text|y)`` of the decoded text (all alignments summed), so
    it is comparable with lexicon scores; a character's confidence is its highest frame probability.
    """
    if logits.shape[0] == 0:
        return []
    log_probs = logits.float().log_softmax(-1)  # one normalisation serves the path and the score
    best_lp, best = log_probs.max(-1)  # (N, T)
    best_p = best_lp.exp()
    blank = logits.shape[-1] - 1
    best_c, best_pc = best.cpu().tolist(), best_p.cpu().tolist()
    labels: list[list[int]] = []
    char_confs: list[list[float]] = []
    for path, pvals in zip(best_c, best_pc):
        lab: list[int] = []
        conf: list[float] = []
        prev = blank
        for idx, p in zip(path, pvals):
            if idx != blank:
                if idx != prev:
                    lab.append(idx)
                    conf.append(p)
                else:
                    conf[-1] = max(conf[-1], p)
            prev = idx
        lab, conf = _tidy_spaces(lab, conf, tokenizer.space)
        labels.append(lab)
        char_confs.append(conf)
    seq_lp = sequence_log_probs(log_probs, labels)
    return [
        Decoded(tokenizer.decode(lab), float(min(1.0, math.exp(s))), tuple(conf))
        for lab, conf, s in zip(labels, char_confs, seq_lp.cpu().tolist())
    ]


def beam_search(logits: torch.Tensor, tokenizer: Tokenizer, *, beam_width: int = 10) -> list[Decoded]:
    """CTC prefix beam search (Hannun et al. 2014) over ``(N, T, C)`` logits.

    Keeps ``beam_width`` prefixes; each prefix's score sums its alignments ending in blank and
    non-blank. The best prefix is then rescored exactly (``p(l|y)``), and if best path's text
    scores higher it is returned instead, so the result is never worse than best path.
    """
    if beam_width < 1:
        raise ValueError("beam_width must be >= 1")
    log_probs = logits.float().log_softmax(-1)
    blank = logits.shape[-1] - 1
    greedy = best_path(logits, tokenizer)
    out: list[Decoded] = []
    lp_cpu = log_probs.cpu()
    for n in range(lp_cpu.shape[0]):
        seq = lp_cpu[n]
        # prune each frame to the most likely classes: prefixes beyond them cannot enter the beam
        top_lp, top_idx = seq.topk(min(beam_width, seq.shape[-1]), dim=-1)
        beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
        for t in range(seq.shape[0]):
            nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [-math.inf, -math.inf])
            b_lp = float(seq[t, blank])
            cand = list(zip(top_idx[t].tolist(), top_lp[t].tolist()))
            for prefix, (pb, pnb) in beams.items():
                total = _lse(pb, pnb)
                e = nxt[prefix]
                e[0] = _lse(e[0], total + b_lp)
                for c, c_lp in cand:
                    if c == blank:
                        continue
                    ext = prefix + (c,)
                    en = nxt[ext]
                    if prefix and prefix[-1] == c:
                        en[1] = _lse(en[1], pb + c_lp)
                        e[1] = _lse(e[1], pnb + c_lp)
                    else:
                        en[1] = _lse(en[1], total + c_lp)
            ranked = sorted(nxt.items(), key=lambda kv: _lse(*kv[1]), reverse=True)[:beam_width]
            beams = {k: (v[0], v[1]) for k, v in ranked}
        best_prefix = max(beams.items(), key=lambda kv: _lse(*kv[1]))[0]
        best_prefix = tuple(_tidy_spaces(list(best_prefix), [0.0] * len(best_prefix), tokenizer.space)[0])
        exact = float(sequence_log_probs(seq, [list(best_prefix)])[0])
        g = greedy[n]
        if math.exp(exact) <= g.confidence:
            out.append(g)
            continue
        confs = _char_confidences(seq.exp(), list(best_prefix), blank)
        out.append(Decoded(tokenizer.decode(best_prefix), float(min(1.0, math.exp(exact))), confs))
    return out


def _tidy_spaces(lab: list[int], conf: list[float], space: int | None) -> tuple[list[int], list[float]]:
    """Drop leading and trailing spaces and merge runs of spaces (the label's convention)."""
    if space is None or space not in lab:
        return lab, conf
    out_l: list[int] = []
    out_c: list[float] = []
    for i, c in zip(lab, conf):
        if i == space and (not out_l or out_l[-1] == space):
            continue
        out_l.append(i)
        out_c.append(c)
    if out_l and out_l[-1] == space:
        out_l.pop()
        out_c.pop()
    return out_l, out_c


def _char_confidences(probs: torch.Tensor, label: list[int], blank: int) -> tuple[float, ...]:
    """Per-character confidence along the most likely (Viterbi) alignment of ``label``.

    ``probs`` is ``(T, C)``; a character's confidence is its highest frame probability among the
    frames the best alignment assigns to it.
    """
    if not label:
        return ()
    lp = probs.clamp_min(1e-30).log().double().cpu().numpy()
    ext = [blank]
    for c in label:
        ext += [c, blank]
    t_max, s_max = lp.shape[0], len(ext)
    score = np.full((t_max, s_max), -np.inf)
    back = np.zeros((t_max, s_max), dtype=np.int64)
    score[0, 0] = lp[0, ext[0]]
    if s_max > 1:
        score[0, 1] = lp[0, ext[1]]
    for t in range(1, t_max):
        for s in range(s_max):
            cands = [(score[t - 1, s], s)]
            if s >= 1:
                cands.append((score[t - 1, s - 1], s - 1))
            if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                cands.append((score[t - 1, s - 2], s - 2))
            best, arg = max(cands)
            score[t, s] = best + lp[t, ext[s]]
            back[t, s] = arg
    s = s_max - 1 if s_max == 1 or score[-1, s_max - 1] >= score[-1, s_max - 2] else s_max - 2
    confs = [0.0] * len(label)
    for t in range(t_max - 1, -1, -1):
        if s % 2 == 1:
            k = s // 2
            confs[k] = max(confs[k], float(np.exp(lp[t, ext[s]])))
        s = int(back[t, s]) if t > 0 else s
    return tuple(confs)


def _lse(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def count_upper_bounds(log_probs: torch.Tensor, max_count: int = 3) -> np.ndarray:
    """``log P(N_c >= k)`` for each class ``c`` and ``k = 1..max_count``: ``(C, max_count)``.

    ``N_c`` is the number of frames whose label is ``c`` when frames are drawn independently from
    the ``(T, C)`` distributions. A label sequence that uses ``c`` ``k`` times needs ``k`` such
    frames, so ``p(l|y) <= min_i P(N_{l_i} >= k_i)``, ``k_i`` being ``l_i``'s occurrence number: an
    exact upper bound that lets lexicon search skip candidates that cannot win.
    """
    p = log_probs.detach().double().exp().cpu().numpy()  # (T, C)
    dist = np.zeros((p.shape[1], max_count + 1))  # P(N = j) for j < max_count, last: P(N >= max_count)
    dist[:, 0] = 1.0
    for q in p:
        q = q[:, None]
        new = dist * (1.0 - q)
        new[:, 1:] += dist[:, :-1] * q
        new[:, -1] += dist[:, -1] * q[:, 0]
        dist = new
    tail = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1][:, 1:]  # P(N >= k), k = 1..max_count
    return np.log(np.clip(tail, 1e-300, 1.0))


def case_folded_log_probs(log_probs: torch.Tensor, vocab: str) -> torch.Tensor:
    """Merge each upper-case letter's probability into its lower-case class: ``(.., C)``.

    For a case-folded label (``"hello"`` for ``"HELLO"``) the CTC loss then rewards reading the
    letter in either case, so such labels never teach the wrong case.
    """
    pairs = [
        (vocab.index(c), vocab.index(c.upper()))
        for c in vocab
        if c.islower() and c.upper() in vocab and c.upper() != c
    ]
    if not pairs:
        return log_probs
    lo = torch.tensor([p[0] for p in pairs], device=log_probs.device)
    up = torch.tensor([p[1] for p in pairs], device=log_probs.device)
    out = log_probs.clone()
    out[..., lo] = torch.logaddexp(log_probs[..., lo], log_probs[..., up])
    return out
