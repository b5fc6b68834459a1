"""The shared neural core: networks (MLP, shared-weight ResNet and its Neural-ODE limit),
the trainer (Adam, L-BFGS, Entropy-SGD, Langevin; trajectories on request), the autograd
derivative engine and diffusion maps.

Used to fit measured data (:class:`discover.interpolate.NeuralInterpolant`) and to solve PDEs
(:mod:`discover.solve.neural`) with the same networks and the same derivative engine.
"""

from .autodiff import derivative_tensors, derivatives, hessian
from .diffusion_maps import DiffusionMap, diffusion_map
from .icnn import ICNN
from .networks import ACTIVATIONS, MLP, Scaled, Sine
from .optimizers import OPTIMIZERS
from .resnet import NeuralODE, SharedResNet
from .trainer import TrainResult, fit, threads

__all__ = [
    "ACTIVATIONS",
    "ICNN",
    "MLP",
    "OPTIMIZERS",
    "DiffusionMap",
    "NeuralODE",
    "Scaled",
    "SharedResNet",
    "Sine",
    "TrainResult",
    "derivative_tensors",
    "derivatives",
    "diffusion_map",
    "fit",
    "hessian",
    "threads",
]
