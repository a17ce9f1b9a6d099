"""CTC transcription in numpy: best path, prefix beam search and exact sequence probabilities p(l|y).

All functions take per-frame logits or log-probabilities ``(N, T, C)`` with the blank at ``C - 1``,
as numpy arrays (torch tensors are accepted and converted). Only :func:`ctc_loss`, the training
loss, needs PyTorch; it imports it when called.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .vocab import Tokenizer

if TYPE_CHECKING:
    import torch

__all__ = [
    "Decoded",
    "as_array",
    "log_softmax",
    "best_path",
    "beam_search",
    "prefix_beams",
    "char_confidences",
    "sequence_log_probs",
    "ctc_loss",
    "case_folded_log_probs",
    "count_upper_bounds",
]


@dataclass(frozen=True)
class Decoded:
    """A transcription: text, word confidence in [0, 1] and one confidence per character;
    ``log_probs``: the crop's ``(T, C)`` log-probabilities, kept only where a later step (the
    language model of :mod:`crnn_plugin.lm_rescore`) needs them."""

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    log_probs: np.ndarray | None = field(default=None, compare=False, repr=False)


def as_array(x: Any) -> np.ndarray:
    """``x`` as a numpy array: arrays as they are; torch tensors detached and copied to the CPU
    (bf16/fp16 as float32, which numpy computes in)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # a torch tensor, without importing torch
        t = x.detach().cpu()
        if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
            t = t.float()
        return np.asarray(t.numpy())
    return np.asarray(x)


