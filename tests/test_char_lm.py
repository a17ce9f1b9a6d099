"""crnn_plugin.char_lm: the character n-gram model of English spelling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from crnn_plugin.char_lm import ALPHABET, CharLM, english

pytestmark = pytest.mark.light


def test_probabilities_of_the_next_symbol_sum_to_one() -> None:
    lm = CharLM(["cat", "car", "cart", "dog"], order=3)
    for context in ("", "c", "ca", "car", "zz", "dog"):
        p = lm.next_probs(context)
        assert p.shape == (len(ALPHABET) + 1,) and np.all(p > 0)
        assert p.sum() == pytest.approx(1.0)
    after_ca = lm.next_probs("ca")
    assert ALPHABET[int(after_ca.argmax())] in "rt"  # what followed "ca" in the words


def test_a_word_is_the_product_of_its_letters_and_its_end() -> None:
    lm = CharLM(["cat", "car", "cart", "dog"], order=3)
    expected = sum(math.log(lm.next_probs("cart"[:i])[ALPHABET.index(ch)]) for i, ch in enumerate("cart"))
    expected += math.log(lm.next_probs("cart")[-1])
    assert lm.log_prob("cart") == pytest.approx(expected)
    assert lm.log_prob("CART") == lm.log_prob("cart")  # caseless
    assert lm.log_probs(["cat dog"])[0] == pytest.approx(lm.log_prob("cat") + lm.log_prob("dog"))


def test_english_spelling_beats_misreadings_and_other_characters_are_not_scored() -> None:
    lm = english()
    for right, wrong in [
        ("manhattan", "manhaitan"),
        ("kingfisher", "kingeisher"),
        ("everything", "everytling"),
    ]:
        assert lm.log_prob(right) > lm.log_prob(wrong) + 1
    assert math.isfinite(lm.log_prob("Zyxelberg"))  # open vocabulary: any letters get a probability
    scores = lm.log_probs(["20721", "Rs.50", "", "ok"])
    assert np.isnan(scores[:3]).all() and math.isfinite(scores[3])


def test_the_build_is_deterministic_and_bad_input_is_refused() -> None:
    a = CharLM(["Hello", "hello", "help"], order=4)
    b = CharLM(["help", "hello"], order=4)
    assert a.log_prob("helo") == b.log_prob("helo")  # each spelling once, whatever its case
    with pytest.raises(ValueError, match="order"):
        CharLM(["a"], order=0)
    with pytest.raises(ValueError, match="no word"):
        CharLM(["123", "a-b"])
    with pytest.raises(ValueError, match="outside a-z"):
        a.next_probs("he1")
