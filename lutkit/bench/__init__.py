"""Benchmarks, run as ``lutkit bench [lut|distort|dataset|latents|train|all]``
(``make bench`` runs ``lutkit bench all -o reports/bench.md``, headed by the machine
and versions).

Every figure is measured in the same run as the peer it is compared with, on the same
image, and printed as a ratio; nothing here is asserted by the tests.

Which module owns what: ``measure`` (the timer, the benchmark LUT, the machine
header), ``lut`` (LUT apply against Pillow, OpenColorIO, colour-science, torch; a
folder against a Pillow script), ``pipeline`` (distortions, dataset building, VAE
latents), ``train`` (training and fix against a pixel-space FCN), ``suites`` (which
benchmarks a suite runs, and the report file).
"""
