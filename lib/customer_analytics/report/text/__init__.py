"""Sentences and tables for people, built from model results and the language catalogs."""
