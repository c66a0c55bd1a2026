"""data.police.uk bulk archive: `/data/archive/YYYY-MM.zip`, streamed into the cache.

Archive zips are large (1-2.6 GB) and never change once published, so a cached, checksum-verified
zip is not requested again unless `refresh`; a download is streamed to a hidden temp file, its
size checked against Content-Length and its zip directory read before it replaces anything.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from stopsearch.errors import IngestError
from stopsearch.police_files import parse_file_name
from stopsearch.sources.base import DEFAULT_POLICE_URL, join_url
from stopsearch.sources.cache import Cache, archive_key
from stopsearch.sources.fetch import FetchResult, download_to_cache
from stopsearch.sources.http import HttpClient


class PoliceArchive:
    """The data.police.uk archive as a Source; point `base_url` at a test server or a mirror."""

    def __init__(self, client: HttpClient | None = None, base_url: str = DEFAULT_POLICE_URL):
        self.client = client or HttpClient()
        self.base_url = base_url

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The absolute URL of an archive path."""
        return join_url(self.base_url, path, params)


def archive_name(month: date | str) -> str:
    """`YYYY-MM` or `latest`: the archive file's stem; ValueError for anything else."""
    if isinstance(month, date):
        return f"{month.year:04d}-{month.month:02d}"
    if month != "latest" and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValueError(f"archive month must be a date, 'YYYY-MM' or 'latest', not {month!r}")
    return month


def validate_zip(path: Path) -> None:
    """ValueError unless `path` is a zip whose central directory reads (catches truncation)."""
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a readable zip: {exc}") from None


def fetch_archive(
    archive: PoliceArchive | HttpClient,
    cache: Cache,
    month: date | str,
    *,
    refresh: bool | None = None,
) -> FetchResult:
    """Download one archive zip (a month, 'YYYY-MM' or 'latest') into `archive/<name>.zip`.

    A cached month is not requested again unless `refresh`; `latest.zip` changes monthly, so by
    default it is re-checked with a conditional request.
    """
    if not isinstance(archive, PoliceArchive):
        archive = PoliceArchive(archive)
    name = archive_name(month)
    if refresh is None:
        refresh = name == "latest"
    return download_to_cache(
        archive.client,
        cache,
        archive_key(name),
        archive.url(f"/data/archive/{name}.zip"),
        validate=validate_zip,
        refresh=refresh,
        month=month if isinstance(month, date) else None if name == "latest" else _first_day(name),
    )


def _first_day(name: str) -> date:
    """The first day of a YYYY-MM month."""
    return date(int(name[:4]), int(name[5:7]), 1)


def stop_and_search_members(path: Path, force: str | None = None) -> list[str]:
    """Members `YYYY-MM/YYYY-MM-<force>-stop-and-search.csv` of an archive (of one force)."""
    members = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            try:
                member_force, _, _ = parse_file_name(member.rsplit("/", 1)[-1])
            except IngestError:
                continue
            if force is None or member_force == force:
                members.append(member)
    return sorted(members)
