"""Customer analytics template: cleaning, RFM, clustering, CLV and campaign evaluation.

The notebooks in ``notebooks/`` tell the story; this package does the work, in layers
that import downward only (checked by import-linter, ``[tool.importlinter]`` in
``pyproject.toml``):

- :mod:`customer_analytics.pipeline`  runs a report: run context, runner, command line
- :mod:`customer_analytics.report`    words, numbers for people, charts and HTML
- :mod:`customer_analytics.settings`  the run configuration: schema and loading
- :mod:`customer_analytics.models`    facts and codes: cleaning, rfm, clustering, clv, experiments
- :mod:`customer_analytics.io`        reading exports, parsing numbers and dates, the sample generator
- :mod:`customer_analytics.core`      errors, project paths, the engine connection, privacy
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
