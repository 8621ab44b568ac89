"""``python -m customer_analytics``: see :mod:`customer_analytics.pipeline.cli`."""

from customer_analytics.pipeline.cli import main

raise SystemExit(main())
