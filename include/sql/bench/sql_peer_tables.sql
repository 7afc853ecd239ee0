-- The benchmark's second peer (dtks/devtools/bench_peers.py): the tables of a
-- set-based SQL pipeline without GX, as a skilled team would write one. Its own
-- schema beside the warehouse: it reads only the reference tables (ref.*).
DROP SCHEMA IF EXISTS bench_peer CASCADE;
CREATE SCHEMA bench_peer;

-- One row per file COPYed: its district and the day it arrived.
CREATE TABLE bench_peer.file (
    file_id      integer PRIMARY KEY,
    kabkota_code text NOT NULL,
    received_on  date NOT NULL
);

-- The round's rows as sent (text), tagged with their file by the session
-- setting bench_peer.file_id (set before each COPY). Unlogged: the files are the record.
CREATE UNLOGGED TABLE bench_peer.round_row (
    file_id            integer NOT NULL DEFAULT current_setting('bench_peer.file_id')::integer,
    id_dtks text, no_kk text, nik text, nama text, jenis_kelamin text, tempat_lahir text, tanggal_lahir text,
    hubungan_keluarga text, nama_ibu_kandung text, alamat text, rt text, rw text, kode_desa text,
    status_keberadaan text, tanggal_verifikasi text, pkh text, bpnt text, pbi text
);

-- The current registry: one row per person, typed, no history.
CREATE TABLE bench_peer.person (
    nik                text PRIMARY KEY,
    no_kk              text NOT NULL,
    id_dtks            text,
    nama               text NOT NULL,
    jenis_kelamin      char(1) NOT NULL,
    tempat_lahir       text,
    tanggal_lahir      date NOT NULL,
    hubungan_keluarga  char(1) NOT NULL,
    nama_ibu_kandung   text,
    alamat             text,
    rt                 text,
    rw                 text,
    kode_desa          text NOT NULL,
    kabkota_code       text NOT NULL,
    status_keberadaan  char(1) NOT NULL,
    active             boolean NOT NULL,
    pkh                boolean,
    bpnt               boolean,
    pbi                boolean,
    last_verified_on   date NOT NULL,
    file_id            integer NOT NULL
);
CREATE INDEX ON bench_peer.person (no_kk);

-- Rows refused, as sent, with the rules they broke.
CREATE TABLE bench_peer.rejected_row (
    file_id  integer NOT NULL,
    row_data jsonb NOT NULL,
    reasons  text[] NOT NULL
);
