"""Concept scoring: rank candidate products against the needs and trends found, and say why.

``score_concepts(concepts, needs, embedder=..., trends=None, config=None, norms=None,
reviews=None, history=None)`` is the stage function; :class:`ConceptScorer` the fitted
estimator it returns (registered as ``launchlab-concept-scorer``); :class:`ConceptsConfig` its
parameters. Submodules: ``scorer`` (the components), ``lexicon`` (defect words), ``panel`` (the
simulated consumer panel), ``norms`` (percentiles against past concepts), ``history`` (learning
from past launches), ``text`` (the texts the scorer reads), ``explain`` (the paragraph behind a
score).
"""

from launchlab.concepts.config import COMPONENTS, DEFAULT_WEIGHTS, ConceptsConfig
from launchlab.concepts.history import OutcomeModel
from launchlab.concepts.norms import NORM_COLUMNS
from launchlab.concepts.score import MODEL_NAME, SCORE_COLUMNS, score_concepts
from launchlab.concepts.scorer import ConceptScorer

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "MODEL_NAME",
    "NORM_COLUMNS",
    "SCORE_COLUMNS",
    "ConceptScorer",
    "ConceptsConfig",
    "OutcomeModel",
    "score_concepts",
]
