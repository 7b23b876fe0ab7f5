"""rnncast: forecast sequences with recurrent neural networks."""

from rnncast import baselines, datasets, metrics
from rnncast.forecaster import Forecaster

__version__ = "0.1.0"
__all__ = ["Forecaster", "__version__", "baselines", "datasets", "metrics"]
