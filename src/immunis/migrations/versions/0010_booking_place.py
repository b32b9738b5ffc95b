"""Booking: the function `booking_place`, a new appointment's writes in one round trip on
PostgreSQL (booking/placement.py says why). SQLite has no stored functions and does not need
one: placement.py takes the same steps one statement at a time there.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-05 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
# It asks the supply room for the usable stock (supply_usable_doses).
depends_on = "0009"

# The steps and their order are those of placement.py's SQLite path: take a place in the open
# session if it has one (counters.take_place), count the slot's people under that row lock,
# promise a dose of each vaccine in CVX order (counters.change_reservation), read the usable
# stock after those locks, write the rows. It reports; the booking service judges.
BOOKING_PLACE = """
CREATE OR REPLACE FUNCTION booking_place(
    p_appointment_id text,
    p_person_id text,
    p_session_id text,
    p_slot_start time,
    p_site_id text,
    p_vaccines text[],
    p_schedule_id text,
    p_booked_by text,
    p_booked_at timestamptz,
    p_rescheduled_from text,
    p_booked_status text,
    p_taking_a_place text[]
) RETURNS TABLE (
    took boolean, session_status text, capacity integer, slot_taken integer,
    promised integer[], usable bigint[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_capacity integer;
    v_day date;
    v_status text;
    v_taken integer;
    v_total integer;
    v_promised integer[] := '{}';
    v_usable bigint[];
    v_cvx text;
BEGIN
    UPDATE clinic_session AS s SET booked = s.booked + 1
     WHERE s.id = p_session_id AND s.status = 'open' AND s.booked < s.capacity
    RETURNING s.capacity, s.day INTO v_capacity, v_day;
    IF v_capacity IS NULL THEN
        SELECT s.status, s.capacity INTO v_status, v_capacity
          FROM clinic_session AS s WHERE s.id = p_session_id;
        RETURN QUERY SELECT false, v_status, v_capacity, 0, v_promised, v_promised::bigint[];
        RETURN;
    END IF;
    SELECT count(*) INTO v_taken
      FROM appointment AS a
     WHERE a.session_id = p_session_id AND a.slot_start = p_slot_start
       AND a.status = ANY (p_taking_a_place);
    FOREACH v_cvx IN ARRAY p_vaccines LOOP
        INSERT INTO vaccine_reservation AS r (site_id, cvx, reserved)
        VALUES (p_site_id, v_cvx, 1)
        ON CONFLICT (site_id, cvx) DO UPDATE SET reserved = r.reserved + 1
        RETURNING r.reserved INTO v_total;
        v_promised := v_promised || v_total;
    END LOOP;
    SELECT array_agg(coalesce(stock.doses, 0) ORDER BY wanted.position) INTO v_usable
      FROM unnest(p_vaccines) WITH ORDINALITY AS wanted (cvx, position)
      LEFT JOIN supply_usable_doses(p_site_id, p_vaccines, v_day) AS stock
        ON stock.cvx = wanted.cvx;
    INSERT INTO appointment (
        id, person_id, session_id, slot_start, status, schedule_id, booked_by,
        rescheduled_from_id, booked_at, updated_at
    ) VALUES (
        p_appointment_id, p_person_id, p_session_id, p_slot_start, p_booked_status,
        p_schedule_id, p_booked_by, p_rescheduled_from, p_booked_at, p_booked_at
    );
    INSERT INTO appointment_vaccine (appointment_id, cvx)
    SELECT p_appointment_id, vaccine FROM unnest(p_vaccines) AS vaccine;
    RETURN QUERY SELECT true, 'open'::text, v_capacity, v_taken, v_promised, v_usable;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BOOKING_PLACE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS booking_place")
