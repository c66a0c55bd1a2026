"""stopsearch.toml: validated keys, paths relative to the file, clear errors with examples."""

from __future__ import annotations

from datetime import date

import pytest

from stopsearch.config import EXAMPLE, PublishConfig, load_config, parse_months
from stopsearch.errors import ConfigError


def _write(tmp_path, text):
    path = tmp_path / "stopsearch.toml"
    path.write_text(text)
    return path


def test_the_documented_example_loads(tmp_path):
    (tmp_path / "boundaries").mkdir()
    (tmp_path / "boundaries" / "west-midlands-2013.toml").write_text("")
    config = load_config(_write(tmp_path, EXAMPLE))
    assert config.force == "west-midlands"
    assert config.months == "latest"
    assert config.output == tmp_path / "site"
    assert config.police_api is True
    assert config.suppression.min_rate_population == 100
    assert config.demo is False
    assert config.record_level_extract is True


def test_months_and_overrides(tmp_path):
    folder = tmp_path / "police"
    folder.mkdir()
    path = _write(tmp_path, '[publish]\nmonths = ["2023-02", "2023-01"]\n[sources]\n'
                            'paths = ["police"]\n')
    config = load_config(path)
    assert config.months == (date(2023, 1, 1), date(2023, 2, 1))
    assert config.paths == (folder,)
    assert config.with_overrides(releases_kept=2, force=None).releases_kept == 2
    assert parse_months("2023-03,2023-01") == (date(2023, 1, 1), date(2023, 3, 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[publish]\nmonths = [\"2023-13\"]\n", "months: '2023-13' is not YYYY-MM"),
        ("[publish]\nreleases_kept = 0\n[sources]\npaths=[\".\"]\n", "releases_kept: must be"),
        ("[publish]\nforce = \"West Midlands\"\n", "not a data.police.uk force id"),
        ("[sources]\npolice_api = \"yes\"\n", "police_api: must be true or false"),
        ("[sources]\npaths = [\"missing\"]\n", "does not exist"),
        ("[sources]\npolice_api = true\n", "[publish] force: is required with police_api"),
        ("[publsh]\n", "unknown key"),
        ('[publish]\nmemory_limit = "lots"\n[sources]\npaths=["."]\n', "'lots' is not a size"),
        ("[sources]\n", "no source"),
        ("[publish\n", "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_key_with_an_example(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_default_is_the_demo():
    assert PublishConfig().demo is True
