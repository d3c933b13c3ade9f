"""Defect words: a concept text that repeats a complaint versus one that answers it."""

from __future__ import annotations

import pytest

from launchlab.concepts.lexicon import compile_terms, defect_mentions, is_negation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sheer, lightweight fabric", ["sheer"]),
        ("Runs small, so size up", ["runs small", "size up"]),
        ("Soft brushed fabric that may pill", ["pill"]),
        ("Hand wash only", ["hand wash only"]),
        ("Not see-through, even in white", []),
        ("Does not shrink or pill after washing", []),
        ("Pill-resistant knit that is wrinkle-free", []),
        ("Never too tight", []),
        ("No gaping at the chest for large busts", []),
        ("Designed to fit broad shoulders wtihout gaping", []),  # a typo does not hide the negation
        ("True to size", []),
        ("Too pretty to resist", []),
        ("A tree of thin branches", ["thin"]),  # "tree" is not a misspelt "free"
    ],
)
def test_defect_mentions(text, expected):
    assert defect_mentions(text) == expected


def test_negation_typos_and_custom_terms():
    assert is_negation("wihtout") and is_negation("nevr") and is_negation("doesnt")
    assert not is_negation("tree") and not is_negation("nothing") and not is_negation("seven")
    pattern = compile_terms([r"greasy", r"sticky"])
    assert defect_mentions("A greasy, sticky balm", pattern) == ["greasy", "sticky"]
    assert defect_mentions("A balm that is never sticky", pattern) == []
