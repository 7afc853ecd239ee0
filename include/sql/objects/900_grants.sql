-- Who may read which view and call which function: applied after every other
-- object file, so an object re-created (DROP + CREATE) gets its grants back.
--
-- Roles (created by migrations 003 and 014, docs/auditors.md):
--   dtks_auditor: SELECT on the masked views, the round calendar and the trends
--                 (tables of audit, metrics and ref are granted by the migrations);
--   dtks_lineage: the recorded, rate-limited lineage lookups of one NIK/KK.
-- A new function is executable by PUBLIC unless revoked here. To take a
-- privilege away, revoke it in a numbered migration and drop it from this file.

-- ---------------------------------------------------------------- dtks_auditor
GRANT SELECT ON registry.record_lineage_masked, registry.individual_masked, registry.individual_version_masked,
                registry.individual_event_masked, registry.household_masked, registry.household_version_masked,
                quarantine.row_issue_masked, quarantine.rejected_row_masked,
                audit.submission_masked, audit.submission_event_masked, audit.duplicate_upload_masked
    TO dtks_auditor;
GRANT SELECT ON audit.round_calendar, metrics.trend_national, metrics.trend_province, metrics.trend_district
    TO dtks_auditor;

-- ---------------------------------------------------------------- lineage: unmasked functions for engineers only
REVOKE ALL ON FUNCTION registry.lineage_of(text), registry.attempts_of(text), lineage_secret.keyed_hash(text)
    FROM PUBLIC;

-- ---------------------------------------------------------------- dtks_lineage
REVOKE ALL ON FUNCTION registry.lineage_request(text, text), registry.lineage_checked(bigint, text),
    registry.lineage_masked(bigint, text), registry.attempts_masked(bigint, text),
    registry.lineage_hourly_limit() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION registry.lineage_request(text, text), registry.lineage_masked(bigint, text),
    registry.attempts_masked(bigint, text), registry.lineage_hourly_limit() TO dtks_lineage;

-- ---------------------------------------------------------------- dtks_pipeline (deploy/warehouse_roles.py)
-- The stack's pipeline login answers `dtks lineage`; the role exists only where deploy created it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dtks_pipeline') THEN
        GRANT EXECUTE ON FUNCTION registry.lineage_of(text), registry.attempts_of(text) TO dtks_pipeline;
    END IF;
END;
$$;
