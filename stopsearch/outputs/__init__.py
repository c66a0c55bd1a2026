"""Outputs: the public site and the extracts for the scrutiny panel."""
