"""The shared neural core: networks, trainer and autograd derivative engine.

Used to fit measured data (:class:`discover.interpolate.NeuralInterpolant`) and to solve PDEs
(:mod:`discover.solve.neural`) with the same networks and the same derivative engine.
"""

from .autodiff import derivative_tensors, derivatives, hessian
from .icnn import ICNN
from .networks import ACTIVATIONS, MLP, Scaled, Sine
from .trainer import TrainResult, fit, threads

__all__ = [
    "ACTIVATIONS",
    "ICNN",
    "MLP",
    "Scaled",
    "Sine",
    "TrainResult",
    "derivative_tensors",
    "derivatives",
    "fit",
    "hessian",
    "threads",
]
