-- 001: the warehouse's schemas and tables.
--
-- ref        Kemendagri region codes (reference data, reloadable per edition)
-- audit      rounds, submissions and their lifecycle, validation results, pipeline runs
-- staging    rows of a submission between COPY and merge
-- registry   current households and individuals, plus every historical version
-- quarantine rows that failed a check, with every reason
-- metrics    per-district / province / national figures per round

CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS audit;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS registry;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS metrics;

-- ---------------------------------------------------------------- reference
CREATE TABLE ref.edition (
    edition     text PRIMARY KEY,
    source      text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    provinces   integer NOT NULL,
    kabkota     integer NOT NULL,
    kecamatan   integer NOT NULL,
    villages    integer NOT NULL
);

CREATE TABLE ref.province (
    code        char(2) PRIMARY KEY,
    name        text NOT NULL,
    edition     text NOT NULL REFERENCES ref.edition,
    retired_in  text           -- edition in which the code disappeared; NULL while current
);

CREATE TABLE ref.kabkota (
    code          char(4) PRIMARY KEY,
    province_code char(2) NOT NULL REFERENCES ref.province,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('kabupaten', 'kota')),
    edition       text NOT NULL REFERENCES ref.edition,
    retired_in    text
);

CREATE TABLE ref.kecamatan (
    code         char(6) PRIMARY KEY,
    kabkota_code char(4) NOT NULL REFERENCES ref.kabkota,
    name         text NOT NULL,
    edition      text NOT NULL REFERENCES ref.edition,
    retired_in   text
);

CREATE TABLE ref.village (
    code           char(10) PRIMARY KEY,
    kecamatan_code char(6) NOT NULL REFERENCES ref.kecamatan,
    kabkota_code   char(4) NOT NULL REFERENCES ref.kabkota,
    name           text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('kelurahan', 'desa')),
    edition        text NOT NULL REFERENCES ref.edition,
    retired_in     text
);
CREATE INDEX village_kabkota_idx ON ref.village (kabkota_code);

-- ---------------------------------------------------------------- rounds
CREATE TABLE audit.round (
    round_id      text PRIMARY KEY CHECK (round_id ~ '^[0-9]{4}-[0-9]{2}$'),
    opens_on      date NOT NULL,
    cutoff_on     date NOT NULL,
    grace_days    integer NOT NULL DEFAULT 3 CHECK (grace_days >= 0),
    penetapan_on  date NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (opens_on <= cutoff_on AND cutoff_on <= penetapan_on)
);

-- The expected set is snapshotted when the round opens, so a district added
-- or removed later cannot push a reporting rate over 100% (the DHIS2 pitfall).
CREATE TABLE audit.round_expected_district (
    round_id     text NOT NULL REFERENCES audit.round,
    kabkota_code char(4) NOT NULL REFERENCES ref.kabkota,
    PRIMARY KEY (round_id, kabkota_code)
);

-- ---------------------------------------------------------------- pipeline runs
-- One row per finished task of a DAG run; inserted, never updated.
CREATE TABLE audit.task_run (
    task_run_id  bigserial PRIMARY KEY,
    run_id       text NOT NULL,
    dag_id       text NOT NULL,
    task_id      text NOT NULL,
    map_index    integer NOT NULL DEFAULT -1,
    round_id     text,
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('success', 'failed')),
    rows_in      bigint,
    rows_out     bigint,
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX task_run_run_idx ON audit.task_run (run_id);

-- ---------------------------------------------------------------- submissions
CREATE TABLE audit.submission (
    submission_id     bigserial PRIMARY KEY,
    kind              text NOT NULL DEFAULT 'district' CHECK (kind IN ('district', 'baseline')),
    round_id          text REFERENCES audit.round,
    kabkota_code      char(4) REFERENCES ref.kabkota,
    file_name         text NOT NULL,
    landing_path      text NOT NULL,
    archive_path      text,
    sha256            char(64) NOT NULL UNIQUE,   -- same content twice is a no-op
    size_bytes        bigint NOT NULL,
    received_at       timestamptz NOT NULL,       -- when the file landed (its mtime)
    registered_at     timestamptz NOT NULL DEFAULT now(),
    registered_by_run text NOT NULL,
    manifest          jsonb,
    status            text NOT NULL DEFAULT 'received'
                      CHECK (status IN ('received', 'staged', 'validated', 'merged', 'rejected', 'superseded')),
    reject_reason     text,                       -- reason code of a whole-file rejection
    reject_detail     text,                       -- district-readable detail (no personal data)
    rows_in           integer,
    rows_accepted     integer,
    rows_quarantined  integer,
    rows_warned       integer,
    suite_name        text,
    suite_version     text,
    merged_at         timestamptz
);
CREATE INDEX submission_round_idx ON audit.submission (round_id, kabkota_code);

