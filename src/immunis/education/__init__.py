"""Public education: what each vaccine prevents, its schedule, its reactions, in Vietnamese and
English (docs/outreach.md)."""
