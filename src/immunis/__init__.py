"""immunis: an open-source lifelong-immunization platform."""

__version__ = "0.1.0"
