"""Concept scoring: rank candidate products against the needs and trends found, and say why.

``score_concepts(concepts, needs, embedder=..., trends=None, config=None)`` is the stage
function; :class:`ConceptScorer` the fitted estimator it returns (registered as
``launchlab-concept-scorer``); :class:`ConceptsConfig` its parameters.
"""

from launchlab.concepts.config import COMPONENTS, DEFAULT_WEIGHTS, ConceptsConfig
from launchlab.concepts.score import MODEL_NAME, SCORE_COLUMNS, score_concepts
from launchlab.concepts.scorer import ConceptScorer

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "MODEL_NAME",
    "SCORE_COLUMNS",
    "ConceptScorer",
    "ConceptsConfig",
    "score_concepts",
]
