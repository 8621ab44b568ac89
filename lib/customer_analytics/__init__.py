"""Customer analytics template: cleaning, RFM, clustering and campaign evaluation.

The notebooks in ``notebooks/`` tell the story; this package does the work. Every
step is a module named for what it does:

- :mod:`customer_analytics.cleaning`    load exports into the canonical schema and clean them
- :mod:`customer_analytics.rfm`         recency / frequency / monetary scores and segments
- :mod:`customer_analytics.clustering`  data-driven segments with k choice and stability
- :mod:`customer_analytics.experiments` A/B evaluation: checks, estimates, intervals
- :mod:`customer_analytics.reporting`   figures, tables and headline numbers for the report
- :mod:`customer_analytics.runner`      the papermill report runner behind ``make report``
- :mod:`customer_analytics.config`      YAML configuration and project paths
- :mod:`customer_analytics.sample`      the seeded synthetic shop export
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
