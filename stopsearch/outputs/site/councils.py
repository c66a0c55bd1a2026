"""Council (local authority) shapes merged from their wards, for a map without a council layer.

A boundary manifest often has wards (with their council's code and name) but no council layer of
its own, while the metrics still publish council figures. The map then draws each council as the
union of its wards of each ward vintage, so that councils can be chosen on the map as well.
"""

from __future__ import annotations

from collections import defaultdict

import shapely

from stopsearch.outputs.site.data import Area, Layer, Store


def merged_councils(
    store: Store, layers: list[Layer], areas: list[Area]
) -> tuple[list[Layer], list[Area]]:
    """One council layer per ward layer (its wards merged by council), or nothing when a council
    layer exists or no council figures are published."""
    councils = set(store.areas("local_authority"))
    if not councils or any(layer.kind == "local_authority" for layer in layers):
        return [], []
    wards: dict[str, dict[str, list[Area]]] = defaultdict(lambda: defaultdict(list))
    for area in areas:
        if area.kind == "ward" and area.parent_code in councils:
            wards[area.layer_id][area.parent_code].append(area)
    new_layers: list[Layer] = []
    new_areas: list[Area] = []
    for layer in sorted((x for x in layers if x.layer_id in wards), key=lambda x: x.layer_id):
        layer_id = f"{layer.layer_id}-councils"
        members = wards[layer.layer_id]
        for code in sorted(members):
            shape = shapely.union_all([shapely.from_wkb(a.wkb) for a in members[code]])
            new_areas.append(
                Area(
                    layer_id,
                    "local_authority",
                    code,
                    store.names.get(("local_authority", code), code),
                    None,
                    layer.valid_from,
                    layer.valid_to,
                    shapely.to_wkb(shape),
                )
            )
        new_layers.append(
            Layer(
                layer_id,
                "local_authority",
                f"Councils, merged from {layer.name}",
                layer.valid_from,
                layer.valid_to,
                len(members),
                layer.licence,
                layer.attribution,
                layer.source_url,
                None,
            )
        )
    return new_layers, new_areas
