"""Writes synthetic Instagram exports of every layout, for tests, benchmarks and the sample.

Built from `../shared/reference/instagram-formats.md`, independently of pindah's readers, so
that a reader bug is not mirrored by a builder bug. Describe posts with `spec.SynthPost`, then
hand them to one of the layout writers (one module per layout) and optionally to
`container` to pack the folder as one or several ZIP parts.
"""
