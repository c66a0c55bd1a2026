"""Independent readings of the published vocabularies, for tests that check the pipeline."""

from __future__ import annotations


def independent_group(label: object) -> str:
    """Broad group from the label text alone, sharing nothing with the crosswalks."""
    if not isinstance(label, str) or not label:
        return "Unknown"
    lowered = label.lower()
    if "not stated" in lowered:
        return "Not stated"
    if lowered.startswith("chinese or other ethnic group - chinese"):
        return "Asian"
    if lowered.startswith(("chinese or other", "other ethnic group")):
        return "Other"
    for group in ("White", "Asian", "Black", "Mixed"):
        if lowered.startswith(group.lower()):
            return group
    raise AssertionError(f"test does not know {label!r}")
