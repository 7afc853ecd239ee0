-- The masked views: what the role dtks_auditor reads instead of the base tables.
--
-- Identifiers by their 4-digit region prefix (audit.mask_nik), names by
-- initials, file names masked, no birth year or sex. Grants: 900_grants.sql.

CREATE OR REPLACE VIEW registry.record_lineage_masked AS
SELECT record_type, audit.mask_nik(nik) AS nik_masked, audit.mask_nik(no_kk) AS no_kk_masked,
       nama_initials, event, version_no, changed_columns, event_at, valid_from, valid_to, verified_on,
       status_keberadaan, active, kode_desa, submission_id, submission_kind, round_id, submitted_by_kabkota,
       submitted_by_kabkota_name, audit.mask_file_name(file_name) AS file_name, file_row, file_sha256, suite_name,
       suite_version, merge_run_id, registered_by_run
FROM registry.record_lineage;

CREATE OR REPLACE VIEW registry.individual_masked AS
SELECT audit.mask_nik(nik) AS nik_masked, audit.mask_nik(no_kk) AS no_kk_masked,
       audit.name_initials(nama) AS nama_initials, hubungan_keluarga, kode_desa, kabkota_code, status_keberadaan,
       pkh, bpnt, pbi, active, last_verified_on, version_no, valid_from, submission_id, file_row
FROM registry.individual;

CREATE OR REPLACE VIEW registry.individual_version_masked AS
SELECT audit.mask_nik(nik) AS nik_masked, version_no, change_kind, audit.mask_nik(no_kk) AS no_kk_masked,
       audit.name_initials(nama) AS nama_initials, hubungan_keluarga, kode_desa, kabkota_code, status_keberadaan,
       pkh, bpnt, pbi, active, verified_on, valid_from, valid_to, submission_id, file_row, run_id, recorded_at
FROM registry.individual_version;

CREATE OR REPLACE VIEW registry.individual_event_masked AS
SELECT audit.mask_nik(nik) AS nik_masked, submission_id, file_row, event, version_no, verified_on,
       received_at, run_id
FROM registry.individual_event;

CREATE OR REPLACE VIEW registry.household_masked AS
SELECT audit.mask_nik(no_kk) AS no_kk_masked, kode_desa, kabkota_code, rt, rw, version_no, submission_id,
       file_row, valid_from
FROM registry.household;

CREATE OR REPLACE VIEW registry.household_version_masked AS
SELECT audit.mask_nik(no_kk) AS no_kk_masked, version_no, kode_desa, kabkota_code, rt, rw, valid_from,
       valid_to, submission_id, file_row, run_id
FROM registry.household_version;

CREATE OR REPLACE VIEW quarantine.row_issue_masked AS
SELECT submission_id, file_row, reason_code, severity, field,
       audit.mask_value_sent(field, value_sent) AS value_sent_masked,
       audit.scrub_identifiers(detail) AS detail
FROM quarantine.row_issue;

CREATE OR REPLACE VIEW quarantine.rejected_row_masked AS
SELECT submission_id, file_row,
       audit.mask_nik(row_data ->> 'nik') AS nik_masked,
       audit.mask_nik(row_data ->> 'no_kk') AS no_kk_masked,
       audit.name_initials(row_data ->> 'nama') AS nama_initials,
       audit.scrub_identifiers(row_data ->> 'kode_desa') AS kode_desa,
       audit.scrub_identifiers(row_data ->> 'status_keberadaan') AS status_keberadaan,
       quarantined_at, run_id
FROM quarantine.rejected_row;

CREATE OR REPLACE VIEW audit.submission_masked AS
SELECT submission_id, kind, round_id, kabkota_code, audit.mask_file_name(file_name) AS file_name, sha256,
       size_bytes, received_at, registered_at, registered_by_run, status, reject_reason,
       audit.scrub_identifiers(reject_detail) AS reject_detail, rows_in, rows_accepted, rows_quarantined,
       rows_warned, suite_name, suite_version, merged_at, landed_round_id, round_rule
FROM audit.submission;

CREATE OR REPLACE VIEW audit.duplicate_upload_masked AS
SELECT duplicate_id, duplicate_of, round_folder, kabkota_folder, audit.mask_file_name(file_name) AS file_name,
       sha256, size_bytes, received_at, registered_at, run_id
FROM audit.duplicate_upload;

-- The archive path in an 'archived' event carries the file name: shown as the masked name only
-- (without the folder and the archive's <sha256 prefix>__).
CREATE OR REPLACE VIEW audit.submission_event_masked AS
SELECT event_id, submission_id, event, at, run_id,
       CASE WHEN detail ? 'archive_path'
            THEN jsonb_set(detail, '{archive_path}',
                           to_jsonb(audit.mask_file_name(regexp_replace(detail ->> 'archive_path',
                                                                      '^.*/([0-9a-f]{16}__)?', ''))))
            ELSE detail END AS detail
FROM audit.submission_event;
