"""Distortions: coloured light, curves, library LUTs and film damage, as pure ops.

See :mod:`lutkit.distort.base` for the op protocol and :mod:`lutkit.distort.recipe`
for recipes.
"""
