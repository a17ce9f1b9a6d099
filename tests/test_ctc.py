"""CTC in numpy: exact p(l|y) against brute force and against torch's ctc_loss, best path, beam
search, the count bound."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crnn_plugin import Tokenizer, beam_search, best_path, sequence_log_probs
from crnn_plugin.ctc import case_folded_log_probs, count_upper_bounds, log_softmax

pytestmark = pytest.mark.light


def random_log_probs(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return log_softmax(rng.standard_normal(shape) * scale).astype(np.float64)


def collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return tuple(out)


def brute_force(log_probs: np.ndarray, label: tuple[int, ...]) -> float:
    """log p(label|y) by enumerating every alignment of length T."""
    t, c = log_probs.shape
    total = 0.0
    for path in itertools.product(range(c), repeat=t):
        if collapse(path, c - 1) == label:
            total += math.exp(sum(float(log_probs[i, p]) for i, p in enumerate(path)))
    return math.log(total) if total > 0 else -math.inf


@pytest.mark.parametrize("seed", range(4))
def test_exact_scoring_matches_brute_force(seed: int) -> None:
    lp = random_log_probs(np.random.default_rng(seed), 5, 4)  # 3 symbols + blank
    labels = [(), (0,), (1, 1), (0, 1, 2), (2, 2, 2), (0, 1, 0, 1), (1, 0, 1, 0, 1, 0)]
    got = sequence_log_probs(lp, [list(lab) for lab in labels])
    assert got.dtype == np.float64 and got.shape == (len(labels),)
    for lab, g in zip(labels, got.tolist()):
        ref = brute_force(lp, lab)
        if ref == -math.inf:
            assert g == -math.inf
        else:
            assert g == pytest.approx(ref, abs=1e-9)


def test_probabilities_over_all_labels_sum_to_one() -> None:
    lp = random_log_probs(np.random.default_rng(0), 4, 3)
    labels = [lab for n in range(5) for lab in itertools.product(range(2), repeat=n)]
    total = np.exp(sequence_log_probs(lp, [list(x) for x in labels]))
    assert float(total[np.isfinite(total)].sum()) == pytest.approx(1.0, abs=1e-6)  # float32 log-probs


def test_one_row_per_candidate_and_no_frames() -> None:
    rng = np.random.default_rng(3)
    lps = random_log_probs(rng, 3, 6, 5)
    labels = [[0, 1], [], [3, 3, 2]]
    rows = sequence_log_probs(lps, labels)
    for i, lab in enumerate(labels):
        assert rows[i] == pytest.approx(sequence_log_probs(lps[i], [lab])[0], abs=1e-12)
    assert sequence_log_probs(lps[0], []).shape == (0,)
    with pytest.raises(ValueError, match="3 rows of log-probs for 2 candidates"):
        sequence_log_probs(lps, labels[:2])
    assert sequence_log_probs(np.zeros((0, 4)), [[], [1]]).tolist() == [0.0, -math.inf]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    t=st.integers(1, 14),
    c=st.integers(2, 7),
    k=st.integers(1, 6),
    scale=st.sampled_from([0.5, 2.0, 8.0]),
)
def test_numpy_scoring_matches_torch_ctc_loss(
    data: st.DataObject, t: int, c: int, k: int, scale: float
) -> None:
    """The numpy forward algorithm is torch.nn.functional.ctc_loss (reduction none), negated: any
    lengths (impossible labels too), repeats, peaked and flat frames."""
    torch = pytest.importorskip("torch", reason="the reference is torch's ctc_loss (torch extra)")
    import torch.nn.functional as F

    seed = data.draw(st.integers(0, 2**31 - 1))
    lp = random_log_probs(np.random.default_rng(seed), t, c, scale=scale)
    labels = [data.draw(st.lists(st.integers(0, c - 2), max_size=t + 2)) for _ in range(k)]
    got = sequence_log_probs(lp, labels)
    ref = -F.ctc_loss(
        torch.from_numpy(lp)[:, None].expand(t, k, c),
        torch.tensor([i for lab in labels for i in lab], dtype=torch.long),
        torch.full((k,), t, dtype=torch.long),
        torch.tensor([len(lab) for lab in labels], dtype=torch.long),
        blank=c - 1,
        reduction="none",
        zero_infinity=False,
    ).numpy()
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    finite = np.isfinite(ref)
    np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-9, atol=1e-9)


def test_best_path_matches_reference() -> None:
    tok = Tokenizer("abc")  # blank = 3
    frames = [0, 0, 3, 0, 1, 1, 3, 3, 2, 2]  # a a - a b b - - c c -> "aabc"
    logits = np.full((1, len(frames), 4), -10.0, dtype=np.float32)
    for t, c in enumerate(frames):
        logits[0, t, c] = 10.0
    (d,) = best_path(logits, tok)
    assert d.text == "aabc"
    assert len(d.char_confidences) == 4 and all(0.99 < p <= 1 for p in d.char_confidences)
    assert 0.99 < d.confidence <= 1.0


def test_best_path_empty_and_confidence_range() -> None:
    tok = Tokenizer("ab")
    logits = np.zeros((3, 6, 3), dtype=np.float32)
    logits[..., 2] = 5.0
    assert [d.text for d in best_path(logits, tok)] == ["", "", ""]
    assert best_path(np.zeros((0, 6, 3)), tok) == []
    rng = np.random.default_rng(1)
    for d in best_path(rng.standard_normal((8, 12, 3)), tok):
        assert 0.0 <= d.confidence <= 1.0


def test_torch_tensors_are_accepted() -> None:
    torch = pytest.importorskip("torch")
    tok = Tokenizer("abcd")
    logits = torch.randn(2, 9, 5, generator=torch.Generator().manual_seed(0))
    assert best_path(logits, tok) == best_path(logits.numpy(), tok)
    assert (
        best_path(logits.bfloat16(), tok)[0].text == best_path(logits.bfloat16().float().numpy(), tok)[0].text
    )


@pytest.mark.parametrize("seed", range(6))
def test_beam_search_never_worse_than_best_path(seed: int) -> None:
    tok = Tokenizer("abcd")
    logits = np.random.default_rng(seed).standard_normal((3, 10, 5)) * 2
    greedy = best_path(logits, tok)
    beams = beam_search(logits, tok, beam_width=8)
    lp = log_softmax(logits)
    for n, (g, b) in enumerate(zip(greedy, beams)):
        s_g = float(sequence_log_probs(lp[n], [tok.encode(g.text)])[0])
        s_b = float(sequence_log_probs(lp[n], [tok.encode(b.text)])[0])
        assert s_b >= s_g - 1e-6
        assert b.confidence == pytest.approx(math.exp(s_b), rel=1e-4)


def test_beam_search_finds_more_probable_label_than_best_path() -> None:
    # classic case: best path is blank-blank, but "a" has more mass over all its alignments
    tok = Tokenizer("a")
    logits = np.log(np.array([[[0.4, 0.6], [0.4, 0.6]]]))  # (a, blank)
    assert best_path(logits, tok)[0].text == ""
    assert beam_search(logits, tok, beam_width=4)[0].text == "a"  # p(a) = .64 > p("") = .36


def test_spaces_are_tidied_in_both_decoders() -> None:
    """Single inner spaces, none leading or trailing, whichever decoder."""
    vocab = "ab "
    tok = Tokenizer(vocab)
    frames = [2, 3, 0, 2, 3, 2, 1, 2]  # " a  b " with blanks between
    logits = np.full((1, len(frames), 4), -10.0)
    for t, c in enumerate(frames):
        logits[0, t, c] = 10.0
    assert best_path(logits, tok)[0].text == "a b"
    assert beam_search(logits, tok, beam_width=5)[0].text == "a b"


def test_case_folded_log_probs_sums_case_variants() -> None:
    vocab = "aAb"
    lp = np.log(np.array([[0.2, 0.5, 0.1, 0.2]]))
    out = np.exp(case_folded_log_probs(lp, vocab))
    assert float(out[0, 0]) == pytest.approx(0.7)
    assert float(out[0, 2]) == pytest.approx(0.1)
    torch = pytest.importorskip("torch")  # training folds torch tensors
    folded = case_folded_log_probs(torch.from_numpy(lp), vocab)
    assert isinstance(folded, torch.Tensor) and np.allclose(folded.numpy(), np.log(out))


def test_tokenizer_errors() -> None:
    tok = Tokenizer("abc")
    with pytest.raises(ValueError, match="not in vocab"):
        tok.encode("abz")
    with pytest.raises(ValueError):
        Tokenizer("")


def test_beam_char_confidences_follow_the_alignment() -> None:
    # frames: a(.9) blank a(.8) b(.7): the best path reads "aab"
    p = np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1]])
    from crnn_plugin.ctc import char_confidences

    assert char_confidences(p, [0, 0, 1], 2) == pytest.approx((0.9, 0.8, 0.7))
    assert char_confidences(p, [], 2) == ()


@pytest.mark.parametrize("seed", range(20))
def test_count_upper_bounds_bound_every_label(seed: int) -> None:
    """``min_i P(N_{l_i} >= k_i)`` is never below the exact ``p(l|y)``; peaked frames make it tight."""
    t, c = 7, 4  # classes a, b, c + blank
    lp = random_log_probs(np.random.default_rng(seed), t, c, scale=1 + seed % 4)
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
    one = np.log(np.array([[0.7, 0.1, 0.2]]))
    assert count_upper_bounds(one)[0, 0] == pytest.approx(math.log(0.7))
