"""Neural interpolants of measured fields: smooth, differentiable anywhere in the data's hull.

:class:`NeuralInterpolant` fits the shared neural core (:mod:`discover.neural`) to
:class:`~discover.io.Samples` of any layout (gridded, station, scattered; missing values were
already dropped by :func:`discover.io.load`) and differentiates the fit by automatic
differentiation, in physical units.

Examples
--------
>>> import numpy as np, xarray as xr
>>> from discover.io import load
>>> t = np.linspace(0, 1, 15); x = np.linspace(0, 1, 20)
>>> ds = xr.Dataset({"u": (("t", "x"), np.add.outer(t, x**2))}, coords={"t": t, "x": x})
>>> f = NeuralInterpolant(width=16, depth=2, adam_steps=300, lbfgs_steps=50).fit(load(ds, "u"))
>>> f.fit_report_["relative_val_rmse"][0] < 0.05
True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .io import Samples

if TYPE_CHECKING:
    import torch

    from .neural import Scaled

__all__ = ["NeuralInterpolant"]

logger = logging.getLogger(__name__)

#: default cap on the samples of the L-BFGS phase (see ``NeuralInterpolant.lbfgs_points``)
LBFGS_POINTS = 16384
#: training precisions by name (torch's dtypes; torch is imported when a fit starts)
DTYPES = ("float32", "float64")


class NeuralInterpolant(BaseEstimator):
    """A neural network fitted to measured values, differentiable by autograd.

    Parameters
    ----------
    width, depth : int
        Hidden units per layer and hidden layers.
    activation : {"tanh", "sin"}
    residual : bool
        Residual (skip) connections between hidden layers.
    network : {"mlp", "shared-resnet"}
        The network of the core (:data:`discover.neural.networks.NETWORKS`);
        ``shared-resnet`` shares one weight matrix between its ``depth`` layers (step
        ``1/depth``, the ResNet whose deep limit is a Neural ODE).
    adam_steps, lbfgs_steps : int
        Steps of the two training phases (see :func:`discover.neural.fit`).
    lr : float
        Adam's learning rate.
    batch_size : int, optional
        Adam mini-batch size (full batch when ``None`` or larger than the data).
    lbfgs_points : int, optional
        L-BFGS runs on a fixed random subset of this many training samples (all of them
        when ``None`` or fewer); the held-out samples still decide when it stops.
    val_fraction : float
        Fraction of samples held out (at random) for early stopping and the fit report.
    patience : int
        Steps without improvement of the held-out loss before a phase stops.
    seed : int
        Seeds the weights, the held-out split and the mini-batches.
    progress : bool
        Show a progress bar.
    num_threads : int, optional
        Threads while fitting (default: torch's setting, at most the CPUs available).
    dtype : {"float32", "float64"}
        Precision of the training.  Single precision trains 2-3 times faster on CPUs (the
        tanh layers dominate) and is ample for fitting measured values; the fitted network
        is then converted to double precision, so its values and derivatives are evaluated
        in float64 either way.
    optimizer : {"adam", "lbfgs", "entropy-sgd", "langevin"}
        The first training phase (see :mod:`discover.neural.optimizers`); L-BFGS follows it.
    optimizer_options : dict, optional
        Options of that optimizer.
    record_every : int, optional
        Record the weights every this many steps in ``trajectory_`` (for
        :func:`discover.neural.diffusion_map`).

    Attributes
    ----------
    model_ : torch.nn.Module
        The fitted network, in physical units.
    fit_report_ : dict
        Training and held-out RMS residual per field (physical units and relative to the
        field's standard deviation), the noise level they suggest, steps and seconds.
    coords_, fields_ : tuple of str
    lower_, upper_ : ndarray
        The box of the data's coordinates.
    trajectory_, trajectory_steps_ : ndarray or None
        The recorded weights (n, n_weights) and their steps (with ``record_every``).
    """

    def __init__(
        self,
        *,
        width: int = 32,
        depth: int = 3,
        activation: str = "tanh",
        residual: bool = False,
        network: str = "mlp",
        adam_steps: int = 2000,
        lbfgs_steps: int = 300,
        lr: float = 5e-3,
        batch_size: int | None = 2048,
        lbfgs_points: int | None = LBFGS_POINTS,
        val_fraction: float = 0.1,
        patience: int = 400,
        seed: int = 0,
        progress: bool = False,
        num_threads: int | None = None,
        dtype: str = "float32",
        optimizer: str = "adam",
        optimizer_options: dict | None = None,
        record_every: int | None = None,
    ) -> None:
        self.width = width
        self.depth = depth
        self.activation = activation
        self.residual = residual
        self.network = network
        self.adam_steps = adam_steps
        self.lbfgs_steps = lbfgs_steps
        self.lr = lr
        self.batch_size = batch_size
        self.lbfgs_points = lbfgs_points
        self.val_fraction = val_fraction
        self.patience = patience
        self.seed = seed
        self.progress = progress
        self.num_threads = num_threads
        self.dtype = dtype
        self.optimizer = optimizer
        self.optimizer_options = optimizer_options
        self.record_every = record_every

    def fit(self, samples: Samples) -> NeuralInterpolant:
        """Fit the network to ``samples`` and return ``self``."""
        from .neural.optimizers import check_optimizer

        if not isinstance(samples, Samples):
            raise TypeError(f"fit takes Samples (see discover.io.load), not {type(samples)}")
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in (0, 0.5), not {self.val_fraction}")
        if self.dtype not in DTYPES:
            valid = ", ".join(repr(d) for d in DTYPES)
            raise ValueError(f"unknown dtype {self.dtype!r}; valid dtypes: {valid}")
        check_optimizer(self.optimizer)
        pts = np.asarray(samples.points, dtype=np.float64)
        vals = np.asarray(samples.values, dtype=np.float64)
        rng = np.random.default_rng(self.seed)
        held = rng.uniform(size=len(pts)) < self.val_fraction
        mean, std = vals.mean(axis=0), vals.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        result = self._train(pts, vals, held, mean, std)
        self.trajectory_ = result.trajectory
        self.trajectory_steps_ = result.trajectory_steps
        self.model_.double()  # evaluated in double precision from here on
        self.coords_ = tuple(samples.coords)
        self.fields_ = tuple(samples.fields)
        self.lower_ = pts.min(axis=0)
        self.upper_ = pts.max(axis=0)
        res = self.predict(pts) - vals
        tr = np.sqrt(np.mean(res[~held] ** 2, axis=0))
        va = np.sqrt(np.mean(res[held] ** 2, axis=0))
        self.fit_report_ = self._report(result, tr, va, std, held)
        logger.info("interpolant: held-out RMS %s (relative %s)", va, va / std)
        return self

    def _train(
        self, pts: np.ndarray, vals: np.ndarray, held: np.ndarray, mean: Any, std: Any
    ) -> Any:
        """Build ``model_`` and train it on the points not ``held`` (seeded); returns the
        trainer's result."""
        import torch

        from .neural import Scaled, fit
        from .neural.networks import make_network

        dtype = getattr(torch, self.dtype)
        torch.manual_seed(self.seed)
        net = make_network(
            self.network,
            pts.shape[1],
            vals.shape[1],
            width=self.width,
            depth=self.depth,
            activation=self.activation,
            residual=self.residual,
        )
        self.model_ = Scaled(
            net, lower=pts.min(axis=0), upper=pts.max(axis=0), mean=mean, std=std
        ).to(dtype)
        x = torch.as_tensor(pts, dtype=dtype)
        y = torch.as_tensor((vals - mean) / std, dtype=dtype)

        def loss(model: Scaled, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            return torch.mean((model.normalized(xb) - yb) ** 2)

        return fit(
            self.model_,
            x[~held],
            y[~held],
            x_val=x[held],
            y_val=y[held],
            loss=loss,
            adam_steps=self.adam_steps,
            lbfgs_steps=self.lbfgs_steps,
            lr=self.lr,
            batch_size=self.batch_size,
            lbfgs_batch=self.lbfgs_points,
            patience=self.patience,
            seed=self.seed,
            progress=self.progress,
            num_threads=self.num_threads,
            optimizer=self.optimizer,
            optimizer_options=self.optimizer_options,
            record_every=self.record_every,
        )

    def _report(
        self, result: Any, tr: np.ndarray, va: np.ndarray, std: np.ndarray, held: np.ndarray
    ) -> dict[str, Any]:
        """The fit's report: errors on the training and held-out points, the training."""
        return {
            "train_rmse": tr.tolist(),
            "val_rmse": va.tolist(),
            "relative_val_rmse": (va / std).tolist(),
            # held-out residual = noise + interpolation error: an upper bound of the noise
            "noise_estimate": va.tolist(),
            "n_train": int((~held).sum()),
            "n_val": int(held.sum()),
            "steps": result.steps,
            "best_step": result.best_step,
            "seconds": round(result.seconds, 2),
            "n_parameters": int(sum(p.numel() for p in self.model_.parameters())),
            "network": {
                "width": self.width,
                "depth": self.depth,
                "activation": self.activation,
                "residual": self.residual,
                "type": self.network,
                "dtype": self.dtype,
            },
            "optimizer": self.optimizer,
        }

    def predict(self, points: np.ndarray) -> np.ndarray:
        """Values of the fitted field(s) at ``points`` (n, len(coords)) -> (n, n_fields)."""
        import torch

        check_is_fitted(self, "model_")
        with torch.no_grad():
            return self.model_(torch.as_tensor(np.asarray(points, dtype=np.float64))).numpy()

    def derivatives(
        self, points: np.ndarray, indices: Sequence[tuple[int, ...]], *, chunk_size: int = 8192
    ) -> dict[tuple[int, ...], np.ndarray]:
        """Derivatives (multi-indices over ``coords_``) at ``points``, in physical units."""
        from .neural import derivatives

        check_is_fitted(self, "model_")
        return derivatives(self.model_, points, indices, chunk_size=chunk_size)
