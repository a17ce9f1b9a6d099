from __future__ import annotations

import itertools
import math

import pytest
import torch

from crnn_plugin import Tokenizer, beam_search, best_path, sequence_log_probs
from crnn_plugin.ctc import case_folded_log_probs, count_upper_bounds


def collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return tuple(out)


def brute_force(log_probs: torch.Tensor, label: tuple[int, ...]) -> float:
    """log p(label|y) by enumerating every alignment of length T."""
    t, c = log_probs.shape
    total = 0.0
    for path in itertools.product(range(c), repeat=t):
        if collapse(path, c - 1) == label:
            total += math.exp(sum(float(log_probs[i, p]) for i, p in enumerate(path)))
    return math.log(total) if total > 0 else -math.inf


@pytest.mark.parametrize("seed", range(4))
def test_exact_scoring_matches_brute_force(seed: int) -> None:
    torch.manual_seed(seed)
    t, c = 5, 4  # 3 symbols + blank
    lp = torch.randn(t, c).log_softmax(-1).double()
    labels = [(), (0,), (1, 1), (0, 1, 2), (2, 2, 2), (0, 1, 0, 1), (1, 0, 1, 0, 1, 0)]
    got = sequence_log_probs(lp, [list(lab) for lab in labels])
    for lab, g in zip(labels, got.tolist()):
        ref = brute_force(lp, lab)
        if ref == -math.inf:
            assert g == -math.inf or g < -1e20
        else:
            assert g == pytest.approx(ref, abs=1e-5)


def test_probabilities_over_all_labels_sum_to_one() -> None:
    torch.manual_seed(0)
    lp = torch.randn(4, 3).log_softmax(-1).double()
    labels = [lab for n in range(5) for lab in itertools.product(range(2), repeat=n)]
    total = sequence_log_probs(lp, [list(x) for x in labels]).exp()
    total = total[torch.isfinite(total)].sum()
    assert float(total) == pytest.approx(1.0, abs=1e-6)


def test_best_path_matches_reference() -> None:
    tok = Tokenizer("abc")  # blank = 3
    frames = [0, 0, 3, 0, 1, 1, 3, 3, 2, 2]  # a a - a b b - - c c -> "aabc"
    logits = torch.full((1, len(frames), 4), -10.0)
    for t, c in enumerate(frames):
        logits[0, t, c] = 10.0
    (d,) = best_path(logits, tok)
    assert d.text == "aabc"
    assert len(d.char_confidences) == 4 and all(0.99 < p <= 1 for p in d.char_confidences)
    assert 0.99 < d.confidence <= 1.0


def test_best_path_empty_and_confidence_range() -> None:
    tok = Tokenizer("ab")
    logits = torch.zeros(3, 6, 3)
    logits[..., 2] = 5.0
    out = best_path(logits, tok)
    assert [d.text for d in out] == ["", "", ""]
    torch.manual_seed(1)
    for d in best_path(torch.randn(8, 12, 3), tok):
        assert 0.0 <= d.confidence <= 1.0


@pytest.mark.parametrize("seed", range(6))
def test_beam_search_never_worse_than_best_path(seed: int) -> None:
    torch.manual_seed(seed)
    tok = Tokenizer("abcd")
    logits = torch.randn(3, 10, 5) * 2
    greedy = best_path(logits, tok)
    beams = beam_search(logits, tok, beam_width=8)
    lp = logits.log_softmax(-1)
    for n, (g, b) in enumerate(zip(greedy, beams)):
        s_g = float(sequence_log_probs(lp[n], [tok.encode(g.text)])[0])
        s_b = float(sequence_log_probs(lp[n], [tok.encode(b.text)])[0])
        assert s_b >= s_g - 1e-6
        assert b.confidence == pytest.approx(math.exp(s_b), rel=1e-4)


def test_beam_search_finds_more_probable_label_than_best_path() -> None:
    # classic case: best path is blank-blank, but "a" has more mass over all its alignments
    tok = Tokenizer("a")
    p = torch.tensor([[0.4, 0.6], [0.4, 0.6]])  # (a, blank)
    logits = p.log().unsqueeze(0)
    assert best_path(logits, tok)[0].text == ""
    assert beam_search(logits, tok, beam_width=4)[0].text == "a"  # p(a) = .64 > p("") = .36


def test_case_folded_log_probs_sums_case_variants() -> None:
    vocab = "aAb"
    lp = torch.tensor([[0.2, 0.5, 0.1, 0.2]]).log()
    out = case_folded_log_probs(lp, vocab).exp()
    assert float(out[0, 0]) == pytest.approx(0.7)
    assert float(out[0, 2]) == pytest.approx(0.1)


def test_tokenizer_errors() -> None:
    tok = Tokenizer("abc")
    with pytest.raises(ValueError, match="not in vocab"):
        tok.encode("abz")
    with pytest.raises(ValueError):
        Tokenizer("")


def test_beam_char_confidences_follow_the_alignment() -> None:
    # frames: a(.9) blank a(.8) b(.7): the best path reads "aab"
    p = torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1]])
    from crnn_plugin.ctc import _char_confidences

    assert _char_confidences(p, [0, 0, 1], 2) == pytest.approx((0.9, 0.8, 0.7))
    assert _char_confidences(p, [], 2) == ()


@pytest.mark.parametrize("seed", range(20))
def test_count_upper_bounds_bound_every_label(seed: int) -> None:
    """``min_i P(N_{l_i} >= k_i)`` is never below the exact ``p(l|y)``; peaked frames make it tight."""
    g = torch.Generator().manual_seed(seed)
    t, c = 7, 4  # classes a, b, c + blank
    lp = (torch.randn(t, c, generator=g) * (1 + seed % 4)).log_softmax(-1)
    table = count_upper_bounds(lp, max_count=3)
    assert table.shape == (c, 3) and (table <= 1e-12).all()
    assert (table[:, :-1] >= table[:, 1:] - 1e-12).all()  # P(N >= k) falls with k
    for n in range(1, 5):
        for label in itertools.product(range(c - 1), repeat=n):
            seen: dict[int, int] = {}
            bound = 0.0
            for ch in label:
                seen[ch] = seen.get(ch, 0) + 1
                bound = min(bound, float(table[ch, min(seen[ch], 3) - 1]))
            exact = float(sequence_log_probs(lp, [list(label)])[0])
            assert exact <= bound + 1e-6, (label, exact, bound)
    # one frame: p("a") is exactly P(N_a >= 1)
    one = torch.tensor([[0.7, 0.1, 0.2]]).log()
    assert count_upper_bounds(one)[0, 0] == pytest.approx(math.log(0.7))
