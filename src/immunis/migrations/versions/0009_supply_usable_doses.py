"""Supply: the function `supply_usable_doses`, the doses a site may give of some vaccines on a
day, for statements running inside PostgreSQL (booking's `booking_book` compares what it has
promised with it, under its locks). supply/availability.py calls it on PostgreSQL too, so the
rule has one form there; on SQLite, which has no stored functions, availability.py asks the
same question in SQL of its own.

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-05 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None

# Usable: the stock at the site of released lots of the vaccine that have not expired by the day
# (supply/release.py: only a released lot may be given).
SUPPLY_USABLE_DOSES = """
CREATE OR REPLACE FUNCTION supply_usable_doses(p_site_id text, p_cvxs text[], p_on date)
RETURNS TABLE (cvx text, doses bigint)
LANGUAGE sql STABLE AS $$
    SELECT lot.cvx, sum(balance.quantity)
      FROM vaccine_lot AS lot
      JOIN stock_balance AS balance ON balance.lot_id = lot.id
     WHERE balance.site_id = p_site_id
       AND balance.quantity > 0
       AND lot.cvx = ANY (p_cvxs)
       AND lot.release_status = 'released'
       AND lot.expiry_date >= p_on
     GROUP BY lot.cvx
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SUPPLY_USABLE_DOSES)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS supply_usable_doses")
