"""Registry: the function `registry_person_record`, what a forecast and the access rules need of
a person's record, as one row, for statements running inside PostgreSQL (the booking room's
`booking_book` joins it). registry/service.py reads records through it on PostgreSQL too, so the
read has one form there; on SQLite, which has no stored functions, service.py asks the same
question in SQL of its own.

Revision ID: 0010
Revises: 0003
Create Date: 2026-12-05 19:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0003"
branch_labels = None
# A dose's recall flag (immunization.recall_action) came with the supply branch.
depends_on = "0004"

# The person (no row when there is none); the sites granted access at p_now (access_grant, the
# access room's, as access.service.granted_sites reads it); whether there are observations; and
# every dose, in date order, as parallel arrays (NULL when there is none).
REGISTRY_PERSON_RECORD = """
CREATE OR REPLACE FUNCTION registry_person_record(p_person_id text, p_now timestamptz)
RETURNS TABLE (
    person_id text, birth_date date, sex text, active boolean, merged_into_id text,
    managing_site_id text, province_code text, district_code text, commune_code text,
    granted_sites text[], observed boolean,
    dose_ids text[], dose_dates date[], dose_cvx text[], dose_mvx text[],
    dose_volumes double precision[], dose_statuses text[], dose_sites text[],
    dose_recall_actions text[]
)
LANGUAGE sql STABLE AS $$
    SELECT person.id::text, person.birth_date, person.sex::text, person.active,
           person.merged_into_id::text, person.managing_site_id::text,
           person.province_code::text, person.district_code::text, person.commune_code::text,
           ARRAY(SELECT access.site_id::text
                   FROM access_grant AS access
                  WHERE access.person_id = person.id AND access.expires_at > p_now),
           EXISTS (SELECT FROM person_observation AS observation
                    WHERE observation.person_id = person.id),
           array_agg(dose.id::text ORDER BY dose.date_administered, dose.id)
               FILTER (WHERE dose.id IS NOT NULL),
           array_agg(dose.date_administered ORDER BY dose.date_administered, dose.id)
               FILTER (WHERE dose.id IS NOT NULL),
           array_agg(dose.cvx::text ORDER BY dose.date_administered, dose.id)
               FILTER (WHERE dose.id IS NOT NULL),
           array_agg(dose.mvx::text ORDER BY dose.date_administered, dose.id)
               FILTER (WHERE dose.id IS NOT NULL),
           array_agg(dose.dose_volume_ml ORDER BY dose.date_administered, dose.id)
               FILTER (WHERE dose.id IS NOT NULL),
           array_agg(dose.status::text ORDER BY dose.date_administered, dose.id)
               FILTER (WHERE dose.id IS NOT NULL),
           array_agg(dose.site_id::text ORDER BY dose.date_administered, dose.id)
               FILTER (WHERE dose.id IS NOT NULL),
           array_agg(dose.recall_action::text ORDER BY dose.date_administered, dose.id)
               FILTER (WHERE dose.id IS NOT NULL)
      FROM person
      LEFT JOIN immunization AS dose ON dose.person_id = person.id
     WHERE person.id = p_person_id
     GROUP BY person.id
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REGISTRY_PERSON_RECORD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS registry_person_record")
