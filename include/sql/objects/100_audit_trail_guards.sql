-- Trigger functions that keep the audit trail and registry history append-only.
--
-- The triggers themselves belong to their tables (migrations 003, 004, 006,
-- 007, 011, 014); only the functions they call live here.

CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail: % on %.% is not allowed (append-only)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING HINT = 'audit and history rows are never changed or deleted; insert a new row instead';
END;
$$;

-- The calendar's change log and the penetapan snapshots are append-only too.
CREATE OR REPLACE FUNCTION audit.refuse_round_change_edit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail: % on %.% is not allowed (append-only)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
END;
$$;

-- audit.submission: identity fixed, outcome frozen once final, never deleted.
CREATE OR REPLACE FUNCTION audit.guard_submission() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    frozen audit.submission;
BEGIN
    IF NEW.submission_id IS DISTINCT FROM OLD.submission_id
       OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.file_name IS DISTINCT FROM OLD.file_name
       OR NEW.landing_path IS DISTINCT FROM OLD.landing_path
       OR NEW.sha256 IS DISTINCT FROM OLD.sha256
       OR NEW.size_bytes IS DISTINCT FROM OLD.size_bytes
       OR NEW.received_at IS DISTINCT FROM OLD.received_at
       OR NEW.registered_at IS DISTINCT FROM OLD.registered_at
       OR NEW.registered_by_run IS DISTINCT FROM OLD.registered_by_run
       OR (OLD.archive_path IS NOT NULL AND NEW.archive_path IS DISTINCT FROM OLD.archive_path)
       OR (OLD.round_id IS NOT NULL AND NEW.round_id IS DISTINCT FROM OLD.round_id)
       OR (OLD.kabkota_code IS NOT NULL AND NEW.kabkota_code IS DISTINCT FROM OLD.kabkota_code)
       OR (OLD.manifest IS NOT NULL AND NEW.manifest IS DISTINCT FROM OLD.manifest) THEN
        RAISE EXCEPTION 'audit trail: the identity of submission % (file, hash, size, times, run) cannot change',
            OLD.submission_id;
    END IF;
    IF OLD.status IN ('merged', 'rejected', 'superseded') THEN
        -- the outcome is final: every column stays; only merged/rejected -> superseded is allowed
        frozen := NEW;
        frozen.status := OLD.status;
        IF frozen IS DISTINCT FROM OLD
           OR (NEW.status <> OLD.status AND NOT (OLD.status IN ('merged', 'rejected') AND NEW.status = 'superseded')) THEN
            RAISE EXCEPTION 'audit trail: submission % is % and its outcome can no longer change',
                OLD.submission_id, OLD.status;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

-- Registry history: a version is only ever closed (valid_to NULL -> a time).
-- No trigger calls it since migration 006 (guard_individual_version and
-- guard_household_version below); kept until a migration drops it.
CREATE OR REPLACE FUNCTION audit.guard_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed_only jsonb := to_jsonb(OLD) - 'valid_to';
BEGIN
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL OR (to_jsonb(NEW) - 'valid_to') IS DISTINCT FROM closed_only THEN
        RAISE EXCEPTION 'registry history: a version of %.% can only be closed once (valid_to), never rewritten',
            TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;

-- Closing a version (valid_to) is the only change allowed, checked by
-- comparing typed rows instead of two jsonb conversions per row (one
-- function per table: the row is compared as its own table's type).
CREATE OR REPLACE FUNCTION audit.guard_individual_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    expected registry.individual_version := OLD;
BEGIN
    expected.valid_to := NEW.valid_to;
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL OR expected IS DISTINCT FROM NEW THEN
        RAISE EXCEPTION 'registry history: a version of %.% can only be closed once (valid_to), never rewritten',
            TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION audit.guard_household_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    expected registry.household_version := OLD;
BEGIN
    expected.valid_to := NEW.valid_to;
    IF OLD.valid_to IS NOT NULL OR NEW.valid_to IS NULL OR expected IS DISTINCT FROM NEW THEN
        RAISE EXCEPTION 'registry history: a version of %.% can only be closed once (valid_to), never rewritten',
            TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;

-- Lineage to the submission, checked once per statement over the rows the
-- statement wrote (a transition table) instead of a foreign key's check and
-- row lock per row (several per person, millions per national round). What
-- the foreign key also guaranteed, that a referenced submission is never
-- deleted or renumbered, the audit triggers refuse for every submission.
-- A trigger may name the relation people write to (argument 1): the
-- triggers of registry.individual_current name the view registry.individual.
CREATE OR REPLACE FUNCTION audit.require_known_submission() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unknown bigint;
BEGIN
    SELECT w.submission_id INTO unknown
    FROM (SELECT DISTINCT submission_id FROM written) w
    WHERE NOT EXISTS (SELECT 1 FROM audit.submission s WHERE s.submission_id = w.submission_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('lineage: rows of %s point at submission %s, which is not in audit.submission',
                             coalesce(TG_ARGV[0], format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)),
                             coalesce(unknown::text, 'NULL'));
    END IF;
    RETURN NULL;
END;
$$;
