"""The bundled demo concepts file."""

from __future__ import annotations

from pathlib import Path

from launchlab import io

CONCEPTS_YAML = Path(__file__).parents[2] / "data" / "concepts.yaml"


def test_demo_concepts_file_loads_and_is_complete():
    loaded = io.load_concepts(CONCEPTS_YAML)
    frame = loaded.frame
    assert 8 <= len(frame) <= 10
    assert loaded.quarantine is None or len(loaded.quarantine) == 0
    assert frame["concept_id"].is_unique
    assert frame["description"].str.len().min() > 40
    assert frame["price"].notna().all() and frame["category"].notna().all()
    assert all(len(c) >= 2 for c in frame["claims"])
    assert "Kitchen" in set(frame["category"])
