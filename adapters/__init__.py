"""Publishing targets. Each adapter is one module; the engine finds them through the
`pindah.adapters` entry-point group (the engine arrives with the migration issue)."""
