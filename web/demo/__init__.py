"""The seeded, reproducible demo data set loaded by ``panel demo``."""

from web.demo.generate import DEFAULT_SEED, REFERENCE_DATE, DemoData, generate_demo, validated_demo

__all__ = ["DEFAULT_SEED", "REFERENCE_DATE", "DemoData", "generate_demo", "validated_demo"]
