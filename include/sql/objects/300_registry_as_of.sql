-- The registry as it stood at an instant (penetapan snapshots, coverage checks).

-- The registry as it stood at an instant: every person's version valid then.
CREATE OR REPLACE FUNCTION registry.individual_as_of(at_ts timestamptz)
RETURNS SETOF registry.individual_version
LANGUAGE sql STABLE AS $$
    SELECT v.* FROM registry.individual_version v
    WHERE v.valid_from < at_ts AND (v.valid_to IS NULL OR v.valid_to >= at_ts)
$$;

CREATE OR REPLACE FUNCTION registry.household_as_of(at_ts timestamptz)
RETURNS SETOF registry.household_version
LANGUAGE sql STABLE AS $$
    SELECT h.* FROM registry.household_version h
    WHERE h.valid_from < at_ts AND (h.valid_to IS NULL OR h.valid_to >= at_ts)
$$;
