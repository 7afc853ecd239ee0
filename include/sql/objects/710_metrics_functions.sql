-- Metrics helpers: percentiles from the coverage ledger's histograms (metrics_district_round.sql).

-- percentile_cont(fraction) of a multiset given as sorted distinct values
-- and their counts: the same interpolation as PostgreSQL's percentile_cont
-- (position fraction * (n - 1), linear between its neighbours).
CREATE OR REPLACE FUNCTION metrics.histogram_percentile(fraction float8, vals float8[], counts bigint[])
RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    total bigint := 0;
    pos float8;
    first_row bigint;
    second_row bigint;
    first_val float8;
    second_val float8;
    seen bigint := 0;
BEGIN
    SELECT sum(c) INTO total FROM unnest(counts) c;
    IF total IS NULL OR total = 0 THEN
        RETURN NULL;
    END IF;
    pos := fraction * (total - 1);
    first_row := floor(pos);
    second_row := ceil(pos);
    FOR i IN 1 .. coalesce(array_length(vals, 1), 0) LOOP
        IF first_val IS NULL AND first_row < seen + counts[i] THEN
            first_val := vals[i];
        END IF;
        IF second_row < seen + counts[i] THEN
            second_val := vals[i];
            EXIT;
        END IF;
        seen := seen + counts[i];
    END LOOP;
    IF first_row = second_row THEN
        RETURN first_val;
    END IF;
    RETURN first_val + (second_val - first_val) * (pos - first_row);
END;
$$;
