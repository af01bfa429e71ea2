"""Plain-ASCII output for terminals that cannot show derivkit's symbols.

derivkit writes σ, ∂, ∘, Σ, ², ≈ and friends. When standard output (or
standard error) uses an encoding that cannot represent a character, for
instance under ``PYTHONIOENCODING=ascii`` or a C locale without UTF-8, the
command line does not crash: :func:`install` makes the stream spell each such
character with the one table below, :data:`ASCII`, the same for every command.

>>> to_ascii("σ'(x) = σ(x)·(1 - σ(x))")
"sigma'(x) = sigma(x)*(1 - sigma(x))"
>>> to_ascii("∂L/∂W2 = H_outᵀ (G ∘ σ'(O_in)),  √x + x² ≈ 0.5")
"dL/dW2 = H_out^T (G (.) sigma'(O_in)),  sqrt(x) + x^2 ~= 0.5"
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from typing import IO, Any

__all__ = ["ASCII", "to_ascii", "can_encode", "install"]

_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron "
    "pi rho sigma tau upsilon phi chi psi omega"
).split()

#: Every non-ASCII character derivkit prints, spelled in ASCII.
ASCII: dict[str, str] = {
    **dict(zip("αβγδεζηθικλμνξοπρστυφχψω", _GREEK)),
    **dict(zip("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ", (g.capitalize() for g in _GREEK))),
    "ς": "sigma", "ϕ": "phi", "ϵ": "epsilon", "ϑ": "theta",
    "Σ": "sum", "∏": "prod", "Δ": "Delta", "∂": "d", "∇": "grad", "√": "sqrt", "∞": "oo",
    "·": "*", "⋅": "*", "∗": "*", "×": "x", "÷": "/", "∘": "(.)", "⊙": "(.)", "⊗": "(x)",
    "−": "-", "–": "-", "—": "--", "±": "+/-", "∓": "-/+",
    "≈": "~=", "≠": "!=", "≤": "<=", "≥": ">=", "≡": "==", "∈": " in ", "∉": " not in ",
    "→": "->", "←": "<-", "↦": "|->", "⇒": "=>", "⇔": "<=>", "…": "...",
    "ᵀ": "^T", "′": "'", "″": "''", "‖": "||", "§": "S", "°": " deg",
    "‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " ", "\u0302": "_hat",
}
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ⁿⁱ", "0123456789+-ni"))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋ₙᵢⱼₖ", "0123456789+-nijk"))
_TOKEN = re.compile(r"[A-Za-z0-9_.]+")


def _spell(ch: str) -> str:
    if ch in ASCII:
        return ASCII[ch]
    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    return plain or "?"


def _transliterate(text: str, start: int, end: int) -> tuple[str, int]:
    """The ASCII spelling of ``text[start:end]``, and where to resume (after ``end``
    when a square root takes the token that follows it as its argument)."""
    out: list[str] = []
    i = start
    while i < end:
        ch = text[i]
        for table, mark in ((_SUPERSCRIPTS, "^"), (_SUBSCRIPTS, "_")):
            if ch in table:
                j = i
                while j < end and text[j] in table:
                    j += 1
                out.append(mark + "".join(table[c] for c in text[i:j]))
                i = j
                break
        else:
            if ch == "√" and i + 1 == end and end < len(text) and text[end] != "(":
                token = _TOKEN.match(text, end)
                if token:
                    out.append(f"sqrt({token.group()})")
                    return "".join(out), token.end()
            word = _spell(ch)
            before = out[-1][-1:] if out else text[i - 1:i]
            after = text[i + 1:i + 2]
            if word.isalpha() and len(word) > 1:  # keep "sigma x" from reading as "sigmax"
                if before.isascii() and before.isalpha():
                    word = " " + word
                if after.isascii() and after.isalpha():
                    word += " "
            out.append(word)
            i += 1
    return "".join(out), i


def to_ascii(text: str) -> str:
    """``text`` with every non-ASCII character spelled in ASCII (see :data:`ASCII`).

    >>> to_ascii("Δb = -α ∇f,  W₁₂ ∈ ℝ")
    'Delta b = -alpha grad f,  W_12 in R'
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i].isascii():
            j = i
            while j < len(text) and text[j].isascii():
                j += 1
            out.append(text[i:j])
            i = j
        else:
            j = i
            while j < len(text) and not text[j].isascii():
                j += 1
            spelled, i = _transliterate(text, i, j)
            out.append(spelled)
    return "".join(out)


def _handler(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    return _transliterate(err.object, err.start, err.end)


_HANDLER = "derivkit-ascii"
codecs.register_error(_HANDLER, _handler)


def can_encode(stream: Any, text: str) -> bool:
    """Whether ``stream`` can write ``text`` as it is.

    >>> import io
    >>> can_encode(io.TextIOWrapper(io.BytesIO(), encoding="ascii"), "σ")
    False
    """
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:
        return True
    return True


def install(*streams: IO[str]) -> None:
    """Make each text stream that cannot encode derivkit's symbols spell them in ASCII.

    Streams that can (UTF-8 ones) and streams that cannot be reconfigured are left alone.
    """
    for stream in streams:
        if stream is None or can_encode(stream, "".join(ASCII)):
            continue
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=_HANDLER)
