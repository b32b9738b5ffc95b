"""All runtime settings in one place, read from ``IMMUNIS_*`` environment variables."""

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings for every part of immunis; each field reads ``IMMUNIS_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix="IMMUNIS_", extra="ignore")

    database_url: str = "sqlite:///./immunis.db"
    default_schedule: str = "us-acip"
    language: str = "en"
    dask_scheduler_address: str | None = None
    # Signs web sessions and certificates. Unset: a key generated once into `data_dir`.
    secret_key: str | None = None
    data_dir: str = "."
    # Where people reach immunis: the start of links in messages (booking). No trailing slash.
    public_base_url: str = "http://127.0.0.1:8000"
    # Outreach (docs/outreach.md): retries of a failed delivery, then the delivery adapters.
    outbox_max_attempts: int = 5
    outbox_retry_seconds: int = 300
    sms_gateway_url: str | None = None
    sms_gateway_token: SecretStr | None = None
    sms_sender: str = "IMMUNIS"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "immunis@localhost"
    # An email-to-SMS gateway's domain: a person known only by phone gets <phone>@<domain>.
    smtp_sms_domain: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once; tests call ``get_settings.cache_clear()``."""
    return Settings()
