"""Conversion between CDC's CDSi supporting-data XML and the project's YAML schedule format."""

from __future__ import annotations

from pathlib import Path

from immunis.schedule.cdc_xml import load_cdc_directory
from immunis.schedule.project_format import dump_yaml


def cdc_xml_to_yaml(folder: Path | str, *, version: str = "") -> str:
    """Every supporting-data XML file in `folder`, as one project-format YAML document."""
    return dump_yaml(load_cdc_directory(folder, version=version))