-- The lifecycle of a submission, one timestamped row per step.
CREATE TABLE audit.submission_event (
    event_id      bigserial PRIMARY KEY,
    submission_id bigint NOT NULL REFERENCES audit.submission,
    event         text NOT NULL CHECK (event IN ('received', 'staged', 'validated', 'merged', 'rejected', 'superseded', 'archived')),
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    run_id        text NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX submission_event_sub_idx ON audit.submission_event (submission_id);

-- One row per expectation per submission.
CREATE TABLE audit.validation_result (
    submission_id     bigint NOT NULL REFERENCES audit.submission,
    suite_name        text NOT NULL,
    suite_version     text NOT NULL,
    expectation_type  text NOT NULL,
    reason_code       text NOT NULL,
    severity          text NOT NULL CHECK (severity IN ('critical', 'error', 'warning')),
    column_name       text,
    element_count     integer NOT NULL,
    unexpected_count  integer NOT NULL,
    success           boolean NOT NULL,
    run_id            text NOT NULL,
    validated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (submission_id, suite_name, reason_code)
);

-- ---------------------------------------------------------------- staging
-- Everything as sent (text), one row per data row of the file.
CREATE TABLE staging.submission_row (
    submission_id      bigint NOT NULL REFERENCES audit.submission,
    file_row           integer NOT NULL,   -- 1-based data row number in the file, header not counted
    id_dtks            text,
    no_kk              text,
    nik                text,
    nama               text,
    jenis_kelamin      text,
    tempat_lahir       text,
    tanggal_lahir      text,
    hubungan_keluarga  text,
    nama_ibu_kandung   text,
    alamat             text,
    rt                 text,
    rw                 text,
    kode_desa          text,
    status_keberadaan  text,
    tanggal_verifikasi text,
    pkh                text,
    bpnt               text,
    pbi                text,
    PRIMARY KEY (submission_id, file_row)
);

-- Dates as districts write them: YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY.
-- NULL when the text is not a real calendar date (checked, never guessed).
CREATE OR REPLACE FUNCTION staging.parse_date(value text) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := btrim(value);
BEGIN
    IF v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN to_date(v, 'YYYY-MM-DD');
    ELSIF v ~ '^[0-9]{2}[-/][0-9]{2}[-/][0-9]{4}$' THEN
        RETURN to_date(translate(v, '/', '-'), 'DD-MM-YYYY');
    END IF;
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN NULL;   -- e.g. 31-02-2020: not a date
END;
$$;

-- ---------------------------------------------------------------- registry
CREATE TABLE registry.household (
    no_kk           char(16) PRIMARY KEY,
    kode_desa       char(10) NOT NULL,
    kabkota_code    char(4) NOT NULL,
    alamat          text,
    rt              text,
    rw              text,
    version_no      integer NOT NULL,
    submission_id   bigint NOT NULL REFERENCES audit.submission,
    file_row        integer NOT NULL,
    valid_from      timestamptz NOT NULL
);
CREATE INDEX household_kabkota_idx ON registry.household (kabkota_code);

CREATE TABLE registry.household_version (
    no_kk           char(16) NOT NULL,
    version_no      integer NOT NULL,
    kode_desa       char(10) NOT NULL,
    kabkota_code    char(4) NOT NULL,
    alamat          text,
    rt              text,
    rw              text,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,            -- NULL: the current version
    submission_id   bigint NOT NULL REFERENCES audit.submission,
    file_row        integer NOT NULL,
    run_id          text NOT NULL,
    PRIMARY KEY (no_kk, version_no)
);

CREATE TABLE registry.individual (
    nik                char(16) PRIMARY KEY,
    no_kk              char(16) NOT NULL,
    id_dtks            text,
    nama               text NOT NULL,
    jenis_kelamin      char(1) NOT NULL,
    tempat_lahir       text,
    tanggal_lahir      date NOT NULL,
    hubungan_keluarga  text NOT NULL,
    nama_ibu_kandung   text,
    kode_desa          char(10) NOT NULL,
    kabkota_code       char(4) NOT NULL,
    status_keberadaan  text NOT NULL,
    pkh                boolean NOT NULL,
    bpnt               boolean NOT NULL,
    pbi                boolean NOT NULL,
    active             boolean NOT NULL,
    record_hash        text NOT NULL,        -- md5 of the attributes above; equal hash = confirmed
    last_verified_on   date NOT NULL,        -- last household visit that changed or confirmed the record
    version_no         integer NOT NULL,
    valid_from         timestamptz NOT NULL,
    submission_id      bigint NOT NULL REFERENCES audit.submission,
    file_row           integer NOT NULL
);
CREATE INDEX individual_kabkota_idx ON registry.individual (kabkota_code) WHERE active;
CREATE INDEX individual_kk_idx ON registry.individual (no_kk);

CREATE TABLE registry.individual_version (
    nik                char(16) NOT NULL,
    version_no         integer NOT NULL,
    change_kind        text NOT NULL CHECK (change_kind IN ('inserted', 'changed', 'deactivated', 'reactivated')),
    no_kk              char(16) NOT NULL,
    id_dtks            text,
    nama               text NOT NULL,
    jenis_kelamin      char(1) NOT NULL,
    tempat_lahir       text,
    tanggal_lahir      date NOT NULL,
    hubungan_keluarga  text NOT NULL,
    nama_ibu_kandung   text,
    kode_desa          char(10) NOT NULL,
    kabkota_code       char(4) NOT NULL,
    status_keberadaan  text NOT NULL,
    pkh                boolean NOT NULL,
    bpnt               boolean NOT NULL,
    pbi                boolean NOT NULL,
    active             boolean NOT NULL,
    record_hash        text NOT NULL,
    verified_on        date NOT NULL,
    valid_from         timestamptz NOT NULL,   -- the submission's received_at: logical time
    valid_to           timestamptz,            -- NULL: the current version
    submission_id      bigint NOT NULL REFERENCES audit.submission,
    file_row           integer NOT NULL,
    run_id             text NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (nik, version_no)
);
CREATE INDEX individual_version_asof_idx ON registry.individual_version (kabkota_code, valid_from);
CREATE INDEX individual_version_sub_idx ON registry.individual_version (submission_id);

-- Every time a submission touched a record, including confirmations (which
-- create no new version): the basis of coverage and record age.
CREATE TABLE registry.individual_event (
    nik            char(16) NOT NULL,
    submission_id  bigint NOT NULL REFERENCES audit.submission,
    file_row       integer NOT NULL,
    event          text NOT NULL CHECK (event IN ('inserted', 'changed', 'confirmed', 'deactivated', 'reactivated')),
    version_no     integer NOT NULL,
    verified_on    date NOT NULL,
    received_at    timestamptz NOT NULL,
    run_id         text NOT NULL,
    PRIMARY KEY (nik, submission_id)
);
CREATE INDEX individual_event_sub_idx ON registry.individual_event (submission_id);

-- ---------------------------------------------------------------- quarantine
-- The rejected row as sent, kept whole.
CREATE TABLE quarantine.rejected_row (
    submission_id  bigint NOT NULL REFERENCES audit.submission,
    file_row       integer NOT NULL,
    row_data       jsonb NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    run_id         text NOT NULL,
    PRIMARY KEY (submission_id, file_row)
);

-- Every reason a row failed (error) or was flagged (warning).
CREATE TABLE quarantine.row_issue (
    submission_id  bigint NOT NULL REFERENCES audit.submission,
    file_row       integer NOT NULL,
    reason_code    text NOT NULL,
    severity       text NOT NULL CHECK (severity IN ('error', 'warning')),
    field          text,
    value_sent     text,
    detail         text,
    PRIMARY KEY (submission_id, file_row, reason_code)
);

-- ---------------------------------------------------------------- metrics
CREATE TABLE metrics.district_round (
    round_id                 text NOT NULL REFERENCES audit.round,
    kabkota_code             char(4) NOT NULL,
    province_code            char(2) NOT NULL,
    kabkota_name             text NOT NULL,
    expected                 boolean NOT NULL,
    submitted                boolean NOT NULL,
    accepted                 boolean NOT NULL,
    submissions_received     integer NOT NULL,
    first_accepted_at        timestamptz,
    last_accepted_at         timestamptz,
    on_time                  boolean NOT NULL,
    days_late                integer,
    submission_lag_days      integer,
    active_records           integer NOT NULL,
    verified_12m             integer NOT NULL,
    verified_24m             integer NOT NULL,
    coverage_12m             numeric(6,4),
    coverage_24m             numeric(6,4),
    record_age_median_days   numeric(8,1),
    record_age_p90_days      numeric(8,1),
    rows_submitted           integer NOT NULL,
    rows_accepted            integer NOT NULL,
    acceptance_rate          numeric(6,4),
    missed_rounds            integer NOT NULL,
    updated_since_baseline   numeric(6,4),
    update_class             text NOT NULL CHECK (update_class IN ('never', 'under_50', '50_plus')),
    on_time_rate_12r         numeric(6,4),
    update_index             numeric(6,4),
    computed_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, kabkota_code)
);

CREATE TABLE metrics.province_round (
    round_id             text NOT NULL REFERENCES audit.round,
    province_code        char(2) NOT NULL,
    province_name        text NOT NULL,
    expected_districts   integer NOT NULL,
    submitted_districts  integer NOT NULL,
    accepted_districts   integer NOT NULL,
    on_time_districts    integer NOT NULL,
    reporting_rate       numeric(6,4),
    on_time_rate         numeric(6,4),
    active_records       integer NOT NULL,
    coverage_12m         numeric(6,4),
    coverage_24m         numeric(6,4),
    acceptance_rate      numeric(6,4),
    computed_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, province_code)
);

CREATE TABLE metrics.national_round (
    round_id             text PRIMARY KEY REFERENCES audit.round,
    expected_districts   integer NOT NULL,
    submitted_districts  integer NOT NULL,
    accepted_districts   integer NOT NULL,
    on_time_districts    integer NOT NULL,
    reporting_rate       numeric(6,4),
    on_time_rate         numeric(6,4),
    active_records       integer NOT NULL,
    coverage_12m         numeric(6,4),
    coverage_24m         numeric(6,4),
    acceptance_rate      numeric(6,4),
    computed_at          timestamptz NOT NULL DEFAULT now()
);
