"""Lexicon-based transcription: candidate search equals a reference scan; scoring is the true argmax."""

from __future__ import annotations

import logging
import math
import string
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pytest
from _helpers import render_word
from hypothesis import given, settings
from hypothesis import strategies as st

from crnn_plugin import CRNNConfig, LexiconError, Prediction, Recognizer, sequence_log_probs
from crnn_plugin.ctc import log_softmax
from crnn_plugin.lexicon import BKTree, Lexicon, match_case, read_lexicon_tsv

if TYPE_CHECKING:
    from crnn_plugin import CRNN

pytestmark = pytest.mark.light


def ref_distance(a: str, b: str) -> int:
    """Textbook Levenshtein distance (dynamic programming), the slow obvious reference."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


words_st = st.lists(st.text(alphabet="abcde", min_size=1, max_size=7), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(words=words_st, query=st.text(alphabet="abcdef", max_size=8), delta=st.integers(0, 4))
def test_bktree_and_scan_equal_linear_reference(words: list[str], query: str, delta: int) -> None:
    lex = Lexicon(words, case_sensitive=True)
    expected = {w for w in set(words) if ref_distance(query, w) <= delta}
    assert {w for w, _ in BKTree(set(words)).search(query, delta)} == expected
    assert set(lex.candidates(query, delta, "abcdef", method="bktree")) == expected
    assert set(lex.candidates(query, delta, "abcdef", method="scan")) == expected
    assert set(lex.candidates(query, delta, "abcdef", method="filter")) == expected


@pytest.mark.parametrize("seed", range(5))
def test_exhaustive_choice_is_true_argmax(seed: int) -> None:
    vocab = "abc"
    lp = log_softmax(np.random.default_rng(seed).standard_normal((6, 4)) * 2)
    words = ["a", "ab", "ba", "abc", "cab", "cc", "bb", "acb"]
    lex = Lexicon(words, case_sensitive=True)
    m = lex.match(lp, "", vocab)
    scores = {w: float(sequence_log_probs(lp, [[vocab.index(c) for c in w]])[0]) for w in words}
    assert m.word == max(scores, key=scores.__getitem__)
    assert m.probability == pytest.approx(math.exp(scores[m.word]), rel=1e-5)
    assert m.method == "exhaustive"


@pytest.mark.parametrize("search", ["scan", "filter"])
@pytest.mark.parametrize("seed", range(6))
def test_pruned_search_returns_the_argmax_over_all_candidates(seed: int, search: str) -> None:
    """Bound-ordered early stopping gives the same word as scoring every candidate within delta."""
    vocab = "abcd"
    rng = __import__("random").Random(seed)
    words = {"".join(rng.choice(vocab) for _ in range(rng.randint(1, 7))) for _ in range(4000)}
    lex = Lexicon(sorted(words), case_sensitive=True, exhaustive_max=100, search=search)
    target = rng.choice(sorted(words))
    t = 2 * len(target) + 3
    logits = np.random.default_rng(seed).standard_normal((t, len(vocab) + 1)) * (0.5 + seed % 3)
    for k, ch in enumerate(target):  # a noisy reading of target
        logits[2 * k + 1, vocab.index(ch)] += 3.0
    lp = log_softmax(logits)
    query = target[::-1] if seed % 2 else target
    m = lex.match(lp, query, vocab, max_distance=2)
    cands = [w for w in words if ref_distance(query, w) <= 2]
    scores = sequence_log_probs(lp, [[vocab.index(c) for c in w] for w in cands])
    assert m.word == cands[int(np.argmax(scores))]
    assert m.probability == pytest.approx(math.exp(float(scores.max())), rel=1e-4)
    assert m.candidates == len(cands) and 1 <= m.scored <= m.candidates and m.method == search


def test_large_lexicon_uses_search_and_follows_the_readings_case() -> None:
    vocab = string.digits + string.ascii_letters
    lex = Lexicon(["Hello", "help", "World"] + [f"w{i:05d}" for i in range(3000)])
    # logits that spell "hello" in lower case
    t = 12
    lp = np.full((t, len(vocab) + 1), -20.0)
    lp[:, -1] = 0.0
    for k, ch in enumerate("hello"):
        lp[2 * k + 1, vocab.index(ch)] = 5.0
    lp = log_softmax(lp)
    m = lex.match(lp, "hello", vocab)  # "Hello" in the lexicon, read in lower case
    assert m.word == "hello" and m.method in ("scan", "bktree") and m.candidates >= 1
    assert lex.match(lp, "hellO", vocab).word == "hellO"  # other patterns: letter by letter
    none = lex.match(lp, "zzzzzzzz", vocab, max_distance=1)
    assert none.word is None and none.method == "none"
    # delta is the lexicon's own setting; "zzzzzzzz" is 8 edits from every word
    assert Lexicon(lex.words, max_distance=1).match(lp, "zzzzzzzz", vocab).method == "none"
    assert Lexicon(lex.words, max_distance=8).match(lp, "zzzzzzzz", vocab).candidates >= 1
    with pytest.raises(LexiconError, match="max_distance must be an integer >= 0"):
        Lexicon(["a"], max_distance=-1)
    with pytest.raises(LexiconError, match="pass a list of words, not one string"):
        Lexicon("hello")


def test_match_case() -> None:
    assert match_case("South", "SOUTH") == "SOUTH"
    assert match_case("May", "may") == "may"
    assert match_case("london", "Londn") == "London"
    assert match_case("iphone", "iPhone") == "iPhone"
    assert match_case("McDonald", "mcDonalds") == "McDonald"  # mixed, other length: as spelled
    assert match_case("Hello", "2024") == "Hello"  # no letters read
    assert match_case("3rd", "3Rd") == "3Rd" and match_case("(hello", "(Hello") == "(Hello"


def test_a_list_with_both_spellings_keeps_the_lower_case_one() -> None:
    assert Lexicon(["May", "may", "June"]).words == ["may", "June"]


def test_case_insensitive_scoring_sums_case_variants() -> None:
    vocab = "aA"
    lp = np.log(np.array([[0.3, 0.3, 0.4]]))  # one frame: a, A, blank
    lex = Lexicon(["A", "b"])
    m = lex.match(lp, "a", vocab)
    assert m.word == "a" and m.probability == pytest.approx(0.6)  # both cases, in the reading's case
    assert Lexicon(["A"], case_sensitive=True).match(lp, "a", vocab).probability == pytest.approx(0.3)


def test_lexicon_file_parsing(tmp_path: Path) -> None:
    f = tmp_path / "lex.txt"
    f.write_text("# comment\n\nword\nWord\n other \n", encoding="utf-8")
    lex = Lexicon.load(f)
    assert lex.words == ["word", "other"]  # case-insensitive duplicates removed, first spelling kept
    assert "WORD" in lex
    big = Lexicon.load("en-50k")
    assert len(big) > 45_000 and "hello" in big


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"ok\n\xff\xfe bad\n", r"lex.txt:2: not valid UTF-8"),
        (b"", "empty"),
        (b"# only\n\n", "empty"),
        (b"a\x00b\n", "NUL"),
    ],
)
def test_bad_lexicon_files(tmp_path: Path, content: bytes, match: str) -> None:
    f = tmp_path / "lex.txt"
    f.write_bytes(content)
    with pytest.raises(LexiconError, match=match):
        Lexicon.load(f)


def test_missing_and_directory_lexicon(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="not found"):
        Lexicon.load(tmp_path / "absent.txt")
    with pytest.raises(LexiconError, match="directory"):
        Lexicon.load(tmp_path)


def test_words_outside_vocab_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    lex = Lexicon(["café", "cafe"])
    lp = log_softmax(np.zeros((5, 27)))
    with caplog.at_level(logging.WARNING):
        m = lex.match(lp, "cafe", string.ascii_lowercase)
    assert m.word == "cafe" and "outside the model's vocab" in caplog.text
    with pytest.raises(LexiconError, match="no word can be written"):
        Lexicon(["über"]).match(lp, "x", "abc")


def test_per_image_tsv(tmp_path: Path) -> None:
    f = tmp_path / "lex.tsv"
    f.write_text("a.png\tONE,TWO\nb.png\tTHREE\n")
    assert read_lexicon_tsv(f) == {"a.png": ["ONE", "TWO"], "b.png": ["THREE"]}
    f.write_text("a.png ONE,TWO\n")
    with pytest.raises(LexiconError, match="lex.tsv:1"):
        read_lexicon_tsv(f)


def test_recognizer_with_lexicons(tiny_model: CRNN) -> None:
    rec = Recognizer(tiny_model, device="cpu")
    imgs = [render_word("cat"), render_word("dog")]
    out = rec(imgs, lexicon=Lexicon(["cat", "dog", "cow"]))
    assert all(p.lexicon_used and p.text in ("cat", "dog", "cow") and p.raw_text is not None for p in out)
    per = rec(imgs, lexicon=[Lexicon(["cat"]), Lexicon(["dog"])])
    assert [p.text for p in per] == ["cat", "dog"]
    with pytest.raises(LexiconError, match="2 inputs"):
        rec(imgs, lexicon=[Lexicon(["cat"])])


def _reading(probs_per_char: list[dict[str, float]], vocab: str) -> np.ndarray:
    """``(2n+1, C)`` log-probs: a blank frame, then one frame per character with these
    probabilities (the rest on blank), blank frames between."""
    rows = []
    for dist in [{}, *[d for p in probs_per_char for d in (p, {})]]:
        row = np.full((len(vocab) + 1,), 1e-6, dtype=np.float32)
        for ch, p in dist.items():
            row[vocab.index(ch)] = p
        row[-1] = max(1.0 - sum(dist.values()), 1e-6)
        rows.append(row / row.sum())
    return np.log(np.stack(rows))


def test_open_vocabulary_keeps_a_confident_reading_and_corrects_an_unsure_one() -> None:
    vocab = "abct"
    lex_closed = Lexicon(["cat"], case_sensitive=True)
    lex_open = Lexicon(["cat"], case_sensitive=True, min_ratio=0.01)
    sure = _reading([{"c": 0.99}, {"a": 0.99}, {"b": 0.99}], vocab)  # "cab", the list lacks it
    unsure = _reading([{"c": 0.99}, {"a": 0.99}, {"b": 0.5, "t": 0.45}], vocab)
    for lp, keep in ((sure, True), (unsure, False)):
        m = lex_closed.match(lp, "cab", vocab)
        assert m.word == "cat"  # closed: always the lexicon word
        assert not lex_closed.keeps_reading(lp, "cab", m.probability, vocab)
        assert lex_open.keeps_reading(lp, "cab", m.probability, vocab) is keep
    assert not lex_open.keeps_reading(sure, "", 0.0, vocab)  # nothing read: take the word
    with pytest.raises(LexiconError, match="min_ratio"):
        Lexicon(["cat"], min_ratio=-1.0)


def test_open_vocabulary_through_the_recognizer(tiny_model: CRNN) -> None:
    """min_ratio 0 always takes the word; a huge ratio keeps the reading and says which word lost."""
    rec = Recognizer(tiny_model, device="cpu")
    imgs = [render_word("cat"), render_word("dog")]
    taken = rec(imgs, lexicon=Lexicon(["cat", "dog"], min_ratio=0.0))
    assert all(p.lexicon_used and p.text in ("cat", "dog") for p in taken)
    kept = rec(imgs, lexicon=Lexicon(["cat", "dog"], min_ratio=1e30))
    assert any(p.raw_text for p in kept)
    for p in kept:
        if p.raw_text:  # an untrained model may read nothing, and then the word is taken
            assert not p.lexicon_used and p.text == p.raw_text
            assert p.extra["word"] in ("cat", "dog") and 0.0 <= float(p.extra["word_probability"]) <= 1.0  # type: ignore[arg-type]


def test_per_input_lexicons_stay_with_their_inputs_when_one_is_unreadable() -> None:
    rec = Recognizer.from_pretrained(device="cpu")
    images = [render_word("cat"), b"not an image", render_word("dog")]
    lexs = [Lexicon(["cab"]), Lexicon(["zzz"]), Lexicon(["dot"])]
    preds = rec(images, lexicon=lexs)  # type: ignore[arg-type]
    assert [p.text for p in preds] == ["cab", "", "dot"]  # "zzz" is within 3 edits of "dog" too
    assert preds[1].error and preds[0].lexicon_used and preds[2].lexicon_used


@pytest.mark.parametrize(
    ("lexicon", "match"),
    [
        (["cat", "dog"], r"lexicon\[0\] is a str, not a Lexicon or None: pass Lexicon\(words\)"),
        ({"cat", "dog"}, r"got a set: pass Lexicon\(words\)"),
        ([Lexicon(["cat"])], r"1 lexicons given for 2 inputs"),
        ("no-such-lexicon", r"no-such-lexicon"),
    ],
)
def test_wrong_lexicon_arguments_say_what_to_pass(lexicon: object, match: str) -> None:
    rec = Recognizer.from_pretrained(device="cpu")
    with pytest.raises(LexiconError, match=match):
        rec([render_word("cat"), render_word("dog")], lexicon=lexicon)


def test_a_lexicon_name_or_file_is_loaded_for_the_call() -> None:
    rec = Recognizer.from_pretrained(device="cpu")
    by_name = rec([render_word("cat"), render_word("dog")], lexicon="en-50k")
    loaded = rec([render_word("cat"), render_word("dog")], lexicon=Lexicon.load("en-50k"))
    assert [p.text for p in by_name] == [p.text for p in loaded]
    assert all(p.lexicon_used for p in by_name)


def test_whitespace_inside_a_word_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match=r"word 2 \('new york'\) contains whitespace"):
        Lexicon(["paris", " new york ", "rome"])
    f = tmp_path / "lex.txt"
    f.write_text("# a comment may have spaces\n paris \nnew\tyork\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lex\.txt:3: 'new\\tyork' contains whitespace"):
        Lexicon.load(f)
    f.write_text("# a comment may have spaces\n paris \n", encoding="utf-8")
    assert Lexicon.load(f).words == ["paris"]
    per = tmp_path / "lex.tsv"
    per.write_text("a.png\tONE, TWO\nb.png\tNEW YORK,PARIS\n")
    with pytest.raises(LexiconError, match=r"lex\.tsv:2: 'NEW YORK' contains whitespace"):
        read_lexicon_tsv(per)


def test_per_image_tsv_refuses_a_key_given_twice(tmp_path: Path) -> None:
    per = tmp_path / "lex.tsv"
    per.write_text("a.png\tONE\n# comment\nb.png\tTWO\na.png\tTHREE\n")
    with pytest.raises(LexiconError, match=r"lex\.tsv:4: 'a\.png' already has a lexicon on line 1"):
        read_lexicon_tsv(per)


def test_big_lexicons_show_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import crnn_plugin.lexicon_io as lexicon_io

    f = tmp_path / "lex.txt"
    f.write_text("".join(f"w{i}\n" for i in range(50)))
    Lexicon.load(f, progress=True)
    assert capsys.readouterr().err == ""  # small: no bar
    monkeypatch.setattr(lexicon_io, "PROGRESS_MIN", 10)
    Lexicon.load(f, progress=False)
    assert capsys.readouterr().err == ""
    lex = Lexicon.load(f, progress=True)
    err = capsys.readouterr().err.splitlines()  # not a terminal: a line as each stage starts and ends
    assert len(lex) == 50 and len(err) == 4, err
    assert err[0].endswith("lex.txt: reading 51 lines...") and "lex.txt: reading 51 lines: done in" in err[1]
    assert err[2].endswith("lex.txt: indexing 50 words...") and "indexing 50 words: done in" in err[3]


def test_the_index_is_built_once_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls only look the index up: nothing is encoded again however many crops are matched."""
    import crnn_plugin.lexicon_index as lexicon_index

    vocab = string.digits + string.ascii_letters
    lex = Lexicon([f"w{i:05d}" for i in range(3000)] + ["hello"])
    lex.check_vocab(vocab)
    monkeypatch.setattr(lexicon_index, "build_index", None)  # would fail if called
    monkeypatch.setattr(lexicon_index, "_occurrences", None)
    lp = log_softmax(np.zeros((12, len(vocab) + 1)))
    for _ in range(3):
        assert lex.match(lp, "hellp", vocab).candidates >= 1


