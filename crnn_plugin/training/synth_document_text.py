"""Labels of document crops: the words, numbers and field labels of forms and receipts.

:class:`DocTextSampler` draws one label from a :class:`random.Random`: a single token (a word,
a date, a price, a code, a field label...) or, when the vocab has a space, a line of 2-8 tokens
joined by single spaces. Tokens never contain a space; every label only uses vocab characters.
"""

from __future__ import annotations

import functools
import random
import string
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["DocTextSampler"]

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# fmt: off
_ABBREV = (
    "Inc.", "Co.", "Corp.", "Ltd.", "Dept.", "No.", "St.", "Ave.", "Rd.", "Blvd.", "Dr.", "Mr.",
    "Mrs.", "Ms.", "Jr.", "Sr.", "Bldg.", "Apt.", "Ste.", "Fl.", "Tel.", "Ext.", "Acct.", "Qty.",
    "Amt.", "Ref.", "Est.", "Approx.", "Misc.", "etc.", "e.g.", "i.e.", "vs.", "P.O.", "U.S.",
    "U.S.A.", "a.m.", "p.m.", "Nos.", "pp.", "Vol.", "Fig.", "Sec.", "Attn.", "Mgr.", "Asst.",
    "Div.", "Int'l", "Assoc.", "Bros.", "Sdn.", "Bhd.", "Pte.", "LLC", "L.L.C.", "Hwy.", "Ln.",
    "Ct.", "Pkwy.", "Univ.", "Gov't", "Dist.", "Rev.", "Pres.", "Secy.", "Treas.", "Mfg.",
)
_FIELDS = (
    "Name", "Date", "Address", "City", "State", "Zip", "Phone", "Tel", "Fax", "Email", "Signature",
    "Title", "Company", "Account", "Invoice", "Order", "Ref", "Total", "Amount", "Description",
    "Item", "Qty", "Price", "Unit", "Cashier", "Table", "Time", "Page", "From", "To", "Subject",
    "Re", "Cc", "Attn", "Dept", "Division", "Brand", "Client", "Project", "Budget", "Cost",
    "Code", "Number", "Model", "Serial", "Type", "Status", "Comments", "Remarks", "Location",
    "Country", "County", "Receipt", "Member", "Contact", "Approved", "Issued", "Due", "Balance",
)
_RECEIPT = (
    "TOTAL", "SUBTOTAL", "SUB-TOTAL", "Sub Total", "TAX", "GST", "SST", "VAT", "CASH", "CHANGE",
    "ROUNDING", "DISCOUNT", "QTY", "Qty", "AMOUNT", "BALANCE", "VISA", "CARD", "TENDER", "RECEIPT",
    "INVOICE", "ITEM", "PRICE", "RM", "SR", "ZR", "@", "x", "NET", "DUE", "PAID", "TOTAL:",
    "Total:", "CASHIER", "Cashier:", "Tel:", "TEL:", "Fax:", "NO.:", "No.:", "STATE/ZIP",
    "CITY/STATE", "(S)", "(RM)", "(Z)", "(SR)", "(1)", "(2)", "(a)", "(b)", "[X]", "*", "**",
    "#", "Y/N", "N/A", "A/C", "c/o", "w/", "S/N", "P/N", "I/O", "Mon-Fri", "24/7",
)
_STATES = ("NY", "CA", "TX", "NJ", "IL", "PA", "OH", "MA", "VA", "NC", "KY", "FL", "GA", "MD", "DC")
_STREETS = ("St.", "Ave.", "Rd.", "Blvd.", "Dr.", "Ln.", "Way", "Street", "Avenue", "Road", "Jalan")
_CODE_PREFIXES = ("INV", "PO", "SO", "CS", "TX", "REF", "ID", "OR", "DN", "CN", "AC", "ACC", "T")
# fmt: on


@functools.lru_cache(maxsize=2)
def _english_words(top_n: int) -> tuple[str, ...]:
    """The ``top_n`` most frequent English words of wordfreq, most frequent first."""
    from wordfreq import top_n_list

    return tuple(top_n_list("en", top_n))


