"""The ``discover`` command.

``discover find DATA --var u`` prints the discovered equation(s) and writes JSON / LaTeX;
``discover validate RESULT.json DATA`` re-solves them over held-out data; ``discover solve
EQUATION --init DATA`` solves an equation from an initial state; ``discover generate NAME
OUT.nc`` writes a benchmark field; ``discover info`` prints versions.
Bad input ends with one line on stderr (what is wrong, what would be right) and exit status 2;
no output file is ever overwritten without ``--force``, and never the input itself.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperGroup
from typer.exceptions import Abort

from ._version import __version__
from .builders import methods
from .io import LAYOUTS, parse_sel
from .regress import REGRESSORS
from .select import CRITERIA
from .solve import SOLVERS
from .validate.baselines import BASELINES

#: exit status of a user mistake and of an interrupt (128 + SIGINT)
USAGE_STATUS, INTERRUPT_STATUS = 2, 130


class _Command(TyperGroup):
    """The command group with the project's error contract: a usage mistake (an unknown
    option, a value of the wrong type, a missing command) is one line on stderr and exit 2,
    an interrupt is one line and exit 130, a warning is one line ``warning: …``."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **kw):
        with warnings.catch_warnings():
            _one_line_warnings()
            code = self._run(args, prog_name, complete_var, **kw)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, args, prog_name, complete_var, **kw) -> int:
        try:
            rv = super().main(args, prog_name or "discover", complete_var, False, **kw)
        except NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx else "discover --help")
            return 0
        except ClickUsageError as exc:
            cmd = exc.ctx.command_path if exc.ctx else "discover"
            msg = " ".join(exc.format_message().split())
            typer.echo(f"error: {msg} (see '{cmd} --help')", err=True)
            return USAGE_STATUS
        except (KeyboardInterrupt, Abort):
            rv = INTERRUPT_STATUS
        if rv == INTERRUPT_STATUS:
            typer.echo("discover: interrupted", err=True)
        return rv if isinstance(rv, int) else 0


def _one_line_warnings() -> None:
    """Warnings as ``warning: message`` (no source line), each once; NumPy's floating-point
    warnings are silenced: the project reports a failed computation itself."""
    warnings.simplefilter("once")
    warnings.simplefilter("ignore", RuntimeWarning)

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"warning: {text}", file=sys.stderr if file is None else file)

    warnings.showwarning = show


app = typer.Typer(
    name="discover",
    help="Find the partial differential equation hidden in measured data.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_Command,
)

logger = logging.getLogger("discover")


class UsageError(Exception):
    """A user mistake found by the CLI itself."""


