"""Acceptance: a force's neighbourhoods fetched from a local fake police API by `publish`.

The demo's records and boundaries, except that its neighbourhood layer is declared as
`source = "police-api"`: the fake server serves the demo's neighbourhood polygons as the API
does (latitude/longitude objects, unclosed rings, ids with dots and spaces, names with HTML
entities), so every search's neighbourhood can be checked against the demo's snap-point truth.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import shapely

from stopsearch.config import PublishConfig
from stopsearch.demo import generate_demo
from stopsearch.geography import load_manifest, read_layer
from stopsearch.outputs.site.text import slug
from stopsearch.publish import EXIT_OK, EXIT_REJECTED, run_publish
from stopsearch.release import current_release
from stopsearch.sources import PoliceAPI
from stopsearch.warehouse import connect
from tests.fake_police import FakePoliceServer, api_boundary, fast_client

FORCE = "demoshire"
LAYER = "nb"
FIRST, SECOND, CHANGE, FAILED_DAY = (
    date(2023, 2, 1),
    date(2023, 2, 3),
    date(2023, 3, 1),
    date(2023, 3, 9),
)


def api_id(code: str) -> str:
    """The demo code as the fake API lists it: a dot and a space, same order as the codes."""
    return code.replace("-", ". ")


@pytest.fixture(scope="module")
def demo3(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo3-nb")
    generate_demo(out, months=3)
    return out


@pytest.fixture(scope="module")
def neighbourhoods(demo3) -> pd.DataFrame:
    """The demo's neighbourhoods (code, name, geometry), read from its KML file."""
    manifest = load_manifest(demo3 / "boundaries" / "manifest.toml")
    frame = read_layer(manifest.layer("demo-neighbourhoods"))
    return frame.sort_values("code").reset_index(drop=True)


def police_manifest(demo3: Path, folder: Path) -> Path:
    """The demo manifest with its neighbourhood layer fetched from the police API instead."""
    text = (demo3 / "boundaries" / "manifest.toml").read_text(encoding="utf-8")
    head, *blocks = text.split("[[layer]]")
    blocks = [b for b in blocks if 'id = "demo-neighbourhoods"' not in b]
    police = f"""
id = "{LAYER}"
kind = "neighbourhood"
series = "demo-neighbourhoods"
name = "Demoshire (fictional) policing neighbourhoods"
source = "police-api"
force = "{FORCE}"

"""
    root = (demo3 / "boundaries").as_posix()
    path = folder / "manifest.toml"
    path.write_text(
        f'data_root = "{root}"\n' + head + "[[layer]]".join(["", *blocks, police]),
        encoding="utf-8",
    )
    return path


def serve(server: FakePoliceServer, frame: pd.DataFrame, merged: tuple[str, str] | None = None):
    """Serve the neighbourhoods as the API does; `merged` = (a, b): b's area joins a's."""
    boundaries, names = {}, {}
    geometry = dict(zip(frame["code"], frame.geometry, strict=True))
    if merged:
        keep, gone = merged
        geometry[keep] = shapely.union(geometry[keep], geometry.pop(gone))
    for n, (code, shape) in enumerate(sorted(geometry.items())):
        boundaries[api_id(code)] = api_boundary(shape, close_last=n % 2 == 0)
        name = frame.loc[frame["code"] == code, "name"].iloc[0]
        names[api_id(code)] = f"{name} &amp; District"
    server.set_neighbourhoods(FORCE, boundaries, names)


def config(tmp_path: Path, demo3: Path, manifest: Path) -> PublishConfig:
    return PublishConfig(
        demo=False,
        force=FORCE,
        police_api=False,
        paths=(demo3 / "records",),
        cache=tmp_path / "cache",
        output=tmp_path / "site",
        warehouse=tmp_path / "w.duckdb",
        manifest=manifest,
    )


def assigned(tmp_path: Path) -> pd.DataFrame:
    """Every located search: its point, date and neighbourhood."""
    with connect(tmp_path / "w.duckdb") as con:
        return con.execute(
            "SELECT s.latitude, s.longitude, a.on_date, a.neighbourhood_code"
            " FROM search_areas a JOIN searches s USING (search_id)"
        ).df()


def with_truth(demo3: Path, rows: pd.DataFrame) -> pd.DataFrame:
    snap = pd.read_csv(demo3 / "snap_points.csv", keep_default_na=False)
    merged = rows.merge(snap, on=["latitude", "longitude"], how="left", validate="many_to_one")
    assert merged["neighbourhood_code_y"].ne("").all()  # every search sits on a snap point
    return merged.rename(columns={"neighbourhood_code_x": "got", "neighbourhood_code_y": "truth"})


def layers(tmp_path: Path) -> list[tuple]:
    with connect(tmp_path / "w.duckdb") as con:
        return con.execute(
            "SELECT layer_id, valid_from, valid_to, areas FROM boundary_layers"
            " WHERE kind = 'neighbourhood' ORDER BY layer_id"
        ).fetchall()


