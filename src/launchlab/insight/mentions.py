"""Split reviews into mentions: sentences, and clauses joined by a contrast ("fits well but the zipper broke")."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

# Sentence ends: . ! ? (and runs of them) followed by space, or line breaks. Decimal points
# ("5.5 inches") and abbreviations without a following space are left alone.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Za-z0-9])|\s*\n+\s*")
# Contrast joins two opinions: split "X, but Y" / "X; however Y" into two mentions.
_CONTRAST = re.compile(r"\s*(?:[,;]\s*|\.{2,}\s*|\s)(?=(?:but|however|though|although|except|yet)\b)", re.IGNORECASE)
# A contrast clause that opens on a pronoun ("but it runs small") or is only a few words long
# ("but pricey") goes on about the topic of the clause before it, so it stays joined to it: split
# off, it would be a mention without a topic of its own.
_ANAPHOR = re.compile(
    r"\W*(?:but|however|though|although|except|yet)\W+(?:it|it's|its|they|they're|them|this|that|that's|"
    r"these|those|he|she|there|there's|thats|theyre)\b",
    re.IGNORECASE,
)
MIN_CLAUSE_WORDS = 4
_WORDS = re.compile(r"[A-Za-z0-9']+")
MIN_WORDS = 2
MAX_CHARS = 1000


def split_text(text: str, *, min_words: int = MIN_WORDS, max_chars: int = MAX_CHARS) -> list[str]:
    """Mentions of one review, in order; every mention is a verbatim piece of the text.

    Sentences are split first, then before contrast words ("but", "however" ...) that open a
    clause of at least ``MIN_CLAUSE_WORDS`` words not starting with a pronoun (a clause that goes
    on about the same thing, "... but it runs small", stays whole: on SemEval-2015 single-aspect
    sentences such fragments cost the needs 0.01-0.02 NMI); a piece with fewer than ``min_words``
    words is glued to its neighbour (so "Love it!" after a long sentence does not become a need
    of its own). Pieces longer than ``max_chars`` are cut at the last space before the limit.
    """
    text = str(text).strip()
    if not text:
        return []
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        pieces.extend(_contrast_clauses(sentence))
    merged: list[str] = []
    for piece in pieces:
        if merged and (_n_words(piece) < min_words or _n_words(merged[-1]) < min_words):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    out: list[str] = []
    for piece in merged:
        while len(piece) > max_chars:
            cut = piece.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            out.append(piece[:cut].strip())
            piece = piece[cut:].strip()
        if piece:
            out.append(piece)
    return out


def _contrast_clauses(sentence: str) -> list[str]:
    """The sentence cut before each contrast word that opens a clause with a topic of its own."""
    cuts = [m for m in _CONTRAST.finditer(sentence) if m.start() > 0]
    pieces, start = [], 0
    for k, m in enumerate(cuts):
        clause = sentence[m.end() : cuts[k + 1].start() if k + 1 < len(cuts) else len(sentence)]
        if _ANAPHOR.match(clause) or _n_words(clause) < MIN_CLAUSE_WORDS:
            continue
        pieces.append(sentence[start : m.start()].strip())
        start = m.end()
    pieces.append(sentence[start:].strip())
    return [p for p in pieces if p] or [sentence]


def _n_words(text: str) -> int:
    return len(_WORDS.findall(text))


def split_mentions(review_ids: Sequence[str], texts: Sequence[str], **kwargs) -> pd.DataFrame:
    """One row per mention: ``review_id``, ``mention_id`` (``<review_id>#<k>``), ``position``
    (0-based within the review), ``text``, and ``review_index`` (row of the review in the input)."""
    rows = []
    for index, (rid, text) in enumerate(zip(review_ids, texts)):
        for k, mention in enumerate(split_text(text, **kwargs) or [str(text).strip()]):
            rows.append((str(rid), f"{rid}#{k}", k, mention, index))
    return pd.DataFrame(rows, columns=["review_id", "mention_id", "position", "text", "review_index"])
