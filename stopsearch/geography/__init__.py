"""Geography: boundary layers and vintages, area assignment of searches, and population."""

from stopsearch.geography.join import (
    NEAR_BOUNDARY_M,
    AssignReport,
    assign_areas,
    unjoined_force_months,
)
from stopsearch.geography.load import LoadReport, load_boundaries
from stopsearch.geography.manifest import Layer, Lookup, Manifest, PopulationTable, load_manifest
from stopsearch.geography.population import PopulationReport, load_population, totals_by_parent
from stopsearch.geography.readers import read_layer
from stopsearch.geography.vintages import Vintage, check_vintages

__all__ = [
    "NEAR_BOUNDARY_M",
    "AssignReport",
    "Layer",
    "LoadReport",
    "Lookup",
    "Manifest",
    "PopulationReport",
    "PopulationTable",
    "Vintage",
    "assign_areas",
    "check_vintages",
    "load_boundaries",
    "load_manifest",
    "load_population",
    "read_layer",
    "totals_by_parent",
    "unjoined_force_months",
]