def test_fetched_neighbourhoods_are_cached_versioned_and_kept_on_failure(
    tmp_path, demo3, neighbourhoods
):
    manifest = police_manifest(demo3, tmp_path)
    codes = list(neighbourhoods["code"])
    with FakePoliceServer() as server:
        serve(server, neighbourhoods)
        api = PoliceAPI(fast_client(), base_url=server.url)
        run = config(tmp_path, demo3, manifest)

        # 1. The layer, its pages and its map.
        first = run_publish(run, police_api=api, today=FIRST)
        assert first.exit_code == EXIT_OK, first.human()
        assert server.hits(f"/api/{FORCE}/neighbourhoods") == 1
        assert len(server.requests) == 1 + len(codes)
        assert any(r.path == f"/api/{FORCE}/DS. N01/boundary" for r in server.requests)
        assert f"layer '{LAYER}': {len(codes)} neighbourhoods: first vintage" in first.human()
        first_id = f"{LAYER}.{FIRST.isoformat()}"
        assert layers(tmp_path) == [(first_id, None, None, len(codes))]
        rows = with_truth(demo3, assigned(tmp_path))
        assert (rows["got"] == rows["truth"].map(api_id)).all()
        release = current_release(tmp_path / "site")
        assert release is not None
        for code, name in zip(codes, neighbourhoods["name"], strict=True):
            page = release / "areas" / "neighbourhood" / f"{slug(api_id(code))}.html"
            html = page.read_text(encoding="utf-8")
            assert f"{name} &amp; District" in html and "&amp;amp;" not in html
        # The map offers the layer and links its table page, which names the fetched vintage.
        map_page = (release / "map.html").read_text(encoding="utf-8")
        assert '<option value="neighbourhood">' in map_page
        assert 'href="table-neighbourhood-latest-12.html"' in map_page
        table_page = (release / "table-neighbourhood-latest-12.html").read_text(encoding="utf-8")
        assert f"policing neighbourhoods (as fetched on {FIRST.isoformat()})" in table_page

        # 2. Within the refresh period: the cache, no request, nothing reloaded.
        seen = len(server.requests)
        second = run_publish(run, police_api=api, today=SECOND)
        assert len(server.requests) == seen
        assert second.exit_code == EXIT_OK and second.changed is False
        assert second.prepared is not None and not second.prepared.boundaries_reloaded
        assert "from the cache, no request" in second.human()

        # 3. A changed boundary (N02 merged into N01) starts a new vintage from the fetch date.
        merged = (codes[0], codes[1])
        serve(server, neighbourhoods, merged)
        third = run_publish(run, police_api=api, today=CHANGE)
        assert third.exit_code == EXIT_OK, third.human()
        assert third.prepared is not None and third.prepared.boundaries_reloaded
        assert all(r.headers.get("if-none-match") for r in server.requests[seen:])  # conditional
        second_id = f"{LAYER}.{CHANGE.isoformat()}"
        assert layers(tmp_path) == [
            (first_id, None, date(2023, 2, 28), len(codes)),
            (second_id, CHANGE, None, len(codes) - 1),
        ]
        rows = with_truth(demo3, assigned(tmp_path))
        interior = rows["on_edge"].astype(str).str.lower() == "false"
        after = pd.to_datetime(rows["on_date"]) >= pd.Timestamp(CHANGE)
        expected = rows["truth"].where(~after | (rows["truth"] != merged[1]), merged[0])
        assert (rows.loc[interior, "got"] == expected[interior].map(api_id)).all()
        in_gone = rows["got"] == api_id(merged[1])
        assert in_gone.sum() > 0 and not (in_gone & after).any()
        moved = interior & after & (rows["truth"] == merged[1])
        assert moved.sum() > 0  # the change really moved searches dated from the fetch date
        assert third.changed and current_release(tmp_path / "site") != release

        # 4. A boundary that fails to download: the old vintage stays, exit 3 with the reason.
        live = current_release(tmp_path / "site")
        before = layers(tmp_path)
        serve(server, neighbourhoods)  # N02 back as it was ...
        server.remove_boundary(FORCE, api_id(codes[3]))  # ... but one boundary is gone (404)
        fourth = run_publish(run, police_api=api, today=FAILED_DAY)
        assert fourth.exit_code == EXIT_REJECTED
        text = fourth.human()
        reason = re.search(rf"layer '{LAYER}': FAILED: (.*)", text)
        assert reason is not None, text
        assert f"neighbourhood '{api_id(codes[3])}'" in reason[1] and "HTTP 404" in reason[1]
        assert f"the previous vintage {second_id} (fetched {CHANGE}) stays in use" in reason[1]
        assert fourth.as_json()["exit_code"] == EXIT_REJECTED
        assert layers(tmp_path) == before
        assert fourth.changed is False and current_release(tmp_path / "site") == live
