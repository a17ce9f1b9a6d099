"""Build ``crnn_plugin/data/en_50k.txt``: the 50,000 most frequent words of Hunspell's en_US.

The paper's 50k lexicon is the Hunspell spell-checking dictionary. We take Debian's
``hunspell-en-us`` (SCOWL, permissive licence, copied to ``en_50k.LICENSE``), keep the stems made of
ASCII letters only (no affix expansion), and keep the 50,000 most frequent by ``wordfreq``.

    apt-get install hunspell-en-us && pip install wordfreq && python scripts/make_en50k.py
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from wordfreq import zipf_frequency

DIC = Path("/usr/share/hunspell/en_US.dic")
COPYRIGHT = Path("/usr/share/doc/hunspell-en-us/copyright")
OUT = Path(__file__).resolve().parent.parent / "crnn_plugin" / "data"


def main() -> None:
    words = []
    seen = set()
    for line in DIC.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
        w = line.split("/", 1)[0].strip()
        if re.fullmatch(r"[A-Za-z]+", w) and w not in seen:
            seen.add(w)
            words.append(w)
    ranked = sorted(words, key=lambda w: (-zipf_frequency(w, "en"), w.lower(), w))[:50_000]
    ranked.sort(key=lambda w: (w.lower(), w))
    header = (
        "# en-50k: the 50,000 most frequent ASCII words of Hunspell en_US (SCOWL),\n"
        "# ranked by wordfreq; made by scripts/make_en50k.py. Licence: en_50k.LICENSE.\n"
    )
    (OUT / "en_50k.txt").write_text(header + "\n".join(ranked) + "\n", encoding="utf-8")
    shutil.copy(COPYRIGHT, OUT / "en_50k.LICENSE")
    print(len(words), "stems ->", len(ranked), "words")


if __name__ == "__main__":
    main()
