"""The static public site: `build_site` renders `site_template/` with the published figures."""

from stopsearch.outputs.site.build import (
    DEFAULT_TEMPLATES,
    SiteReport,
    build_site,
    csp,
    environment,
)

__all__ = ["DEFAULT_TEMPLATES", "SiteReport", "build_site", "csp", "environment"]
