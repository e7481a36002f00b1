"""The arena's front ends: ``cli`` (``packetflow-arena``), ``sweep_cli``, ``bench``, ``mcp``
(``mcp serve --scenario`` glue), ``viz`` (Mesa SolaraViz page, needs the 'viz' extra) and
``widgets`` (ipywidgets panel, needs the 'notebooks' extra).

Nothing is imported here: each front end loads its own optional dependencies.
"""
