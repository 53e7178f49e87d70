"""The one settings object: environment variables with the ``SUPPLYSHOCK_`` prefix."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "supplyshock"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPLYSHOCK_", extra="ignore")

    data_dir: Path = Field(default_factory=_data_dir)
    database_url: str | None = None
    dask_scheduler: str | None = None  # e.g. tcp://10.0.0.5:8786; None = LocalCluster
    environment: str = "development"

    def resolved_database_url(self) -> str:
        """The configured URL, normalised for SQLAlchemy + psycopg 3; SQLite file by default."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'supplyshock.db'}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