def _line_reading(text: str, vocab: str, unsure: dict[int, dict[str, float]] | None = None) -> np.ndarray:
    """Log-probs that read ``text`` (spaces included) with sure frames, except the characters at
    the positions of ``unsure`` (their own distributions)."""
    dists = [(unsure or {}).get(i, {c: 0.99}) for i, c in enumerate(text)]
    return _reading(dists, vocab)


def _fake_recognizer(vocab: str, lps: list[np.ndarray]) -> object:
    """What apply_lexicon needs of a Recognizer, on hand-made log-probs."""
    from types import SimpleNamespace

    from crnn_plugin import Tokenizer, best_path

    tok = Tokenizer(vocab)
    return SimpleNamespace(
        config=SimpleNamespace(vocab=vocab),
        log_probs_and_decode=lambda arrays: [(lp, best_path(lp[None], tok)[0]) for lp in lps],
    )


def _words(p: Prediction) -> list[dict[str, object]]:
    """The per-word details of a line matched with a lexicon."""
    return cast("list[dict[str, object]]", p.extra["words"])


def test_word_spans_cut_the_frames_where_the_space_wins() -> None:
    from crnn_plugin.lexicon import word_spans

    vocab = "acdgot1 "
    lp = _line_reading(" cat  11 dag ", vocab)
    spans = word_spans(lp, vocab)
    assert [r for _, _, r in spans] == ["cat", "11", "dag"]
    for start, end, reading in spans:
        assert len(reading) * 2 <= end - start  # a word's own frames: its characters and blanks
        assert vocab.index(" ") not in lp[start:end].argmax(-1).tolist()


