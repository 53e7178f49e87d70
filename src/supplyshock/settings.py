"""The one settings object: environment variables with the ``SUPPLYSHOCK_`` prefix."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-not-secret"


def _data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "supplyshock"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPLYSHOCK_", extra="ignore")

    data_dir: Path = Field(default_factory=_data_dir)
    database_url: str | None = None
    dask_scheduler: str | None = None  # e.g. tcp://10.0.0.5:8786; None = LocalCluster
    environment: str = "development"
    # Server secret for pseudonyms (HMAC keys). The default is for development only: any other
    # environment refuses to start with it.
    secret_key: str = DEV_SECRET
    rate_limit_per_minute: int = 600  # API requests per token per minute (per process)
    max_request_bytes: int = 256 * 1024

    @model_validator(mode="after")
    def _no_placeholder_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "SUPPLYSHOCK_SECRET_KEY must be set outside development "
                f"(SUPPLYSHOCK_ENVIRONMENT={self.environment})"
            )
        return self

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
