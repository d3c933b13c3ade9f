"""launchlab: an AI-assisted new-product development pipeline.

Importing the package is cheap: torch, prefect and mlflow are imported lazily by the modules
that need them.
"""

__version__ = "0.1.0"

from launchlab.errors import InputError

__all__ = ["InputError", "__version__"]
