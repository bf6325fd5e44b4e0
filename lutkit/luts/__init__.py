"""LUTs: the model, its file formats, fast application, and the LUT library.

Which module owns which contract:

- ``model``: ``LUT1D`` / ``LUT3D`` (tables, domains, compose, resample, invert, blend)
  and ``ShaperLUT3D`` (Resolve's 1D shaper then 3D table).
- ``formats``: the one dispatch table from file extension to reader and writer
  (``read_lut``, ``write_lut``); one module per format: ``cube`` / ``cube_write``
  (.cube, Adobe/Iridas and Resolve), ``lut3dl`` (.3dl), ``spi3d``, ``hald`` (Hald CLUT images), ``gimp`` (GIMP curves presets, with
  ``gimp_spline``: GIMP 2.10's own spline).
- ``apply``: fast application to numpy images (the C kernel ``_lutc``);
  ``torch_apply``: differentiable application in torch and the torch identity table.
- ``files``: applying a LUT to image files and folders.
- ``library``: the LUT library (a folder of .cube files and its ``index.toml``);
  ``gimp_build``: re-authoring its GIMP-made LUTs headlessly.
- ``info``: describing a LUT in numbers and pictures (``lutkit lut info`` / ``plot``).

Nothing is imported here: ``import lutkit.luts`` stays cheap.
"""
