import pytest

from immunis.settings import Settings, get_settings

SETTING_NAMES = ("DATABASE_URL", "DEFAULT_SCHEDULE", "LANGUAGE", "DASK_SCHEDULER_ADDRESS")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch):
    for name in SETTING_NAMES:
        monkeypatch.delenv(f"IMMUNIS_{name}", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults_without_environment():
    settings = Settings()

    assert settings.database_url == "sqlite:///./immunis.db"
    assert settings.default_schedule == "us-acip"
    assert settings.language == "en"
    assert settings.dask_scheduler_address is None


def test_immunis_variables_override_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IMMUNIS_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("IMMUNIS_DEFAULT_SCHEDULE", "vn-epi")
    monkeypatch.setenv("IMMUNIS_LANGUAGE", "vi")
    monkeypatch.setenv("IMMUNIS_DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:8786")

    settings = get_settings()

    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert settings.default_schedule == "vn-epi"
    assert settings.language == "vi"
    assert settings.dask_scheduler_address == "tcp://127.0.0.1:8786"


def test_unprefixed_variables_are_ignored(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LANGUAGE", "vi")

    assert get_settings().language == "en"


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch):
    first = get_settings()
    monkeypatch.setenv("IMMUNIS_LANGUAGE", "vi")

    assert get_settings() is first
    assert get_settings().language == "en"

    get_settings.cache_clear()

    assert get_settings().language == "vi"