def test_a_line_is_matched_word_by_word() -> None:
    from crnn_plugin.lexicon import apply_lexicon

    vocab = "acdgot1 "
    lp = _line_reading("cat 11 dag", vocab, unsure={8: {"a": 0.5, "o": 0.45}})  # "dag" or "dog"
    rec = _fake_recognizer(vocab, [lp])
    lex = Lexicon(["cat", "dog"], case_sensitive=True)
    closed = apply_lexicon(rec, [np.zeros(1)], lex)[0]  # type: ignore[arg-type]
    # closed (the paper's rule): every word becomes a lexicon word, "11" too
    assert closed.raw_text == "cat 11 dag" and closed.lexicon_used
    assert [w["reading"] for w in _words(closed)] == ["cat", "11", "dag"]
    assert closed.text.split(" ") in (["cat", w, "dog"] for w in ("cat", "dog"))
    assert closed.confidence == pytest.approx(
        math.exp(sequence_log_probs(lp, [[vocab.index(c) for c in closed.text]])[0]), rel=1e-5
    )
    # open: the sure "11" stays, the unsure "dag" becomes "dog"
    lex = Lexicon(["cat", "dog"], case_sensitive=True, min_ratio=0.01)
    opened = apply_lexicon(rec, [np.zeros(1)], lex)[0]  # type: ignore[arg-type]
    assert opened.text == "cat 11 dog" and opened.lexicon_used
    assert [w["lexicon_used"] for w in _words(opened)] == [True, False, True]
    # nothing taken from the lexicon: the lexicon-free line comes back as it is
    lex = Lexicon(["cog"], case_sensitive=True, min_ratio=0.01)
    kept = apply_lexicon(rec, [np.zeros(1)], lex)[0]  # type: ignore[arg-type]
    assert kept.text == kept.raw_text == "cat 11 dag" and not kept.lexicon_used
    assert kept.confidence == pytest.approx(
        math.exp(sequence_log_probs(lp, [[vocab.index(c) for c in kept.text]])[0]), rel=1e-5
    )


def test_a_space_model_takes_lexicons_on_words_and_lines(tiny_config: CRNNConfig) -> None:
    """An untrained model whose vocab has the space: lexicons load, match and never put a space
    inside a word; a word reading (no space) goes through the word path unchanged."""
    import dataclasses

    from crnn_plugin import VOCABS

    torch = pytest.importorskip("torch")
    from crnn_plugin import CRNN

    torch.manual_seed(0)
    model = CRNN(dataclasses.replace(tiny_config, vocab=VOCABS["english_space"])).eval()
    rec = Recognizer(model, device="cpu")
    lex = Lexicon(["cat", "dog", "total"], min_ratio=0.01)
    lex.check_vocab(rec.config.vocab)
    for p in rec([render_word("cat"), render_word("total 12.50")], lexicon=lex):
        assert p.raw_text is not None and p.text.strip() == p.text and "  " not in p.text
        if " " in p.raw_text:
            assert all(" " not in str(w["reading"]) for w in _words(p))
        else:
            assert "words" not in p.extra
