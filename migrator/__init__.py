"""pindah's engine room (`pindah.migrator`): the normalised model, the export readers
(`pindah.migrator.sources`), planner, runner, journal, reports and the command line
(`pindah.migrator.cli`).

This folder is installed as `pindah.migrator`, never as a top-level `migrator` (a name other
projects own on the package index); importing it by that name fails on purpose.
"""

if __name__ != "pindah.migrator":  # pragma: no cover - only reached by a wrong import
    raise ImportError("the engine is `pindah.migrator`; install pindah and import it by that name")

from pindah.adapters.toolkit import __version__  # one version for core and adapters

__all__ = ["__version__"]
