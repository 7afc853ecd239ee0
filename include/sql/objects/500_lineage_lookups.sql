-- Lineage lookups of one NIK/KK: recorded, rate-limited, masked (role dtks_lineage).
--
-- A lookup is a committed request in audit.lineage_lookup (keyed hash of the
-- number; the key in lineage_secret), then the masked answer for it.
-- Who may call what: 900_grants.sql.

CREATE OR REPLACE FUNCTION lineage_secret.keyed_hash(identifier text) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(sha256(k.key || convert_to('dtks-lineage:' || btrim(identifier), 'UTF8')), 'hex')
    FROM lineage_secret.hash_key k
$$;

-- Lookups per database login per rolling hour.
CREATE OR REPLACE FUNCTION registry.lineage_hourly_limit() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 30 $$;

-- Step 1: record the lookup (commit it), get its id. Refused past the hourly limit.
CREATE OR REPLACE FUNCTION registry.lineage_request(identifier text, asked_by text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    recent integer;
    id bigint;
BEGIN
    IF identifier IS NULL OR btrim(identifier) !~ '^[0-9]{16}$' THEN
        RAISE EXCEPTION 'lineage: give a 16-digit NIK or KK number';
    END IF;
    -- one login's requests are counted one at a time, so parallel sessions cannot overrun the limit
    PERFORM pg_advisory_xact_lock(hashtext('dtks-lineage-lookup'), hashtext(session_user));
    SELECT count(*) INTO recent FROM audit.lineage_lookup l
    WHERE l.db_login = session_user AND l.asked_at > clock_timestamp() - interval '1 hour';
    IF recent >= registry.lineage_hourly_limit() THEN
        RAISE EXCEPTION 'lineage: % lookups in the last hour for login %: the limit is % per hour',
            recent, session_user, registry.lineage_hourly_limit()
            USING HINT = 'wait, or ask an administrator: every lookup is recorded in audit.lineage_lookup';
    END IF;
    INSERT INTO audit.lineage_lookup (asked_by, identifier_hash)
    VALUES (left(asked_by, 200), lineage_secret.keyed_hash(identifier))
    RETURNING lookup_id INTO id;
    RETURN id;
END;
$$;

-- The identifier of a committed, recent request of this login, or an error.
CREATE OR REPLACE FUNCTION registry.lineage_checked(lookup_id bigint, identifier text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    req audit.lineage_lookup;
BEGIN
    SELECT * INTO req FROM audit.lineage_lookup l WHERE l.lookup_id = lineage_checked.lookup_id;
    IF req.lookup_id IS NULL OR req.db_login <> session_user
       OR req.identifier_hash <> lineage_secret.keyed_hash(identifier)
       OR req.asked_at < clock_timestamp() - interval '10 minutes'
       OR pg_xact_status(req.xact) IS DISTINCT FROM 'committed' THEN
        RAISE EXCEPTION 'lineage: no committed lookup % of this number by this login in the last 10 minutes', lookup_id
            USING HINT = 'call registry.lineage_request(number) and commit first';
    END IF;
    RETURN btrim(identifier);
END;
$$;

-- Step 2: the masked lineage of the number of a committed request.
CREATE OR REPLACE FUNCTION registry.lineage_masked(lookup_id bigint, identifier text)
RETURNS SETOF registry.record_lineage_masked
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT record_type, audit.mask_nik(nik), audit.mask_nik(no_kk), nama_initials, event, version_no,
           changed_columns, event_at, valid_from, valid_to, verified_on, status_keberadaan, active, kode_desa,
           submission_id, submission_kind, round_id, submitted_by_kabkota, submitted_by_kabkota_name,
           audit.mask_file_name(file_name), file_row, file_sha256, suite_name, suite_version, merge_run_id,
           registered_by_run
    FROM registry.lineage_of(registry.lineage_checked(lookup_id, identifier))
$$;

-- ... and its attempts that never reached the registry, masked.
CREATE OR REPLACE FUNCTION registry.attempts_masked(lookup_id bigint, identifier text)
RETURNS TABLE (attempt text, nik_masked text, no_kk_masked text, nama_initials text, event_at timestamptz,
               submission_id bigint, round_id text, submitted_by_kabkota text, submitted_by_kabkota_name text,
               file_name text, file_row integer, file_sha256 text, reasons text[], run_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT attempt, audit.mask_nik(nik), audit.mask_nik(no_kk), nama_initials, event_at, submission_id, round_id,
           submitted_by_kabkota, submitted_by_kabkota_name, audit.mask_file_name(file_name), file_row, file_sha256,
           reasons, run_id
    FROM registry.attempts_of(registry.lineage_checked(lookup_id, identifier))
$$;
