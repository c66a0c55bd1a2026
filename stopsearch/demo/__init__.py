"""A deterministic, fictional county ("Demoshire") in the real data.police.uk and ONS formats."""

from stopsearch.demo.generate import DEFAULT_SEED, DemoSummary, generate_demo

__all__ = ["DEFAULT_SEED", "DemoSummary", "generate_demo"]
