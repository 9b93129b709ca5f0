"""The adapter toolkit: what every target needs and no target should write again.

Adapters import only `pindah.adapters.contract` and this toolkit (import-linter checks it);
the core may use the toolkit too (text counting, folders), never a specific adapter.
"""

__version__ = "0.1.0"  # pindah's version, for User-Agent headers (the core re-exports it)
