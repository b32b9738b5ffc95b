"""Booking: the function `booking_book`, a new appointment's database work in one round trip on
PostgreSQL (booking/placement.py says why). SQLite has no stored functions and does not need
one: placement.py takes the same steps one statement at a time there.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-05 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
# It asks the supply room for the usable stock (supply_usable_doses), and the booking service
# joins it to the registry's record (registry_person_record).
depends_on = ("0009", "0010")

# The steps and their order are those of placement.py's SQLite path. Read the session (no row
# when there is none: nothing is written), the vaccines its site offers now and those the person
# already holds an active appointment for. Then take a place if the session is open and not full
# (counters.take_place), count the slot's people under that row lock, promise a dose of each
# vaccine in CVX order (counters.change_reservation), read the usable stock after those locks,
# and write the appointment's rows. It reports; the booking service judges, and refuses by
# rolling it all back.
BOOKING_BOOK = """
CREATE OR REPLACE FUNCTION booking_book(
    p_appointment_id text,
    p_person_id text,
    p_session_id text,
    p_slot_start time,
    p_vaccines text[],
    p_schedule_id text,
    p_booked_by text,
    p_booked_at timestamptz,
    p_booked_status text,
    p_taking_a_place text[],
    p_holding_doses text[]
) RETURNS TABLE (
    site_id text, day date, start_time time, end_time time, slot_minutes integer,
    capacity integer, vaccines json, status text, offered text[], clash text[],
    took boolean, capacity_now integer, status_now text, slot_taken integer,
    promised integer[], usable bigint[]
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_session clinic_session%ROWTYPE;
    v_offered text[];
    v_clash text[];
    v_took boolean;
    v_capacity integer;
    v_status text := 'open';
    v_taken integer := 0;
    v_total integer;
    v_promised integer[] := '{}';
    v_usable bigint[] := '{}';
    v_cvx text;
BEGIN
    SELECT * INTO v_session FROM clinic_session AS s WHERE s.id = p_session_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_offered := ARRAY(
        SELECT offer.cvx::text FROM site_vaccine AS offer
         WHERE offer.site_id = v_session.site_id AND offer.active
    );
    v_clash := ARRAY(
        SELECT DISTINCT asked.cvx::text
          FROM appointment_vaccine AS asked
          JOIN appointment AS a ON a.id = asked.appointment_id
         WHERE a.person_id = p_person_id AND a.status = ANY (p_holding_doses)
           AND asked.cvx = ANY (p_vaccines)
         ORDER BY 1
    );
    UPDATE clinic_session AS s SET booked = s.booked + 1
     WHERE s.id = p_session_id AND s.status = 'open' AND s.booked < s.capacity
    RETURNING s.capacity INTO v_capacity;
    v_took := FOUND;
    IF NOT v_took THEN
        SELECT s.capacity, s.status INTO v_capacity, v_status
          FROM clinic_session AS s WHERE s.id = p_session_id;
    ELSE
        SELECT count(*) INTO v_taken
          FROM appointment AS a
         WHERE a.session_id = p_session_id AND a.slot_start = p_slot_start
           AND a.status = ANY (p_taking_a_place);
        FOREACH v_cvx IN ARRAY p_vaccines LOOP
            INSERT INTO vaccine_reservation AS r (site_id, cvx, reserved)
            VALUES (v_session.site_id, v_cvx, 1)
            ON CONFLICT ON CONSTRAINT pk_vaccine_reservation
            DO UPDATE SET reserved = r.reserved + 1
            RETURNING r.reserved INTO v_total;
            v_promised := v_promised || v_total;
        END LOOP;
        v_usable := ARRAY(
            SELECT coalesce(stock.doses, 0)
              FROM unnest(p_vaccines) WITH ORDINALITY AS wanted (cvx, position)
              LEFT JOIN supply_usable_doses(v_session.site_id, p_vaccines, v_session.day)
                   AS stock ON stock.cvx = wanted.cvx
             ORDER BY wanted.position
        );
        INSERT INTO appointment (
            id, person_id, session_id, slot_start, status, schedule_id, booked_by,
            booked_at, updated_at
        ) VALUES (
            p_appointment_id, p_person_id, p_session_id, p_slot_start, p_booked_status,
            p_schedule_id, p_booked_by, p_booked_at, p_booked_at
        );
        INSERT INTO appointment_vaccine (appointment_id, cvx)
        SELECT p_appointment_id, vaccine FROM unnest(p_vaccines) AS vaccine;
    END IF;
    RETURN QUERY SELECT
        v_session.site_id::text, v_session.day, v_session.start_time, v_session.end_time,
        v_session.slot_minutes, v_session.capacity, v_session.vaccines,
        v_session.status::text, v_offered, v_clash,
        v_took, v_capacity, v_status::text, v_taken, v_promised, v_usable;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BOOKING_BOOK)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS booking_book")
