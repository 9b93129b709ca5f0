"""pindah: move an artist's Instagram history to platforms that respect them.

The `migrator` package is the engine room: the normalised model, the export readers
(`migrator.sources`), and the command line (`migrator.cli`).
"""

__version__ = "0.1.0"