def check_optimizer(name: str) -> str:
    """``name`` if it is an optimizer of the neural training (imports torch on first use)."""
    from .neural.optimizers import check_optimizer as check

    return check(name)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _check_output(path: Path | None, force: bool, inputs: list[Path]) -> None:
    """Before any work: the output is not an input, does not exist (unless ``force``), and
    its folder exists and can be written."""
    if path is None:
        return
    for src in inputs:
        if src.exists() and path.exists() and path.resolve() == src.resolve():
            raise UsageError(f"output '{path}' is the input file; choose another output path")
    if path.is_dir():
        raise UsageError(f"'{path}' is a folder; give a file path")
    if path.exists() and not force:
        raise UsageError(f"'{path}' exists; use --force to overwrite it, or choose another path")
    parent = path.parent
    if not parent.exists():
        raise UsageError(f"folder '{parent}' does not exist; create it first")
    if not parent.is_dir():
        raise UsageError(f"'{parent}' is a file, not a folder; give an output path in a folder")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(
            f"cannot write in folder '{parent}' ({exc.strerror or exc}); choose another output path"
        ) from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace_atomically(path: Path, write, *, force: bool = True) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place, with
    the permissions the umask gives a new file: the output is whole or absent, never
    half-written.  Without ``force`` a file that appeared at ``path`` meanwhile (another run)
    is kept and the new result is refused in one line."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        if force:
            os.replace(tmp, path)
        else:
            _link_new(Path(tmp), path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _link_new(tmp: Path, path: Path) -> None:
    """Put ``tmp`` at ``path`` only if nothing is there (a hard link is atomic and exclusive)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise UsageError(
            f"'{path}' appeared while discover ran and was kept; the result was not written "
            "(use --force to overwrite, or choose another path)"
        ) from None
    except OSError:  # a file system without hard links: exclusive create, then replace
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            raise UsageError(
                f"'{path}' appeared while discover ran and was kept; use --force to overwrite"
            ) from None
        os.replace(tmp, path)


def _write_atomic(path: Path, text: str, *, force: bool = True) -> None:
    _replace_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), force=force)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _parameters() -> set[str]:
    """The library parameters that are flags of some command (for :func:`as_flags`)."""
    group = typer.main.get_command(app)
    return {
        p.name
        for cmd in group.commands.values()
        for p in cmd.params
        if getattr(p, "param_type_name", "") == "option" and p.name
    } | {"n_bootstrap", "include_constant", "baselines"}


def _run(fn, *args, **kwargs):
    """Call ``fn``; user mistakes become one line and exit 2."""
    from .errors import DataError, as_flags

    try:
        return fn(*args, **kwargs)
    except DataError as exc:
        _fail(as_flags(str(exc), _parameters()))
    except UsageError as exc:
        _fail(str(exc))
    except FileNotFoundError as exc:
        _fail(f"no such file: '{exc.filename or exc}'")


def _names(names) -> str:
    """``a, b or c`` for a help text: a registry's names, or the names given."""
    names = list(getattr(names, "names", names))
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


@app.command()
def find(
    data: Annotated[Path, typer.Argument(help="netCDF file of the measured field(s).")],
    var: Annotated[str, typer.Option("--var", "-v", help="Field variable(s), comma-separated.")],
    time: Annotated[str | None, typer.Option(help="Name of the time coordinate.")] = None,
    max_order: Annotated[int, typer.Option(help="Highest spatial derivative order.")] = 3,
    degree: Annotated[int, typer.Option(help="Highest polynomial degree of the fields.")] = 2,
    method: Annotated[str, typer.Option(help=f"Derivatives: {_names(methods())}.")] = "auto",
    accuracy: Annotated[
        str, typer.Option(help="Finite-difference accuracy: auto or an even number.")
    ] = "auto",
    form: Annotated[
        str, typer.Option(help="Neural method's regression: weak (test functions) or strong.")
    ] = "weak",
    select: Annotated[
        str, typer.Option(help=f"Selection criterion: {_names(CRITERIA.names)}.")
    ] = "1se",
    regressor: Annotated[
        str, typer.Option(help=f"Sparse regressor of the path: {_names(REGRESSORS.names)}.")
    ] = "stlsq",
    bootstrap: Annotated[
        int, typer.Option(help="Block-bootstrap resamples for inclusion and intervals (0: none).")
    ] = 100,
    library_fraction: Annotated[
        float, typer.Option(help="Fraction of the library each resample offers (bagging).")
    ] = 1.0,
    extra: Annotated[
        list[str] | None, typer.Option(help="Extra candidate term (SymPy), repeatable.")
    ] = None,
    no_constant: Annotated[bool, typer.Option(help="Leave the constant term out.")] = False,
    time_unit: Annotated[str, typer.Option(help="Unit for datetime times.")] = "days",
    units: Annotated[
        str | None,
        typer.Option(help="Declared transform of the inputs, e.g. 'x=km,t=days' (SYMBOL=UNIT)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the result as JSON.")
    ] = None,
    latex_out: Annotated[Path | None, typer.Option("--latex", help="Write LaTeX.")] = None,
    path: Annotated[bool, typer.Option("--path", help="Print the sparsity path.")] = False,
    plot_path: Annotated[
        Path | None, typer.Option("--plot-path", help="Write a PNG of the Pareto front.")
    ] = None,
    holdout: Annotated[
        str | None,
        typer.Option(
            help="Leave data out for `discover validate`: last:P% or last:N steps, and/or "
            "stations:P% or stations:N (station data), e.g. last:20%,stations:9."
        ),
    ] = None,
    preset: Annotated[
        str,
        typer.Option(
            help="Settings for a kind of data: 'weather' (lat/lon -> km, time -> h or days, "
            "linear 2nd-order library, diurnal/annual forcing harmonics, fd on grids), 'none', "
            "or 'auto': weather for data on latitude/longitude."
        ),
    ] = "auto",
    sel: Annotated[
        str | None,
        typer.Option(help="Take one value along a dim, e.g. number=0 (an ensemble member)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing output files.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the cross-validation folds.")] = 0,
    optimizer: Annotated[
        str,
        typer.Option(help="Neural training's first phase: adam, lbfgs, entropy-sgd or langevin."),
    ] = "adam",
    verbose: Annotated[bool, typer.Option("--verbose", help="Log progress.")] = False,
    memory: Annotated[
        str,
        typer.Option(
            help="Memory budget, e.g. 2GB: larger data are read in chunks of time steps "
            "(a glob such as 'u_*.nc' reads many files)."
        ),
    ] = "2GB",
    chunks: Annotated[
        int | None, typer.Option(help="Time steps per chunk (takes the chunked path).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of a dask.distributed scheduler to run the chunks on."),
    ] = None,
    fields: Annotated[
        str,
        typer.Option(
            help="Coefficient fields: 'auto' tests each kept term for a coefficient that "
            "varies in space, or in time on a long gridded record (cubic splines; or "
            "'spline', 'legendre'), written beside --json as NAME.fields.nc; 'none' keeps "
            "constants."
        ),
    ] = "none",
) -> None:
    """Discover the PDE behind DATA and print it."""
    from .find import find as run_find

    _setup_logging(verbose)
    if optimizer != "adam":  # the default needs no check (and no torch for --method fd)
        _run(check_optimizer, optimizer)
    outputs = [o for o in (json_out, latex_out, plot_path) if o is not None]
    for out in outputs:
        _run(_check_output, out, force, [data])
    if len({o.resolve() for o in outputs}) < len(outputs):
        _fail("--json, --latex and --plot-path name the same file; give different paths")
    if plot_path is not None and plot_path.suffix.lower() != ".png":
        _fail(f"--plot-path writes PNG; give a file ending in .png, not '{plot_path.name}'")
    result = _run(
        run_find,
        str(data) if any(ch in str(data) for ch in "*?[") else data,
        [v.strip() for v in var.split(",") if v.strip()],
        time=time,
        time_unit=time_unit,
        method=method,
        accuracy=_accuracy(accuracy),
        form=form,
        max_order=max_order,
        degree=degree,
        extra=extra or (),
        include_constant=not no_constant,
        select=select,
        regressor=regressor,
        n_bootstrap=bootstrap,
        library_fraction=library_fraction,
        units=_declared_units(units),
        seed=seed,
        neural={"progress": sys.stderr.isatty(), "optimizer": optimizer},
        holdout=holdout,
        preset=preset,
        sel=_run(parse_sel, sel) or None,
        memory=memory,
        chunks=chunks,
        scheduler=scheduler,
        progress=sys.stderr.isatty(),
        fields=fields,
    )
    _print_result(result, path)
    _write_result(result, json_out, latex_out, plot_path, select=select, force=force)


def _accuracy(accuracy: str) -> int | str:
    """``--accuracy``: "auto" or an even whole number >= 2."""
    if accuracy == "auto":
        return accuracy
    try:
        acc = int(accuracy)
    except ValueError:
        _fail(f"--accuracy must be 'auto' or an even whole number, not '{accuracy}'")
    if acc < 2 or acc % 2:
        _fail(f"--accuracy must be 'auto' or an even number >= 2 (2, 4, 6), not {accuracy}")
    return acc


def _declared_units(units: str | None) -> dict[str, str] | None:
    """``--units x=km,t=days`` as a dict (None when not given)."""
    declared: dict[str, str] = {}
    for item in (units or "").split(","):
        if not item.strip():
            continue
        sym, sep, unit = item.partition("=")
        if not sep or not sym.strip() or not unit.strip():
            _fail(f"--units takes SYMBOL=UNIT pairs separated by commas, not '{item}'")
        declared[sym.strip()] = unit.strip()
    return declared or None


def _print_result(result, path: bool) -> None:
    """The preset line, each equation's summary, the equations in the data's own units and
    (``--path``) the sparsity paths."""
    if result.settings.get("preset"):
        why = result.settings.get("preset_reason", "")
        off = "; --preset none turns it off" if why.startswith("auto") else ""
        typer.echo(f"preset {result.settings['preset']} ({why}{off})")
    for eq in result.complex_equations:  # a complex field: its equation, its real pair below
        typer.echo(eq.summary())
    for eq in [] if result.complex_equations else result.equations:
        typer.echo(eq.summary())
    if result.transform is not None:
        before = ", ".join(f"{k}: {v}" for k, v in result.transform.units_before.items())
        typer.echo(f"in the data's own units ({before}):")
        for eq in result.equations_in_data_units:
            typer.echo(f"    {eq}")
    if path:
        for fld, p in result.paths.items():
            typer.echo(f"\nsparsity path for {fld} ({len(p.candidates)} models, sparsest first):")
            typer.echo(f"{'terms':>5}  {'rel. error':>10}  {'cv':>8}  {'±se':>6}  stable  model")
            for row in p.table():
                typer.echo(
                    f"{row['n_terms']:>5}  {row['relative_error']:>10.3e}  {row['cv']:>8.2f}  "
                    f"{row['cv_se']:>6.2f}  {'yes' if row['stable'] else 'no ':>6}  "
                    + " + ".join(row["terms"])
                )


def _write_result(result, json_out, latex_out, plot_path, *, select: str, force: bool) -> None:
    """The outputs asked for: JSON, LaTeX, the plot of the sparsity path."""
    if json_out is not None:
        doc = result.to_dict()
        doc["settings"]["command"] = "discover find"
        nc = json_out.with_name(json_out.stem + ".fields.nc")
        if _run(result.write_fields, nc, force=force):
            doc["fields_file"] = nc.name
            typer.echo(f"wrote {nc}", err=True)
        _run(_write_atomic, json_out, json.dumps(doc, indent=2) + "\n", force=force)
        typer.echo(f"wrote {json_out}", err=True)
    if latex_out is not None:
        _run(_write_atomic, latex_out, result.to_latex(), force=force)
        typer.echo(f"wrote {latex_out}", err=True)
    if plot_path is not None:
        _run(_write_plot, result, plot_path, select, force=force)
        typer.echo(f"wrote {plot_path}", err=True)


def _write_plot(result, out: Path, criterion: str, *, force: bool) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = result.paths
    fig, axes = plt.subplots(1, len(paths), figsize=(7 * len(paths), 4.5), squeeze=False)
    for ax, (fld, p) in zip(axes[0], paths.items()):
        name = result.data.names.get(fld, fld)
        p.plot(ax, criterion=criterion, title=f"{name}: sparsity path ({p.regressor})")
    fig.tight_layout()
    try:
        _replace_atomically(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"), force=force)
    finally:
        plt.close(fig)


def _solver_options(solver: str, steps: int | None, optimizer: str = "adam") -> dict:
    """The neural core's options (``auto`` and ``both`` may take it; validate passes them
    to the neural solver only)."""
    if solver in ("neural", "auto", "both"):
        opts: dict = {"progress": sys.stderr.isatty(), "optimizer": optimizer}
        if steps is not None:
            opts.update(adam_steps=steps, lbfgs_steps=steps)
        return opts
    return {}


def _periodic_arg(periodic: str) -> str | tuple[str, ...]:
    if periodic in ("auto", "none"):
        return periodic
    return tuple(p.strip() for p in periodic.split(",") if p.strip())


@app.command()
def validate(
    result: Annotated[Path, typer.Argument(help="JSON written by `discover find --json`.")],
    data: Annotated[Path, typer.Argument(help="netCDF file with the held-out data.")],
    var: Annotated[
        str | None, typer.Option("--var", "-v", help="Field variable(s); the result's by default.")
    ] = None,
    solver: Annotated[
        str,
        typer.Option(
            help=f"Solver: {_names(SOLVERS)}; auto: neural at stations, classical on grids; "
            "both: the two side by side."
        ),
    ] = "auto",
    region: Annotated[
        str,
        typer.Option(
            help="Stations, scattered data: where the neural core solves: hull, concave, "
            "mask:VAR (a variable of DATA) or an outline file (.geojson, .csv with lon,lat)."
        ),
    ] = "hull",
    start: Annotated[
        str,
        typer.Option(
            help="Stations, scattered data: the neural core's start state: spline (of the "
            "latest values up to the start), assimilate (the equation fitted to a window "
            "of values up to the start) or auto (assimilate)."
        ),
    ] = "auto",
    holdout: Annotated[
        str | None,
        typer.Option(
            help="Held-out window: last:P% or last:N (default: the result's, or 20%; held-out "
            "stations are the result's)."
        ),
    ] = None,
    periodic: Annotated[
        str, typer.Option(help="Sides that wrap around: auto, none or names (x,y).")
    ] = "auto",
    steps: Annotated[
        int | None, typer.Option(help="Neural solver: Adam and L-BFGS steps each.")
    ] = None,
    optimizer: Annotated[
        str,
        typer.Option(help="Neural training's first phase: adam, lbfgs, entropy-sgd or langevin."),
    ] = "adam",
    baseline: Annotated[
        list[str] | None,
        typer.Option(
            help="Extra baseline, repeatable (persistence, trend and climatology always run): "
            f"{_names(BASELINES)}."
        ),
    ] = None,
    leads: Annotated[
        str | None,
        typer.Option(help="Also print the RMSE at these lead times, e.g. 1h,6h,24h or 1d,2d,5d."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the validation as JSON.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG: data, solution, error.")
    ] = None,
    sel: Annotated[
        str | None,
        typer.Option(help="Take one value along a dim, e.g. number=0 (an ensemble member)."),
    ] = None,
    layout: Annotated[str, typer.Option(help=f"How DATA is laid out: {_names(LAYOUTS)}.")] = "auto",
    force: Annotated[bool, typer.Option(help="Overwrite existing output files.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log progress.")] = False,
) -> None:
    """Re-solve the discovered equation over held-out data; compare with baselines."""
    from .validate import validate as run_validate

    _setup_logging(verbose)
    if solver == "neural" or optimizer != "adam":
        _run(check_optimizer, optimizer)
    outputs = [o for o in (json_out, plot) if o is not None]
    for out in outputs:
        _run(_check_output, out, force, [data, result])
    if len({o.resolve() for o in outputs}) < len(outputs):
        _fail("--json and --plot name the same file; give different paths")
    if plot is not None and plot.suffix.lower() != ".png":
        _fail(f"--plot writes PNG; give a file ending in .png, not '{plot.name}'")
    names = [v.strip() for v in var.split(",") if v.strip()] if var else None
    v = _run(
        run_validate,
        result,
        data,
        names,
        solver=solver,
        holdout=holdout,
        periodic=_periodic_arg(periodic),
        solver_options=_solver_options(solver, steps, optimizer),
        sel=_run(parse_sel, sel) or None,
        baselines=tuple(baseline or ()),
        layout=layout,
        region=region,
        start_state=start,
    )
    _report_validation(v, leads, json_out, plot, force)


def _report_validation(
    v, leads: str | None, json_out: Path | None, plot: Path | None, force: bool
) -> None:
    """Print the validation (and the RMSE at ``leads``); write its JSON and plot."""
    from .validate import parse_leads

    typer.echo(str(v))
    doc = v.to_dict()
    if leads:
        values, labels = _run(parse_leads, leads, v.samples.units.get("t") or v.samples.time_unit)
        _run(v.check_leads, values, labels)
        typer.echo(v.lead_table(values, labels))
        doc["leads"] = {"labels": labels, **v.at_leads(values)}
    if json_out is not None:
        _run(_write_atomic, json_out, json.dumps(doc, indent=2) + "\n", force=force)
        typer.echo(f"wrote {json_out}", err=True)
    if plot is not None:
        import matplotlib.pyplot as plt

        fig = v.plot()
        try:
            _run(
                _replace_atomically,
                plot,
                lambda tmp: fig.savefig(tmp, dpi=110, format="png"),
                force=force,
            )
        finally:
            plt.close(fig)
        typer.echo(f"wrote {plot}", err=True)


@app.command()
def solve(
    equation: Annotated[
        str, typer.Argument(help="The PDE, e.g. 'u_t = 0.1*u_xx - u*u_x' (one per field, ';').")
    ],
    out: Annotated[Path, typer.Option(help="netCDF file to write the solution to.")],
    init: Annotated[
        Path | None, typer.Option(help="netCDF file with the initial state (evolution).")
    ] = None,
    t_end: Annotated[float | None, typer.Option(help="End time (evolution).")] = None,
    var: Annotated[
        str | None,
        typer.Option("--var", "-v", help="Field variable(s) in --init, comma-separated."),
    ] = None,
    start: Annotated[
        float | None, typer.Option(help="Start time (a time of --init); its first by default.")
    ] = None,
    n_times: Annotated[int, typer.Option(help="Output times from start to end.")] = 51,
    solver: Annotated[str, typer.Option(help=f"Solver: {_names(SOLVERS)}.")] = "classical",
    periodic: Annotated[
        str, typer.Option(help="Sides that wrap around: auto, none or names (x,y).")
    ] = "auto",
    boundary: Annotated[
        str,
        typer.Option(help="Walls: data (--init's values over time) or initial (held fixed)."),
    ] = "data",
    steps: Annotated[
        int | None, typer.Option(help="Neural solver: Adam and L-BFGS steps each.")
    ] = None,
    sel: Annotated[
        str | None,
        typer.Option(help="Take one value along a dim, e.g. number=0 (an ensemble member)."),
    ] = None,
    optimizer: Annotated[
        str,
        typer.Option(help="Neural training's first phase: adam, lbfgs, entropy-sgd or langevin."),
    ] = "adam",
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log progress.")] = False,
    domain: Annotated[
        str | None,
        typer.Option(help="Steady problem of the Hessian: disk:R, ball:R, box:x=-1..1 or polygon."),
    ] = None,
    dirichlet: Annotated[
        str | None, typer.Option(help="Steady problem: boundary values g(x, y, ...), a formula.")
    ] = None,
    network: Annotated[
        str, typer.Option(help="Steady problem: icnn (input-convex) or mlp (+ penalty).")
    ] = "icnn",
    hull: Annotated[
        bool, typer.Option(help="Steady problem: solve on the convex hull of the domain.")
    ] = False,
    n_grid: Annotated[int, typer.Option(help="Steady problem: output points per side.")] = 41,
) -> None:
    """Solve EQUATION from the state in --init up to --t-end, or a steady equation of the
    Hessian (det(hessian(u)) = f) on --domain with --dirichlet values; write netCDF."""
    from .solve import solve_from_data

    _setup_logging(verbose)
    if solver == "neural" or optimizer != "adam" or domain is not None:
        _run(check_optimizer, optimizer)
    if domain is not None:
        _solve_steady(equation, domain, dirichlet, out, network, hull, n_grid, steps, force)
        return
    if init is None or t_end is None:
        _fail("give --init and --t-end (an evolution problem), or --domain and --dirichlet")
    _run(_check_output, out, force, [init])
    if out.suffix.lower() not in (".nc", ".nc4", ".netcdf"):
        _fail(f"--out writes netCDF; give a file ending in .nc, not '{out.name}'")
    if not math.isfinite(t_end):
        _fail(f"--t-end must be a finite number, not {t_end}")
    if start is not None and not math.isfinite(start):
        _fail(f"--start must be a finite number, not {start}")
    if boundary not in ("data", "initial"):
        _fail(f"--boundary must be 'data' or 'initial', not '{boundary}'")
    names = [v.strip() for v in var.split(",") if v.strip()] if var else None
    equations = [e.strip() for e in equation.split(";") if e.strip()]
    sol, ds = _run(
        solve_from_data,
        equations,
        init,
        names,
        t_end=t_end,
        start=start,
        n_times=n_times,
        solver=solver,
        periodic=_periodic_arg(periodic),
        boundary=boundary,
        solver_options=_solver_options(solver, steps, optimizer),
        sel=_run(parse_sel, sel) or None,
    )
    _run(_replace_atomically, out, lambda tmp: ds.to_netcdf(tmp), force=force)
    typer.echo(f"{sol!r}")
    typer.echo(f"wrote {out}", err=True)


@app.command(context_settings={"ignore_unknown_options": True})
def invert(
    equation: Annotated[
        str, typer.Argument(help="The PDE with unknown functions, e.g. '-div(a*grad(u)) = f'.")
    ],
    data: Annotated[Path, typer.Argument(help="netCDF file of the measured field(s) and data.")],
    unknown: Annotated[
        list[str],
        typer.Option(help="An unknown function and its coordinates, e.g. 'a(x, y)' (repeatable)."),
    ],
    out: Annotated[Path, typer.Option(help="netCDF file for the estimated coefficient(s).")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write a summary and the data misfit as JSON.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG of the coefficient(s).")
    ] = None,
    ensemble: Annotated[
        int, typer.Option(help="Ensemble members (seeds); their spread is the uncertainty.")
    ] = 3,
    steps: Annotated[int, typer.Option(help="Adam steps of each fit.")] = 1500,
    lbfgs_steps: Annotated[int, typer.Option(help="L-BFGS steps of each fit.")] = 500,
    coupling: Annotated[
        str, typer.Option(help="joint (solution and coefficient together) or fixed.")
    ] = "joint",
    form: Annotated[
        str,
        typer.Option(
            help="strong (pointwise PDE residual), weak (tested against bumps), solve (a "
            "finite-difference forward solve inside the loss: steady 1-D linear equations) or "
            "auto (weak in 2-D and 3-D where the equation and the grid allow it, else "
            "strong)."
        ),
    ] = "auto",
    smoothing: Annotated[
        float,
        typer.Option(
            help="Weight of a curvature prior on each unknown's logarithm (0: none).", min=0.0
        ),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the first ensemble member.")] = 0,
    force: Annotated[bool, typer.Option(help="Overwrite existing output files.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log progress.")] = False,
) -> None:
    """Estimate unknown coefficient functions of EQUATION from the data in DATA."""
    from .invert import invert as run_invert

    _setup_logging(verbose)
    outputs = [o for o in (out, json_out, plot) if o is not None]
    for o in outputs:
        _run(_check_output, o, force, [data])
    if len({o.resolve() for o in outputs}) < len(outputs):
        _fail("--out, --json and --plot name the same file; give different paths")
    if out.suffix.lower() not in (".nc", ".nc4", ".netcdf"):
        _fail(f"--out writes netCDF; give a file ending in .nc, not '{out.name}'")
    if plot is not None and plot.suffix.lower() != ".png":
        _fail(f"--plot writes PNG; give a file ending in .png, not '{plot.name}'")
    if not data.exists():
        _fail(f"no such file: '{data}'")
    result = _run(
        run_invert,
        equation,
        data,
        unknown,
        ensemble=ensemble,
        seed=seed,
        steps=steps,
        lbfgs_steps=lbfgs_steps,
        coupling=coupling,
        form=form,
        smoothing=smoothing,
    )
    for u in result.spec.unknowns:
        fld = result.fields[u.name]
        typer.echo(
            f"{u.name}({', '.join(u.args)}): {float(fld.min()):.4g} .. {float(fld.max()):.4g}, "
            f"mean {float(fld.mean()):.4g} ± {float(result.fields[u.name + '_std'].mean()):.2g}"
        )
    for f, m in result.misfit.items():
        typer.echo(f"misfit {f}: rms {m['rms']:.4g} ({m['relative_to_std']:.3f} of std)")
    _replace_atomically(out, lambda tmp: result.fields.to_netcdf(tmp))
    typer.echo(f"wrote {out}", err=True)
    if json_out is not None:
        doc = {**result.to_dict(), "data": {"file": str(data)}, "command": "discover invert"}
        _write_atomic(json_out, json.dumps(doc, indent=2) + "\n")
        typer.echo(f"wrote {json_out}", err=True)
    if plot is not None:
        import matplotlib.pyplot as plt

        fig = result.plot()
        try:
            _replace_atomically(plot, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
        finally:
            plt.close(fig)
        typer.echo(f"wrote {plot}", err=True)


@app.command()
def trajectory(
    data: Annotated[Path, typer.Argument(help="netCDF file of the measured field(s).")],
    var: Annotated[str, typer.Option("--var", "-v", help="Field variable(s), comma-separated.")],
    plot: Annotated[
        Path | None, typer.Option(help="Write a PNG: the embedding and eigenvalue decay.")
    ] = None,
    optimizer: Annotated[
        str,
        typer.Option(help="Neural training's first phase: adam, lbfgs, entropy-sgd or langevin."),
    ] = "adam",
    record_every: Annotated[int, typer.Option(help="Record the weights every N steps.")] = 10,
    steps: Annotated[int, typer.Option(help="Steps of the first phase.")] = 2000,
    lbfgs_steps: Annotated[int, typer.Option(help="L-BFGS steps after it.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the fit.")] = 0,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log progress.")] = False,
) -> None:
    """Fit the neural interpolant to DATA recording its weights, and analyse the trajectory
    with diffusion maps: eigenvalues, intrinsic dimension, and a PNG of the embedding."""
    from .interpolate import NeuralInterpolant
    from .io import load
    from .neural.diffusion_maps import diffusion_map, plot_diffusion_map

    _setup_logging(verbose)
    _run(check_optimizer, optimizer)
    _run(_check_output, plot, force, [data])
    if plot is not None and plot.suffix.lower() != ".png":
        _fail(f"--plot writes PNG; give a file ending in .png, not '{plot.name}'")
    if record_every < 1 or steps < 1 or lbfgs_steps < 0:
        _fail("--record-every and --steps must be >= 1 and --lbfgs-steps >= 0")
    names = [v.strip() for v in var.split(",") if v.strip()]
    samples = _run(load, data, names)
    fit = NeuralInterpolant(
        adam_steps=steps,
        lbfgs_steps=lbfgs_steps,
        optimizer=optimizer,
        record_every=record_every,
        patience=steps + lbfgs_steps,
        seed=seed,
        progress=sys.stderr.isatty(),
    ).fit(samples)
    if len(fit.trajectory_) < 10:
        _fail(f"{len(fit.trajectory_)} recorded weights are too few; lower --record-every")
    dm = diffusion_map(fit.trajectory_)
    rel = fit.fit_report_["relative_val_rmse"]
    typer.echo(
        f"{optimizer}: {len(fit.trajectory_)} weight vectors of {fit.trajectory_.shape[1]} "
        f"over {fit.fit_report_['steps']} steps; held-out relative RMSE {rel[0]:.3g}"
    )
    typer.echo("eigenvalues: " + " ".join(f"{v:.4f}" for v in dm.eigenvalues[:11]))
    typer.echo(
        f"intrinsic dimension of the trajectory: {dm.dimension} "
        f"(Weyl estimate {dm.dimension_estimate:.2f}, bandwidth {dm.epsilon:.3g})"
    )
    if plot is not None:
        import matplotlib.pyplot as plt

        fig = plot_diffusion_map(
            dm, color=fit.trajectory_steps_, title=f"trajectory of the {optimizer} fit"
        )
        try:
            _replace_atomically(plot, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
        finally:
            plt.close(fig)
        typer.echo(f"wrote {plot}", err=True)


def _solve_steady(equation, domain, dirichlet, out, network, hull, n_grid, steps, force) -> None:
    """``discover solve`` of a steady equation of the Hessian (Monge–Ampère)."""
    from .solve.monge_ampere import solve_steady_text

    _run(_check_output, out, force, [])
    if out.suffix.lower() not in (".nc", ".nc4", ".netcdf"):
        _fail(f"--out writes netCDF; give a file ending in .nc, not '{out.name}'")
    if dirichlet is None:
        _fail("a steady problem needs boundary values: --dirichlet 'g(x, y)', e.g. '(x**2+y**2)/2'")
    opts = {**_solver_options("neural", steps), "network": network, "hull": hull}
    sol, ds = _run(
        solve_steady_text, equation, domain, dirichlet, n_grid=n_grid, solver_options=opts
    )
    _replace_atomically(out, lambda tmp: ds.to_netcdf(tmp))
    typer.echo(f"{sol!r}")
    typer.echo(f"wrote {out}", err=True)


@app.command()
def generate(
    name: Annotated[str, typer.Argument(help="Dataset generator name.")],
    out: Annotated[Path, typer.Argument(help="Output netCDF file.")],
    nx: Annotated[int, typer.Option(help="Points per spatial dim.")] = 256,
    nt: Annotated[int, typer.Option(help="Number of times.")] = 101,
    noise: Annotated[float, typer.Option(help="Noise level p: σ = p·std(u).")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of noise and positions.")] = 0,
    layout: Annotated[str, typer.Option(help="grid, station or scattered.")] = "grid",
    n_stations: Annotated[int, typer.Option(help="Stations (station layout).")] = 60,
    n_obs: Annotated[int, typer.Option(help="Observations (scattered layout).")] = 2000,
    missing: Annotated[float, typer.Option(help="Fraction of values set missing.")] = 0.0,
    param: Annotated[
        list[str] | None, typer.Option(help="Generator parameter NAME=VALUE, repeatable.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a benchmark field from a known PDE as netCDF (the true equation in its attributes)."""
    from .datasets import GENERATORS, make_dataset
    from .datasets import generate as make_problem

    _run(_check_output, out, force, [])
    if name not in GENERATORS:
        _fail(f"unknown dataset '{name}'; valid names: " + ", ".join(GENERATORS))
    params: dict[str, float] = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            params[key.strip()] = float(value)
        except ValueError:
            _fail(f"--param takes NAME=NUMBER, not '{item}'")
    if not (math.isfinite(noise) and noise >= 0) or not 0 <= missing < 1:
        _fail(f"--noise must be a number >= 0 and --missing in [0, 1), not {noise} and {missing}")
    try:
        problem = make_problem(name, **params)
        ds = make_dataset(
            problem,
            nx=nx,
            nt=nt,
            noise=noise,
            seed=seed,
            layout=layout,
            n_stations=n_stations,
            n_obs=n_obs,
            missing=missing,
        )
    except (TypeError, ValueError) as exc:
        _fail(str(exc).splitlines()[0])
    _run(_replace_atomically, out, lambda tmp: ds.to_netcdf(tmp), force=force)
    typer.echo(f"wrote {out}: {problem.equation}")


@app.command()
def fetch(
    source: Annotated[str, typer.Argument(help="Data source: smhi.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output netCDF file.")],
    parameter: Annotated[
        int, typer.Option(help="SMHI parameter (1: hourly air temperature, 2: daily mean).")
    ] = 1,
    stations: Annotated[
        str | None, typer.Option(help="SMHI station numbers, comma-separated (e.g. 52240).")
    ] = None,
    period: Annotated[
        str,
        typer.Option(help="corrected-archive, latest-months, latest-day or latest-hour."),
    ] = "corrected-archive",
    csv: Annotated[
        list[Path] | None,
        typer.Option(help="Read SMHI CSV files already downloaded instead (repeatable)."),
    ] = None,
    drop_suspect: Annotated[
        bool, typer.Option(help="Drop values of quality Y (suspect); the codes are kept.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Download station records (SMHI open data) or read SMHI CSV files; write the station
    layout T(time, station) with lat, lon, height, name and quality codes as netCDF."""
    from .datasets.smhi import fetch_smhi, merge_stations, read_smhi_csv

    if source != "smhi":
        _fail(f"unknown source '{source}'; valid sources: smhi")
    _run(_check_output, out, force, list(csv or []))
    if csv:
        if stations:
            _fail("give either --stations (download) or --csv (local files), not both")
        ds = _run(merge_stations, [_run(read_smhi_csv, p, drop_suspect=drop_suspect) for p in csv])
    else:
        try:
            ids = [int(s) for s in (stations or "").split(",") if s.strip()]
        except ValueError:
            _fail(f"--stations takes SMHI station numbers separated by commas, not '{stations}'")
        if not ids:
            _fail("no stations: give --stations 52240,... (SMHI numbers) or --csv FILE")
        try:
            ds = _run(fetch_smhi, parameter, ids, period, drop_suspect=drop_suspect)
        except ConnectionError as exc:
            _fail(str(exc))
    _run(_replace_atomically, out, lambda tmp: ds.to_netcdf(tmp), force=force)
    var = next(v for v in ds.data_vars if v != "quality")
    typer.echo(
        f"wrote {out}: {var}({ds.sizes['time']} times, {ds.sizes['station']} stations) "
        f"{str(ds['time'].values[0])[:16]} .. {str(ds['time'].values[-1])[:16]}"
    )


@app.command()
def info() -> None:
    """Print the versions of discover and the libraries it uses."""
    import importlib.metadata as md
    import platform

    typer.echo(f"discover {__version__}")
    typer.echo(f"python {platform.python_version()} ({platform.platform()})")
    for pkg in (
        "numpy",
        "scipy",
        "sympy",
        "torch",
        "xarray",
        "netCDF4",
        "scikit-learn",
        "pysindy",
        "typer",
    ):
        try:
            typer.echo(f"{pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            typer.echo(f"{pkg} (not installed)")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"discover {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Find the partial differential equation hidden in measured data."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``discover`` script (through :mod:`discover_cli`)."""
    app(args=argv, prog_name="discover")


if __name__ == "__main__":
    main()
