"""The education API is public: the vaccine list and each vaccine's page in Vietnamese or
English, without logging in."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from immunis.app import create_app
from immunis.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", data_dir=str(tmp_path))
    return TestClient(create_app(settings))


def test_anyone_can_list_the_vaccines_in_vietnamese(client: TestClient) -> None:
    answer = client.get("/api/education/vaccines")
    assert answer.status_code == 200
    names = {v["key"]: v["name"] for v in answer.json()}
    assert names["bcg"] == "Vắc xin BCG (phòng lao)"
    assert len(names) == 18


def test_a_vaccine_page_in_english_has_every_section(client: TestClient) -> None:
    page = client.get("/api/education/vaccines/measles-rubella", params={"lang": "en"}).json()
    assert page["language"] == "en"
    assert page["name"] == "Measles and measles–rubella (MR) vaccine"  # noqa: RUF001
    assert "pneumonia" in page["prevents"]
    assert [e["doses"] for e in page["schedule"]] == [
        ["Dose 1: at 9 months of age", "Dose 2: at 18 months of age"]
    ]
    assert page["reactions"] and page["seek_care"] and page["reminder"]
    assert any(
        s["url"] == "https://www.who.int/news-room/fact-sheets/detail/measles"
        for s in page["sources"]
    )


def test_a_vaccine_page_in_vietnamese(client: TestClient) -> None:
    page = client.get("/api/education/vaccines/japanese-encephalitis", params={"lang": "vi"}).json()
    assert page["schedule"][0]["doses"][0] == "Mũi 1: lúc 12 tháng tuổi"
    assert page["schedule"][0]["programme_label"] == "Tiêm chủng mở rộng (miễn phí)"
    assert "muỗi" in page["prevents"]


def test_an_unknown_vaccine_is_not_found_and_an_unknown_language_refused(
    client: TestClient,
) -> None:
    assert client.get("/api/education/vaccines/smallpox").status_code == 404
    assert client.get("/api/education/vaccines/bcg", params={"lang": "fr"}).status_code == 422