def log_softmax(x: Any, axis: int = -1) -> np.ndarray:
    """``log_softmax`` in float32 (the precision the logits come in)."""
    a = as_array(x).astype(np.float32, copy=False)
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def ctc_loss(logits: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """Mean CTC loss of ``(N, T, C)`` torch logits against concatenated ``targets`` (blank = C - 1).

    Computed in float32 (autocast-safe), normalised by target length like ``F.ctc_loss``'s mean.
    The training loss: the only function here that needs (and imports) PyTorch.
    """
    import torch
    import torch.nn.functional as F

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


def sequence_log_probs(log_probs: Any, candidates: Sequence[Sequence[int]]) -> np.ndarray:
    """Exact ``log p(l|y)`` of each candidate label sequence, summed over all CTC alignments.

    ``log_probs`` is ``(T, C)`` for one crop (every candidate scored against it) or ``(K, T, C)``
    with one row per candidate. Returns ``(K,)`` float64; impossible labels (too long) give
    ``-inf``. The CTC forward algorithm in log space, all candidates at once (what
    ``torch.nn.functional.ctc_loss`` computes, negated; the tests compare the two).
    """
    lp = as_array(log_probs)
    k = len(candidates)
    if k == 0:
        return np.zeros(0)
    if lp.ndim == 3 and lp.shape[0] != k:
        raise ValueError(f"{lp.shape[0]} rows of log-probs for {k} candidates")
    t, blank = lp.shape[-2], lp.shape[-1] - 1
    lengths = np.fromiter(map(len, candidates), dtype=np.int64, count=k)
    n_states = 2 * int(lengths.max()) + 1
    ext = np.full((k, n_states), blank, dtype=np.int64)  # blank, l1, blank, l2, ..., blank
    for i, label in enumerate(candidates):
        if len(label):
            ext[i, 1 : 2 * len(label) : 2] = label
    # a state may be entered from two back when it is a label differing from the label two back
    skip = np.zeros((k, n_states), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    if t == 0:
        return np.where(lengths == 0, 0.0, -np.inf)
    # the log-probability of each state's label at each frame: (T, K, S)
    per_row = np.take_along_axis(lp, ext[:, None, :], axis=2).transpose(1, 0, 2) if lp.ndim == 3 else None
    emit = (lp[:, ext] if per_row is None else per_row).astype(np.float64)
    alpha = np.full((k, n_states), -np.inf)
    alpha[:, :2] = emit[0, :, :2]
    prev1 = np.full((k, n_states), -np.inf)
    prev2 = np.full((k, n_states), -np.inf)
    for step in range(1, t):
        prev1[:, 1:] = alpha[:, :-1]
        prev2[:, 2:] = alpha[:, :-2]
        np.copyto(prev2, -np.inf, where=~skip)
        alpha = np.logaddexp(np.logaddexp(alpha, prev1), prev2) + emit[step]
    rows = np.arange(k)
    end = 2 * lengths
    last = alpha[rows, end]
    before = np.where(lengths > 0, alpha[rows, np.maximum(end - 1, 0)], -np.inf)
    return np.logaddexp(last, before)


def best_path(logits: Any, tokenizer: Tokenizer) -> list[Decoded]:
    """Greedy CTC decoding of ``(N, T, C)`` logits.

    The word confidence is the exact ``p(text|y)`` of the decoded text (all alignments summed), so
    it is comparable with lexicon scores; a character's confidence is its highest frame probability.
    """
    x = as_array(logits)
    if x.shape[0] == 0:
        return []
    log_probs = log_softmax(x)  # one normalisation serves the path and the score
    best = log_probs.argmax(-1)  # (N, T)
    best_p = np.exp(np.take_along_axis(log_probs, best[..., None], axis=-1)[..., 0])
    blank = x.shape[-1] - 1
    labels: list[list[int]] = []
    char_confs: list[list[float]] = []
    for path, pvals in zip(best.tolist(), best_p.tolist()):
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
        for lab, conf, s in zip(labels, char_confs, seq_lp.tolist())
    ]


def beam_search(logits: Any, tokenizer: Tokenizer, *, beam_width: int = 10) -> list[Decoded]:
    """CTC prefix beam search (Hannun et al. 2014) over ``(N, T, C)`` logits.

    Keeps ``beam_width`` prefixes; each prefix's score sums its alignments ending in blank and
    non-blank. The best prefix is then rescored exactly (``p(l|y)``), and if best path's text
    scores higher it is returned instead, so the result is never worse than best path.
    """
    if beam_width < 1:
        raise ValueError("beam_width must be >= 1")
    x = as_array(logits)
    log_probs = log_softmax(x)
    blank = x.shape[-1] - 1
    greedy = best_path(x, tokenizer)
    out: list[Decoded] = []
    for n in range(log_probs.shape[0]):
        seq = log_probs[n]
        best_prefix = prefix_beams(seq, beam_width)[0][0]
        best_prefix = tuple(_tidy_spaces(list(best_prefix), [0.0] * len(best_prefix), tokenizer.space)[0])
        exact = float(sequence_log_probs(seq, [list(best_prefix)])[0])
        g = greedy[n]
        if math.exp(exact) <= g.confidence:
            out.append(g)
            continue
        confs = char_confidences(np.exp(seq), list(best_prefix), blank)
        out.append(Decoded(tokenizer.decode(best_prefix), float(min(1.0, math.exp(exact))), confs))
    return out


def prefix_beams(
    log_probs: np.ndarray, beam_width: int, min_log_prob: float = -math.inf
) -> list[tuple[tuple[int, ...], float]]:
    """The ``beam_width`` best label prefixes of one crop's ``(T, C)`` log-probabilities (blank
    last) by CTC prefix beam search, best first, with their beam scores. Each frame offers its
    ``beam_width`` likeliest classes, those below ``min_log_prob`` left out."""
    blank = log_probs.shape[-1] - 1
    # prune each frame to the most likely classes: prefixes beyond them cannot enter the beam
    top_idx = np.argsort(-log_probs, axis=-1, kind="stable")[:, : min(beam_width, log_probs.shape[-1])]
    top_lp = np.take_along_axis(log_probs, top_idx, axis=-1)
    keep = (top_idx != blank) & (top_lp >= min_log_prob)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
    for t in range(log_probs.shape[0]):
        b_lp = float(log_probs[t, blank])
        cand = list(zip(top_idx[t][keep[t]].tolist(), top_lp[t][keep[t]].tolist()))
        if not cand:  # only the blank: every prefix ends in blank, the ranking stays
            beams = {k: (_lse(pb, pnb) + b_lp, -math.inf) for k, (pb, pnb) in beams.items()}
            continue
        nxt: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = _lse(pb, pnb)
            e = nxt.setdefault(prefix, [-math.inf, -math.inf])
            e[0] = _lse(e[0], total + b_lp)
            for c, c_lp in cand:
                en = nxt.setdefault(prefix + (c,), [-math.inf, -math.inf])
                if prefix and prefix[-1] == c:
                    en[1] = _lse(en[1], pb + c_lp)
                    e[1] = _lse(e[1], pnb + c_lp)
                else:
                    en[1] = _lse(en[1], total + c_lp)
        ranked = sorted(nxt.items(), key=lambda kv: _lse(*kv[1]), reverse=True)[:beam_width]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    return sorted(((k, _lse(*v)) for k, v in beams.items()), key=lambda kv: kv[1], reverse=True)


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


def char_confidences(probs: Any, label: list[int], blank: int) -> tuple[float, ...]:
    """Per-character confidence along the most likely (Viterbi) alignment of ``label``.

    ``probs`` is ``(T, C)``; a character's confidence is its highest frame probability among the
    frames the best alignment assigns to it.
    """
    if not label:
        return ()
    lp = np.log(np.maximum(as_array(probs).astype(np.float64), 1e-30))
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


def count_upper_bounds(log_probs: Any, max_count: int = 3) -> np.ndarray:
    """``log P(N_c >= k)`` for each class ``c`` and ``k = 1..max_count``: ``(C, max_count)``.

    ``N_c`` is the number of frames whose label is ``c`` when frames are drawn independently from
    the ``(T, C)`` distributions. A label sequence that uses ``c`` ``k`` times needs ``k`` such
    frames, so ``p(l|y) <= min_i P(N_{l_i} >= k_i)``, ``k_i`` being ``l_i``'s occurrence number: an
    exact upper bound that lets lexicon search skip candidates that cannot win.
    """
    p = np.exp(as_array(log_probs).astype(np.float64))  # (T, C)
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


def case_folded_log_probs(log_probs: Any, vocab: str) -> Any:
    """Merge each upper-case letter's probability into its lower-case class: ``(.., C)``.

    For a case-folded label (``"hello"`` for ``"HELLO"``) the CTC score (and the training loss)
    then counts reading the letter in either case, so such labels never teach the wrong case.
    Takes and returns a numpy array, or a torch tensor (training).
    """
    pairs = [
        (vocab.index(c), vocab.index(c.upper()))
        for c in vocab
        if c.islower() and c.upper() in vocab and c.upper() != c
    ]
    if not pairs:
        return log_probs
    lo, up = [p[0] for p in pairs], [p[1] for p in pairs]
    if isinstance(log_probs, np.ndarray):
        out = log_probs.copy()
        out[..., lo] = np.logaddexp(log_probs[..., lo], log_probs[..., up])
        return out
    import torch  # a tensor: training computes its loss on these

    lo_t = torch.tensor(lo, device=log_probs.device)
    up_t = torch.tensor(up, device=log_probs.device)
    out_t = log_probs.clone()
    out_t[..., lo_t] = torch.logaddexp(log_probs[..., lo_t], log_probs[..., up_t])
    return out_t
