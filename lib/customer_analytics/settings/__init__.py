"""The run configuration (schema, loading): may import models, io and core."""
