"""End-to-end harness: the whole stack on a local moto server (see docs/e2e.md)."""
