"""The :class:`Context` a subcommand's handler gets: ``--config`` and ``--db`` resolved once, lazily.

Only the standard library is imported here; the config loader and the store
are imported when a handler first asks for them, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Config
    from ..store import Store


class Context:
    """Resolves --config and --db once, lazily, for a handler.

    ``parser`` is the whole command line's parser (``completion`` describes
    it), handed in by ``cli.main`` so no command has to import the cli back.
    """

    def __init__(self, args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> None:
        self.args = args
        self.parser = parser

    @cached_property
    def config_path(self) -> Path:
        from ..locations import default_config_path

        return Path(self.args.config).expanduser() if self.args.config else default_config_path()

    @cached_property
    def config(self) -> Config:
        from ..config import load_config

        if not self.args.config and not self.config_path.exists():
            self._install_default_config()
        return load_config(self.config_path)

    def _install_default_config(self) -> None:
        """First run without --config: start from the shipped feeds and keywords, and say so."""
        import re
        import sys
        from importlib.resources import files

        template = files("crisiswatch").joinpath("default_feeds.toml")
        if not template.is_file():
            return
        try:
            self.config_path.parent.mkdir(parents=True, exist_ok=True)
            text = template.read_text(encoding="utf-8")
            # The repository copy keeps its database beside it; an installed copy uses the data dir.
            text = re.sub(r"(?m)^database\s*=.*$", "# database = \"crisiswatch.db\"  # default: the user data directory",
                          text, count=1)
            self.config_path.write_text(text, encoding="utf-8")
        except OSError:
            return
        print(f"crisiswatch: created {self.config_path} from the shipped feeds and keywords; edit it to taste",
              file=sys.stderr)

    @cached_property
    def db_path(self) -> Path:
        from ..locations import default_db_path

        if self.args.db:
            return Path(self.args.db).expanduser()
        return self.config.database_path() or default_db_path()

    def open_store(self) -> Store:
        from ..store import Store

        return Store.open(self.db_path)


__all__ = ["Context"]
