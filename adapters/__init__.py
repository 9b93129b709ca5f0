"""Publishing targets (`pindah.adapters`): one module per target, built on the adapter
contract (`pindah.adapters.contract`) and toolkit (`pindah.adapters.toolkit`).

This folder is installed as `pindah.adapters`, never as a top-level `adapters` (a widely used
machine-learning library has that name); importing it by that name fails on purpose.
"""

if __name__ != "pindah.adapters":  # pragma: no cover - only reached by a wrong import
    raise ImportError("the targets are `pindah.adapters`; install pindah and import it by that name")
