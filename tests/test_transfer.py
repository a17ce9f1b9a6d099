"""transfer_weights / with_vocab: a model for another vocabulary keeps every layer and, in its
classifier, the rows of the characters both vocabularies share (found by character, not position)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from crnn_plugin import CRNN, ConfigError
from crnn_plugin.transfer import new_rows, transfer_weights, with_vocab


def test_shared_characters_keep_their_rows_wherever_they_move(tiny_model: CRNN) -> None:
    vocab = "éZa9ñ"  # reordered, three of the tiny model's 62 characters, two new
    model, new = with_vocab(tiny_model, vocab)
    assert new == ["é", "ñ"] and model.vocab == vocab and not model.training
    old, got = tiny_model.state_dict(), model.state_dict()
    assert all(torch.equal(old[k], got[k]) for k in old if not k.startswith("classifier."))
    for name in ("classifier.weight", "classifier.bias"):
        for i, c in enumerate(vocab):
            if c in tiny_model.vocab:
                assert torch.equal(got[name][i], old[name][tiny_model.vocab.index(c)])
        assert torch.equal(got[name][-1], old[name][-1])  # the CTC blank
    assert got["classifier.weight"].shape == (len(vocab) + 1, 2 * tiny_model.config.hidden_size)


def test_a_permuted_vocab_reads_the_same(tiny_model: CRNN) -> None:
    """Same characters in another order: every character keeps its score, so the same readings."""
    vocab = tiny_model.vocab[::-1]
    model, new = with_vocab(tiny_model, vocab)
    assert new == []
    x = torch.randn(2, 3, 32, 64)
    with torch.no_grad():
        a, b = tiny_model(x), model(x)
    perm = [tiny_model.vocab.index(c) for c in vocab] + [len(vocab)]
    torch.testing.assert_close(b, a[..., perm], rtol=0, atol=0)


def test_new_rows_keep_the_targets_initialisation(tiny_model: CRNN) -> None:
    torch.manual_seed(1)
    target = CRNN(dataclasses.replace(tiny_model.config, vocab="é0"))
    fresh = target.classifier.weight[0].detach().clone()
    assert transfer_weights(tiny_model, target) == ["é"]
    assert torch.equal(target.classifier.weight[0], fresh)
    assert torch.equal(target.classifier.weight[1], tiny_model.classifier.weight[0])  # "0" is class 0


def test_other_architectures_and_bad_vocabs_are_refused(tiny_model: CRNN) -> None:
    wider = CRNN(dataclasses.replace(tiny_model.config, hidden_size=24))
    with pytest.raises(
        ValueError, match=r"cannot transfer rnn\.weight_ih_l0: source \(64, 32\), target \(96, 32\)"
    ):
        transfer_weights(tiny_model, wider)
    with pytest.raises(ConfigError, match="without duplicates"):
        with_vocab(tiny_model, "aab")


def test_new_rows_names_the_rows() -> None:
    assert new_rows("abcdéfèg", ["é", "è"]) == "4, 6 ('éè')"
    assert new_rows("0123éèàç", list("éèàç")) == "4-7 ('éèàç')"
    assert new_rows("abc", []) == "none"
    long = "".join(chr(0x4E00 + i) for i in range(100))
    assert new_rows(long, list(long)).startswith("0-99 (") and "..." in new_rows(long, list(long))


def test_check_transferable_from_the_configs_alone(tiny_model: CRNN) -> None:
    from crnn_plugin import PRESETS
    from crnn_plugin.transfer import check_transferable

    config = tiny_model.config
    check_transferable(config, dataclasses.replace(config, vocab="éa"))  # another vocab is fine
    with pytest.raises(
        ValueError, match=r"init_from has conv_channels=\(8, 16, .*\), the model to train conv_channels=\(32,"
    ):
        check_transferable(config, PRESETS["crnn_small"])
    with pytest.raises(ValueError, match=r"init_from has hidden_size=16, the model to train hidden_size=24"):
        check_transferable(config, dataclasses.replace(config, hidden_size=24))
    with pytest.raises(
        ValueError, match=r"weights/x has batchnorm='all', the model to train batchnorm='paper'"
    ):
        check_transferable(config, dataclasses.replace(config, batchnorm="paper"), name="weights/x")


def test_a_new_rectifier_keeps_its_identity_start_across_vocabularies(tiny_model: CRNN) -> None:
    vocab = tiny_model.vocab[::-1]
    target = CRNN(dataclasses.replace(tiny_model.config, vocab=vocab, rectifier="tps")).eval()
    assert transfer_weights(tiny_model, target) == []
    x = torch.randn(2, 3, 32, 90)
    with torch.no_grad():
        a, b = tiny_model(x), target(x)
    perm = [tiny_model.vocab.index(c) for c in vocab] + [len(vocab)]
    torch.testing.assert_close(b, a[..., perm], rtol=1e-4, atol=1e-4)
