"""Character sets and the CTC label mapping (blank is the last class, as in docTR)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["VOCABS", "Tokenizer", "DEFAULT_VOCAB", "normalize_spaces"]

#: Named character sets. ``english`` is docTR-style: digits, ASCII letters and ASCII punctuation;
#: ``english_space`` adds the space, so that one model reads words and whole text lines.
VOCABS: dict[str, str] = {
    "english": string.digits + string.ascii_letters + string.punctuation,
    "english_space": string.digits + string.ascii_letters + string.punctuation + " ",
    "alphanumeric": string.digits + string.ascii_letters,
    "lowercase36": string.digits + string.ascii_lowercase,
}
DEFAULT_VOCAB = VOCABS["english"]


def normalize_spaces(text: str) -> str:
    """Runs of whitespace become one space, none leading or trailing: how line labels are compared."""
    return " ".join(text.split())


class Tokenizer:
    """Maps strings to class indices and back.

    Class ``i < len(vocab)`` is ``vocab[i]``; class ``len(vocab)`` is the CTC blank.
    """

    def __init__(self, vocab: str) -> None:
        if not vocab:
            raise ValueError("vocab must not be empty")
        if len(set(vocab)) != len(vocab):
            dupes = sorted({c for c in vocab if vocab.count(c) > 1})
            raise ValueError(f"vocab has duplicate characters: {dupes!r}")
        self.vocab = vocab
        self.blank = len(vocab)
        self._index = {c: i for i, c in enumerate(vocab)}
        #: class index of the space, or ``None`` for a word-only vocabulary
        self.space: int | None = self._index.get(" ")

    @property
    def num_classes(self) -> int:
        """Number of output classes, blank included."""
        return len(self.vocab) + 1

    def unknown_chars(self, text: str) -> set[str]:
        """Characters of ``text`` that are not in the vocabulary."""
        return {c for c in text if c not in self._index}

    def encode(self, text: str) -> list[int]:
        """Class indices of ``text``; raises ``ValueError`` naming characters outside the vocab."""
        missing = self.unknown_chars(text)
        if missing:
            raise ValueError(f"characters not in vocab: {sorted(missing)!r} (in {text!r})")
        return [self._index[c] for c in text]

    def encode_batch(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Concatenated targets ``(sum(L),)`` and lengths ``(N,)`` as ``F.ctc_loss`` expects (training:
        imports torch)."""
        import torch

        encoded = [self.encode(t) for t in texts]
        flat = [i for e in encoded for i in e]
        return (
            torch.tensor(flat, dtype=torch.long),
            torch.tensor([len(e) for e in encoded], dtype=torch.long),
        )

    def decode(self, indices: Sequence[int]) -> str:
        """String of already-collapsed class indices (blanks are skipped)."""
        return "".join(self.vocab[i] for i in indices if i != self.blank)
