"""``python -m customer_analytics``: see :mod:`customer_analytics.cli`."""

from customer_analytics.cli import main

raise SystemExit(main())
