"""Running the command line inside the tests, and checking its one-line errors."""

from __future__ import annotations

from typer.testing import CliRunner

from discover.cli import app

runner = CliRunner()


def run(*args):
    """``discover ARGS`` in this process (arguments turned into strings)."""
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(res, code: int = 2) -> str:
    """The run ended with ``code`` and exactly one line on stderr, no traceback."""
    assert res.exit_code == code, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.output and "Traceback" not in res.stderr
    return lines[0]
