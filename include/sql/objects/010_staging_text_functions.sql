-- Text helpers of staging: blanks, whitespace, value keys and place-name keys.
--
-- Used by staging.submission_row_normalised (040), the village lookup by name (030), the
-- bulk COPY path of dtks (strip_text) and the value mapping (value_key).

-- A blank value (empty or spaces only) is no value.
CREATE OR REPLACE FUNCTION staging.blank_to_null(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT nullif(btrim(value), '') $$;

-- Trims exactly the characters Python's str.strip() trims, so a file COPYed
-- straight into the database (the bulk path for plain CSV) is staged with the
-- same values as one read by the Python parser.
CREATE OR REPLACE FUNCTION staging.strip_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(value, E' \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000')
$$;

-- What a value is matched by: its ASCII letters, upper case, and digits; case,
-- spaces and punctuation do not count ('Kep. Keluarga' = 'KEPKELUARGA').
-- The same function as dtks.value_mapping.value_key (a test compares them).
-- ASCII only: upper() would follow the database's locale.
CREATE OR REPLACE FUNCTION staging.value_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(translate(coalesce(value, ''), 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
                          '[^A-Z0-9]+', '', 'g')
$$;

-- A comparable key for a place name: upper case, apostrophes dropped, any
-- other run of non-alphanumerics one space.
CREATE OR REPLACE FUNCTION staging.place_key(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(btrim(regexp_replace(regexp_replace(upper(coalesce(value, '')), '[''`’]', '', 'g'),
                                       '[^A-Z0-9]+', ' ', 'g')), '')
$$;

-- The key without the administrative word a district may write in front
-- ("DESA SUKAMAJU", "KEC. GAMBIR", "PROVINSI JAWA TIMUR"). Only the district's
-- spelling is stripped; reference names are compared as they are.
CREATE OR REPLACE FUNCTION staging.place_key_stripped(value text, level text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(staging.place_key(value),
        CASE level
            WHEN 'provinsi'  THEN '^(PROVINSI|PROPINSI|PROV) '
            WHEN 'kecamatan' THEN '^(KECAMATAN|KEC) '
            WHEN 'desa'      THEN '^(DESA|KELURAHAN|KEL|DS) '
        END, '')
$$;

-- Kab/kota names carry their kind ("Kabupaten Malang", "Kota Malang"): the
-- base name and the kind are compared separately, and a kind the district
-- wrote must agree.
CREATE OR REPLACE FUNCTION staging.kabkota_base(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(staging.place_key(value),
        '^(KABUPATEN ADMINISTRASI|KAB ADM|KABUPATEN|KAB|KOTA ADMINISTRASI|KOTA ADM|KOTA) ', '')
$$;

CREATE OR REPLACE FUNCTION staging.kabkota_kind(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN staging.place_key(value) ~ '^(KABUPATEN|KAB) ' THEN 'kabupaten'
        WHEN staging.place_key(value) ~ '^KOTA ' THEN 'kota'
    END
$$;
