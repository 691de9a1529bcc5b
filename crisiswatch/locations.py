"""Where crisiswatch keeps files, resolved once through platformdirs."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "crisiswatch"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP))


def default_config_path() -> Path:
    """``./feeds.toml`` when the working directory has one, else the user config dir's."""
    local = Path("feeds.toml")
    if local.is_file():
        return local
    return config_dir() / "feeds.toml"


def default_db_path() -> Path:
    return data_dir() / "crisiswatch.db"


def exports_dir() -> Path:
    return data_dir() / "exports"
