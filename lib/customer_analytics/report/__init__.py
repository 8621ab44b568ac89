"""Words, numbers for people, charts and HTML: may import settings, models, io and core."""
