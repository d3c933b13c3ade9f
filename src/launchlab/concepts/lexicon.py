"""Words that name a product defect, and the negations that turn them into a fix.

Sentence embeddings hardly tell "see-through" from "not see-through", so whether a concept text
*repeats* a complaint or *answers* it is read from the words: a unit of concept text that names
a defect without negating it ("sheer, lightweight fabric", "runs small, size up") is a risk for
the needs it matches; "never see-through", "pill-resistant", "does not shrink" are not.
The list is English and leans to consumer goods; override it with ``ConceptsConfig.defect_terms``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DEFECT_TERMS: tuple[str, ...] = (
    # sizing and fit
    r"runs? (?:small|large|big)", r"size (?:up|down)",
    r"too (?:small|tight|big|large|long|short|loose|wide|narrow|low|thin|heavy|hot|stiff|snug|baggy|boxy|sheer|itchy)",
    r"tight", r"huge", r"baggy", r"boxy", r"shapeless", r"unflattering", r"gap(?:e|es|ing)?", r"rides? up",
    r"digs? in",
    # fabric and make
    r"thin", r"sheer", r"see[- ]?through", r"transparent", r"flimsy", r"cheap(?:ly)?", r"itchy",
    r"scratchy", r"stiff", r"rough", r"clingy", r"snags?", r"frays?", r"unravel\w*", r"holes?",
    # care and durability
    r"shrinks?", r"shrank", r"shrunk", r"pills?", r"pilling", r"fades?", r"faded", r"fading",
    r"bleeds?", r"stretch(?:es|ed)? out", r"bags? out", r"wrinkles?", r"wrinkly",
    r"(?:hand wash|dry clean) only", r"breaks?", r"broke(?:n)?", r"leaks?", r"smells?",
)  # fmt: skip

NEGATIONS = frozenset(
    "no not never without nor zero won't wont doesn't doesnt don't dont isn't isnt aren't arent "
    "can't cant cannot less non anti resists resist prevents prevent stops stop avoids avoid "
    "instead free".split()
)
"""Tokens that, up to four words before a defect word, negate it."""

_FUZZY_NEGATIONS = ("without", "never", "doesn't", "doesnt", "cannot", "prevents", "prevent", "resists", "resist",
                    "avoids", "instead", "isn't", "aren't", "won't")  # fmt: skip
"""Negations distinctive enough to be recognised with one typo (short ones like "no" are not)."""


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def is_negation(token: str) -> bool:
    """A negation word, tolerating one typo in the distinctive ones ("wihtout", "nevr")."""
    if token in NEGATIONS:
        return True
    return len(token) >= 4 and any(token[0] == neg[0] and _one_edit(token, neg) for neg in _FUZZY_NEGATIONS)


_AFTER = re.compile(r"^[- ]?(?:free|proof|resistant|resisting|less)\b")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def compile_terms(terms: Sequence[str]) -> re.Pattern[str]:
    """One regex matching any defect term as whole words."""
    return re.compile(r"\b(?:" + "|".join(f"(?:{t})" for t in terms) + r")\b")


DEFAULT_PATTERN = compile_terms(DEFECT_TERMS)


def defect_mentions(text: str, pattern: re.Pattern[str] = DEFAULT_PATTERN) -> list[str]:
    """Defect words the text asserts (not negated), in order of appearance."""
    lowered = str(text).lower().replace("’", "'")
    found = []
    for hit in pattern.finditer(lowered):
        before = _WORD.findall(lowered[: hit.start()])[-4:]
        if any(is_negation(tok) for tok in before):
            continue
        if _AFTER.match(lowered[hit.end() :]):
            continue
        found.append(hit.group(0))
    return found
