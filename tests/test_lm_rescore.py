"""crnn_plugin.lm_rescore: the language model rescoring unsure readings of letters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crnn_plugin.ctc import best_path, sequence_log_probs
from crnn_plugin.lm_rescore import LM_BELOW, rescorable, rescore
from crnn_plugin.vocab import VOCABS, Tokenizer

pytestmark = pytest.mark.light

TOK = Tokenizer(VOCABS["english_space"])
BLANK = len(VOCABS["english_space"])


def _log_probs(text: str, doubt: dict[int, tuple[str, float]]) -> np.ndarray:
    """``(T, C)`` log-probabilities spelling ``text`` (a frame per character, then a blank);
    ``doubt[i] = (other, p)``: character ``i``'s frame gives ``other`` probability ``p``."""
    frames = []
    for i, ch in enumerate(text):
        p = np.full(BLANK + 1, 1e-4)
        other, q = doubt.get(i, (ch, 0.0))
        p[TOK.encode(ch)[0]] = 1.0 - q
        p[TOK.encode(other)[0]] += q
        frames.append(p / p.sum())
        blank = np.full(BLANK + 1, 1e-4)
        blank[BLANK] = 1.0
        frames.append(blank / blank.sum())
    return np.log(np.stack(frames)).astype(np.float32)


def _read(lp: np.ndarray):  # type: ignore[no-untyped-def]
    return best_path(lp[None], TOK)[0]


def test_an_unsure_misreading_becomes_the_english_spelling() -> None:
    lp = _log_probs("manhaitan", {5: ("t", 0.45)})  # the network hesitates between i and t
    d = _read(lp)
    assert d.text == "manhaitan" and d.confidence < LM_BELOW and rescorable(d)
    out = rescore(lp, d, TOK)
    assert out.text == "manhattan"
    exact = float(sequence_log_probs(lp, [TOK.encode("manhattan")])[0])
    assert out.confidence == pytest.approx(math.exp(exact), rel=1e-5)  # its own p(l|y)
    assert len(out.char_confidences) == len("manhattan")
    assert rescore(lp, d, TOK, weight=0.0) is d  # off


def test_case_and_lines_are_kept() -> None:
    lp = _log_probs("Manhaitan Street", {5: ("t", 0.45)})
    assert rescore(lp, _read(lp), TOK).text == "Manhattan Street"


@pytest.mark.parametrize(
    ("text", "doubt"),
    [
        ("manhaitan", {5: ("t", 0.05)}),  # sure (confidence >= LM_BELOW): never changed
        ("manha1tan", {5: ("t", 0.45)}),  # a digit: a code, not a word
        ("Rs.5O", {4: ("0", 0.45)}),  # punctuation
    ],
)
def test_sure_readings_and_readings_with_other_characters_stay(
    text: str, doubt: dict[int, tuple[str, float]]
) -> None:
    lp = _log_probs(text, doubt)
    d = _read(lp)
    assert d.text == text
    assert rescore(lp, d, TOK) is d


def test_the_model_only_chooses_among_what_the_network_saw() -> None:
    """Unsure because of another letter, "manhaitan" stays: the network gives "t" no real
    probability at the "i" frame, so "manhattan" is no candidate."""
    lp = _log_probs("manhaitan", {0: ("n", 0.2)})
    d = _read(lp)
    assert rescorable(d)
    assert rescore(lp, d, TOK).text == "manhaitan"


def test_the_recognizer_rescores_a_real_misreading_and_lm_weight_zero_turns_it_off() -> None:
    """IIIT5K test crop 2036_2 ("Everything", skipped without ../shared/data): the network's best
    path misreads one letter; the language model puts it right."""
    from _helpers import data_dir

    from crnn_plugin import Recognizer

    crop = data_dir("iiit5k_test") / "test" / "2036_2.png"
    assert Recognizer.from_pretrained(device="cpu")([crop])[0].text == "Everything"
    plain = Recognizer.from_pretrained(device="cpu", lm_weight=0)
    assert plain([crop])[0].text != "Everything"
    for bad in (-1, float("nan"), "0.2"):
        with pytest.raises(ValueError, match="lm_weight"):
            Recognizer.from_pretrained(device="cpu", lm_weight=bad)  # type: ignore[arg-type]


def test_decode_keeps_log_probs_only_where_the_model_may_rescore() -> None:
    from crnn_plugin import Recognizer

    rec = Recognizer.from_pretrained(device="cpu")
    vocab = rec.config.vocab
    n_classes = len(vocab) + 1
    unsure = np.full((1, 6, n_classes), -5.0, np.float32)
    for t, ch in enumerate("ab"):
        unsure[0, 2 * t, vocab.index(ch)] = 0.0
        unsure[0, 2 * t, vocab.index("x")] = -0.2  # a close second
        unsure[0, 2 * t + 1, -1] = 5.0
    unsure[0, 4:, -1] = 5.0
    code = unsure.copy()
    code[0, 0, vocab.index("7")] = 1.0  # "7b": not letters
    (d,) = rec.decode(unsure)
    assert d.text == "ab" and d.log_probs is not None and d.log_probs.shape == (6, n_classes)
    (c,) = rec.decode(code)
    assert c.log_probs is None
    rec.lm_weight = 0.0
    assert rec.decode(unsure)[0].log_probs is None
