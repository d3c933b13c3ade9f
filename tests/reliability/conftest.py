"""Reliability tests: print how many fuzz cases were tried at the end of the run."""

from __future__ import annotations

from malformed import CASES


def pytest_terminal_summary(terminalreporter) -> None:
    if CASES:
        per = ", ".join(f"{k} {v}" for k, v in sorted(CASES.items()))
        terminalreporter.write_line(f"reliability fuzz: {sum(CASES.values())} cases tried ({per})")