class DocTextSampler:
    """Labels of form and receipt crops, restricted to ``vocab``.

    Args:
        vocab: characters allowed in labels; lines (tokens joined by single spaces) are only
            drawn when it contains a space.
        words: word list (most frequent first) replacing the wordfreq English list.
        p_line: share of lines among the labels (when the vocab has a space).
        line_tokens: number of tokens of a line.
        max_line_len: longest line label, in characters.
        max_len: longest single token, in characters.
    """

    def __init__(
        self,
        vocab: str,
        *,
        words: Sequence[str] | None = None,
        p_line: float = 0.4,
        line_tokens: tuple[int, int] = (2, 8),
        max_line_len: int = 60,
        max_len: int = 25,
        english_top_n: int = 50000,
    ) -> None:
        self._allowed = frozenset(vocab)
        self._lines = " " in self._allowed
        self._pool = "".join(sorted(c for c in self._allowed if c in string.printable and c.strip()))
        if not self._pool:
            raise ValueError("vocab has no printable ASCII character")
        self.p_line, self.line_tokens = p_line, line_tokens
        self.max_line_len, self.max_len = max_line_len, max_len
        source = words if words is not None else _english_words(english_top_n)
        tokens = [t for w in source for t in str(w).split()]
        self._words = [t for t in tokens if t.isascii() and 0 < len(t) <= max_len] or ["word"]
        self._kinds: list[tuple[float, Callable[[random.Random], str]]] = [
            (0.40, self._english),
            (0.10, self._field_label),
            (0.08, self._receipt_word),
            (0.07, self._abbreviation),
            (0.08, self._date),
            (0.03, self._time),
            (0.10, self._price),
            (0.04, self._number),
            (0.06, self._code),
            (0.04, self._phone),
        ]
        self._lines_kinds: list[tuple[float, Callable[[random.Random], list[str]]]] = [
            (0.30, self._prose),
            (0.20, self._field_line),
            (0.20, self._receipt_line),
            (0.12, self._address_line),
            (0.18, self._mixed_line),
        ]

    def sample(self, r: random.Random) -> str:
        """One label: a token, or a line of tokens joined by single spaces."""
        if self._lines and r.random() < self.p_line:
            line = self.line(r)
            if line:
                return line
        return self.token(r)

    def token(self, r: random.Random) -> str:
        """One token (no space) inside the vocab."""
        for _ in range(8):
            tok = self._fit(_pick(r, self._kinds)(r))
            if 0 < len(tok) <= self.max_len:
                return tok
        return "".join(r.choice(self._pool) for _ in range(r.randint(1, 6)))

    def line(self, r: random.Random) -> str:
        """2-8 tokens joined by single spaces, at most ``max_line_len`` characters ("" if none fit)."""
        lo, hi = self.line_tokens
        raw = [t for item in _pick(r, self._lines_kinds)(r) for t in item.split()]
        out: list[str] = []
        for item in raw:
            t = self._fit(item)
            if not t or len(t) > self.max_len:
                continue
            if len(" ".join([*out, t])) > self.max_line_len or len(out) >= hi:
                break
            out.append(t)
        while len(out) < lo:
            t = self.token(r)
            if len(" ".join([*out, t])) > self.max_line_len:
                break
            out.append(t)
        return " ".join(out) if len(out) >= 2 else ""

    def _fit(self, text: str) -> str:
        """Map ``text`` into the vocab (another case, else drop characters); no spaces."""
        text = "".join(text.split())
        allowed = self._allowed
        if all(c in allowed for c in text):
            return text
        for alt in (text.lower(), text.upper()):
            if all(c in allowed for c in alt):
                return alt
        kept = (c if c in allowed else c.swapcase() for c in text)
        return "".join(c for c in kept if c in allowed)

    # ------------------------------------------------------------------ tokens

    def _word(self, r: random.Random) -> str:
        n = len(self._words)
        rank = int(n ** r.random()) if r.random() < 0.5 else r.randrange(n) + 1
        return self._words[min(rank, n) - 1]

    def _case(self, r: random.Random, w: str) -> str:
        u = r.random()
        if u < 0.3:
            return w.upper()
        if u < 0.65:
            return w[:1].upper() + w[1:]
        return w

    def _english(self, r: random.Random) -> str:
        w = self._case(r, self._word(r))
        u = r.random()
        if u < 0.12:
            return w + r.choice([",", ".", ":", ";", ")", "'s", "?", "!"])
        if u < 0.15:
            return "(" + w + ")"
        if u < 0.19:
            return w + r.choice(["-", "/", "&"]) + self._case(r, self._word(r))
        return w

    def _field_label(self, r: random.Random) -> str:
        f = r.choice(_FIELDS)
        f = f.upper() if r.random() < 0.35 else f
        u = r.random()
        if u < 0.6:
            return f + ":"
        if u < 0.7:
            return f + r.choice(["No.:", "#:", "No:", "/"])
        return f

    def _receipt_word(self, r: random.Random) -> str:
        return r.choice(_RECEIPT)

    def _abbreviation(self, r: random.Random) -> str:
        a = r.choice(_ABBREV)
        return a.upper() if r.random() < 0.2 else a

    def _date(self, r: random.Random) -> str:
        y, m, d = r.randint(1960, 2030), r.randint(1, 12), r.randint(1, 28)
        mon = _MONTHS[m - 1][:3]
        mon = mon.upper() if r.random() < 0.5 else mon
        forms = (
            f"{m:02d}/{d:02d}/{y}",
            f"{m}/{d}/{y % 100:02d}",
            f"{d:02d}/{m:02d}/{y}",
            f"{d:02d}/{m:02d}/{y % 100:02d}",
            f"{y}-{m:02d}-{d:02d}",
            f"{d:02d}.{m:02d}.{y}",
            f"{d:02d}.{m:02d}.{y % 100:02d}",
            f"{d:02d}-{m:02d}-{y}",
            f"{d}-{mon}-{y % 100:02d}",
            f"{d:02d}-{mon}-{y}",
            f"{y}/{m:02d}/{d:02d}",
            f"{mon}{d},",
            f"{y}",
        )
        return r.choice(forms)

    def _time(self, r: random.Random) -> str:
        hh, mm, ss = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
        forms = (
            f"{hh:02d}:{mm:02d}",
            f"{hh:02d}:{mm:02d}:{ss:02d}",
            f"{(hh % 12) or 12}:{mm:02d}{r.choice(['AM', 'PM', 'am', 'pm'])}",
            f"{hh}:{mm:02d}",
        )
        return r.choice(forms)

    def _amount(self, r: random.Random) -> str:
        v = 10 ** r.uniform(-1, 4.5)
        s = f"{v:,.2f}" if v >= 1000 and r.random() < 0.6 else f"{v:.2f}"
        return s if r.random() < 0.9 else f"{round(v)}"

    def _price(self, r: random.Random) -> str:
        a = self._amount(r)
        u = r.random()
        if u < 0.35:
            return "$" + a
        if u < 0.45:
            return "RM" + a
        if u < 0.5:
            return "-" + a if r.random() < 0.5 else a + "-"
        if u < 0.55:
            return "(" + a + ")"
        if u < 0.6:
            return a + r.choice(["*", "SR", "ZR", "S", "T"])
        if u < 0.65:
            return f"{r.randint(0, 30)}{'.' + str(r.randint(0, 9)) if r.random() < 0.3 else ''}%"
        return a

    def _number(self, r: random.Random) -> str:
        u = r.random()
        if u < 0.4:
            return str(int(10 ** r.uniform(0, 4)))
        if u < 0.55:
            return f"{r.randint(1, 99)}x" if r.random() < 0.5 else f"x{r.randint(1, 99)}"
        if u < 0.7:
            return f"{r.randint(1, 20)}{r.choice(['.', ')'])}"
        if u < 0.85:
            return f"{r.uniform(0, 99):.{r.randint(1, 3)}f}{r.choice(['', 'kg', 'g', 'L', 'pcs', 'ea'])}"
        return f"{r.randint(1, 12)}/{r.randint(1, 12)}"

    def _code(self, r: random.Random) -> str:
        dg, up = string.digits, string.ascii_uppercase

        def s(pool: str, lo: int, hi: int) -> str:
            return "".join(r.choice(pool) for _ in range(r.randint(lo, hi)))

        forms = (
            f"{r.choice(_CODE_PREFIXES)}-{s(dg, 4, 8)}",
            f"{r.choice(_CODE_PREFIXES)}{s(dg, 4, 10)}",
            f"#{s(dg, 3, 7)}",
            f"No.{s(dg, 2, 6)}",
            f"{s(dg, 5, 5)}-{s(dg, 4, 4)}",
            f"{s(dg, 5, 5)}",
            f"{s(up, 1, 3)}{s(dg, 1, 4)}{s(up, 0, 2)}",
            f"{s(dg, 3, 4)}-{s(dg, 4, 7)}-{s(dg, 1, 2)}",
            f"{s(up + dg, 6, 12)}",
            f"{s(dg, 8, 13)}",
            f"{r.choice(['REF', 'ID', 'SN', 'Ref', 'GST'])}:{s(up + dg, 4, 10)}",
            f"{s(up, 2, 3)}/{s(dg, 2, 4)}/{s(dg, 2, 4)}",
        )
        return r.choice(forms)

    def _phone(self, r: random.Random) -> str:
        dg = string.digits

        def s(n: int) -> str:
            return "".join(r.choice(dg) for _ in range(n))

        forms = (
            f"({s(3)}){s(3)}-{s(4)}",
            f"{s(3)}-{s(3)}-{s(4)}",
            f"{s(3)}.{s(3)}.{s(4)}",
            f"{s(2)}-{s(7)}",
            f"0{s(2)}-{s(7)}",
            f"1-800-{s(3)}-{s(4)}",
            f"+{r.randint(1, 99)}-{s(3)}-{s(3)}-{s(4)}",
            f"{r.choice(['Tel:', 'TEL:', 'Fax:', 'Ph:'])}{s(2)}-{s(7)}",
            f"{s(3)}-{s(4)}",
        )
        return r.choice(forms)

    # ------------------------------------------------------------------ lines

    def _prose(self, r: random.Random) -> list[str]:
        u = r.random()
        words = [self._word(r) for _ in range(r.randint(2, 8))]
        if u < 0.2:
            words = [w.upper() for w in words]
        elif u < 0.45:
            words = [w[:1].upper() + w[1:] for w in words]
        elif r.random() < 0.5:
            words[0] = words[0][:1].upper() + words[0][1:]
        for i in range(len(words) - 1):
            if r.random() < 0.08:
                words[i] += r.choice([",", ";", ":"])
        if r.random() < 0.4:
            words[-1] += r.choice([".", ".", ",", ":", ";", "?", ")"])
        return words

    def _field_line(self, r: random.Random) -> list[str]:
        label = self._field_label(r)
        if not label.endswith(":") and r.random() < 0.6:
            label += ":"
        if r.random() < 0.15:
            label = r.choice(["NO.:", "No.:", "Tel:", "STATE/ZIP", "Date:", "(S)", "Invoice No.:"])
        value_kinds = (self._date, self._code, self._phone, self._price, self._english, self._number)
        values = [r.choice(value_kinds)(r) for _ in range(r.randint(1, 3))]
        if label == "STATE/ZIP":
            values = [r.choice(_STATES), f"{r.randint(1000, 99999):05d}"]
        out = [*label.split(), *values]
        if r.random() < 0.3:
            out += self._field_line(r)[:3]
        return out

    def _receipt_line(self, r: random.Random) -> list[str]:
        u = r.random()
        if u < 0.3:
            name = [self._word(r).upper() for _ in range(r.randint(1, 3))]
            qty = [str(r.randint(1, 12))] if r.random() < 0.5 else []
            return [*name, *qty, self._amount(r)]
        if u < 0.5:
            return [str(r.randint(1, 9)), r.choice(["x", "@", "X"]), self._amount(r), self._amount(r)]
        if u < 0.8:
            key = r.choice(("TOTAL", "SUBTOTAL", "Total", "Subtotal", "CASH", "CHANGE", "GST 6%", "Tax"))
            cur = [r.choice(["RM", "$", "USD"])] if r.random() < 0.3 else []
            return [*key.split(), *cur, self._price(r)]
        return [
            self._date(r),
            self._time(r),
            *r.choice([["Cashier:", self._code(r)], ["No.:", self._code(r)]]),
        ]

    def _address_line(self, r: random.Random) -> list[str]:
        u = r.random()
        title = [self._word(r).capitalize() for _ in range(r.randint(1, 2))]
        if u < 0.35:
            out = [str(r.randint(1, 9999)), *title, r.choice(_STREETS)]
            if r.random() < 0.3:
                out += [r.choice(["Suite", "Apt.", "Ste.", "Fl."]), str(r.randint(1, 999))]
            return out
        if u < 0.6:
            return [*title, r.choice(_STATES), f"{r.randint(1000, 99999):05d}"]
        if u < 0.8:
            return [*title, r.choice(["Inc.", "Co.", "Corp.", "Ltd.", "Sdn. Bhd.", "LLC", "& Co."])]
        return ["P.O.", "Box", str(r.randint(1, 99999))]

    def _mixed_line(self, r: random.Random) -> list[str]:
        return [self.token(r) for _ in range(r.randint(2, 6))]


_T = TypeVar("_T")


def _pick(r: random.Random, weighted: Sequence[tuple[float, _T]]) -> _T:
    """Choose one callable of ``(weight, callable)`` pairs."""
    u = r.random() * sum(w for w, _ in weighted)
    for w, fn in weighted:
        u -= w
        if u < 0:
            return fn
    return weighted[-1][1]
