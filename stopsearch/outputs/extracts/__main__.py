"""`python -m stopsearch.outputs.extracts`: re-record the extracts' schemas after a version bump."""

from stopsearch.outputs.extracts.schema import record

changed = record()
print("recorded: " + (", ".join(changed) if changed else "nothing changed"))
