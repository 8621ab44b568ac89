"""The analysis steps; they return facts and codes, never sentences or charts: may import io and core."""
