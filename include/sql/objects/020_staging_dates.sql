-- Dates as districts write them, read the same way by the checks and the merge.
--
-- parse_date reads every accepted spelling (NULL when not a real calendar
-- date); parse_plausible_date adds the plausibility rule (from 1900 on) and
-- reads the common YYYY-MM-DD spelling by an expression the planner inlines.

-- Dates as districts write them. NULL when the text is not a real calendar
-- date (checked, never guessed):
--   YYYY-MM-DD or YYYY/MM/DD, optionally followed by a time of day;
--   DD-MM-YYYY, DD/MM/YYYY or DD.MM.YYYY (day first, the Indonesian order; 1 or 2 digits);
--   a 5-digit Excel serial day number (1900 date system, optionally with a
--   fraction for the time): what a date cell formatted as a number becomes.
--   Only date columns are read through this function.
-- Written without an exception handler (a subtransaction per call would
-- make it the slowest part of validation): impossible dates are caught by
-- staging.make_date_or_null instead.
CREATE OR REPLACE FUNCTION staging.make_date_or_null(y int, m int, d int) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN y BETWEEN 1 AND 9999 AND m BETWEEN 1 AND 12 AND d BETWEEN 1 AND 31
                     AND extract(month FROM make_date(y, m, 1) + (d - 1)) = m   -- 31-02 is not a date
                THEN make_date(y, m, 1) + (d - 1) END
$$;

CREATE OR REPLACE FUNCTION staging.parse_date(value text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    v text := btrim(value);
    d text;
BEGIN
    IF v IS NULL OR v = '' THEN
        RETURN NULL;
    END IF;
    IF v ~ '^[0-9]{5}(\.[0-9]+)?$' THEN
        RETURN DATE '1899-12-30' + left(v, 5)::int;
    END IF;
    d := v;
    IF v ~ '[ T]' THEN   -- a time of day after the date
        IF v !~ '^[0-9./-]+[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$' THEN
            RETURN NULL;
        END IF;
        d := split_part(translate(v, 'T', ' '), ' ', 1);
    END IF;
    IF d ~ '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$' OR d ~ '^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}$' THEN
        d := translate(d, '/', '-');
        RETURN staging.make_date_or_null(split_part(d, '-', 1)::int, split_part(d, '-', 2)::int,
                                         split_part(d, '-', 3)::int);
    END IF;
    IF d ~ '^[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}$' OR d ~ '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$'
       OR d ~ '^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}$' THEN
        d := translate(d, '/.', '--');
        RETURN staging.make_date_or_null(split_part(d, '-', 3)::int, split_part(d, '-', 2)::int,
                                         split_part(d, '-', 1)::int);
    END IF;
    RETURN NULL;
END;
$$;

-- Any spelling parse_date reads, from 1900 on (before 1900: not plausible, unreadable).
-- PL/pgSQL: one call per value; parse_plausible_date calls it only for the
-- spellings its inlined fast branch does not read.
CREATE OR REPLACE FUNCTION staging.parse_plausible_date_any(value text) RETURNS date
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    d date := staging.parse_date(value);
BEGIN
    RETURN CASE WHEN d >= DATE '1900-01-01' THEN d END;   -- before 1900: not plausible, unreadable
END;
$$;

-- The date a district wrote, if plausible. The common spelling (YYYY-MM-DD,
-- year 1900 or later) is read by an SQL expression the planner inlines
-- (pg_input_is_valid: PostgreSQL 16); every other spelling goes through
-- staging.parse_plausible_date_any.
-- (STABLE, like the text-to-date cast it uses: so the planner inlines it)
CREATE OR REPLACE FUNCTION staging.parse_plausible_date(value text) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        -- YYYY-MM-DD from 1900 on: a real calendar date or NULL (31-02 is not a date)
        WHEN value ~ '^(19|[2-9][0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}$'
            THEN CASE WHEN pg_input_is_valid(value, 'date') THEN value::date END
        ELSE staging.parse_plausible_date_any(value)
    END
$$;
