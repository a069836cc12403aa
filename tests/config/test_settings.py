"""Settings come from DATAEX_* variables, each with a default and a doc line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataex.config.settings import Settings, default_data_dir


def test_every_setting_has_a_default_and_a_doc() -> None:
    described = Settings.describe()
    assert len(described) >= 10
    for variable, _default, doc in described:
        assert variable.startswith("DATAEX_") and doc.strip()


def test_values_are_read_and_typed_from_the_environment() -> None:
    s = Settings.from_env(
        {
            "DATAEX_PORT": "9001",
            "DATAEX_DATA_DIR": "/srv/x",
            "DATAEX_DATABASE_URL": "postgresql://u@h/d",
        }
    )
    assert s.port == 9001 and s.data_dir == Path("/srv/x") and not s.embedded


def test_a_bad_integer_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="DATAEX_PORT must be an integer"):
        Settings.from_env({"DATAEX_PORT": "eighty"})


def test_root_never_defaults_to_a_folder_under_a_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert default_data_dir() == Path("/var/lib/dataex")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_DATA_HOME", "/home/u/.local/share")
    assert default_data_dir() == Path("/home/u/.local/share/dataex")
