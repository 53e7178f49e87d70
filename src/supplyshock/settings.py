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
    # Job worker threads in each server process (docs/jobs.md); 0: this process runs no jobs.
    job_workers: int = Field(default=1, ge=0, le=32)
    environment: str = "development"
    # Server secret for pseudonyms (HMAC keys). The default is for development only: any other
    # environment refuses to start with it.
    secret_key: str = DEV_SECRET
    # API requests per token per minute, counted in the database: shared by every worker.
    rate_limit_per_minute: int = Field(default=600, ge=1)
    max_request_bytes: int = 256 * 1024
    # The board publishes a new reading at most once per this many seconds: fewer readings
    # give a coalition fewer equations, and the auditor runs less often (docs/anonymity.md).
    board_epoch_seconds: int = Field(default=60, ge=0)
    # The request path (docs/exchange.md, "Request path and concurrency"). Each server worker
    # keeps db_pool_size connections and admits as many requests to the database at once; the
    # others wait, without a thread, up to db_pool_timeout seconds and are then answered 503.
    db_pool_size: int = Field(default=5, ge=1, le=200)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    # PostgreSQL only: no statement runs, and no lock is awaited, longer than this (then 503).
    db_statement_timeout_ms: int = Field(default=5000, ge=0)  # 0 = no limit
    db_lock_timeout_ms: int = Field(default=3000, ge=0)  # 0 = no limit
    # Attempts of one request when PostgreSQL reports a serialization failure or a deadlock.
    db_retry_attempts: int = Field(default=3, ge=1, le=10)
    # Bounds on one network (main file and its CSV tables, or an upload): docs/formats.md.
    network_max_bytes: int = Field(default=50_000_000, ge=1)
    network_max_rows: int = Field(default=1_000_000, ge=1)
    network_max_depth: int = Field(default=64, ge=2, le=1000)

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
