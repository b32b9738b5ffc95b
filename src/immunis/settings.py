"""All runtime settings in one place, read from ``IMMUNIS_*`` environment variables."""

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings for every part of immunis; each field reads ``IMMUNIS_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix="IMMUNIS_", extra="ignore")

    database_url: str = "sqlite:///./immunis.db"
    default_schedule: str = "us-acip"
    language: str = "en"
    dask_scheduler_address: str | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once; tests call ``get_settings.cache_clear()``."""
    return Settings()
