-- 017: a confirmation no longer rewrites the person's wide current row
-- (issue 15, item 3).
--
-- About 85 % of a round's rows confirm a record unchanged. The merge used to
-- update registry.individual for each of them (a new copy of the whole row,
-- its index entries, its WAL) only to move last_verified_on. Now:
--
--   registry.individual_current       the person's current attributes, written
--                                     only when a version is (insert, change,
--                                     deactivation, reactivation, re-coding);
--   registry.individual_verification  one narrow row per person: the latest
--                                     verification date and whether a district
--                                     file ever verified them; a confirmation
--                                     moves only this row (its key never
--                                     changes and its pages keep room: the
--                                     update stays on the page, no index
--                                     entry is written);
--   registry.individual               the view of both, with the columns the
--                                     table had: every reader (lineage, the
--                                     masked view, the review queue, tests,
--                                     auditors' queries) is unchanged.
--
-- The confirmation itself is the append-only registry.individual_event row
-- the merge has always written; the coverage ledger (metrics.coverage_change,
-- migration 007) reads the old verification from the narrow row exactly as it
-- read it from the wide one.

CREATE TABLE registry.individual_verification (
    nik               char(16) PRIMARY KEY,
    last_verified_on  date NOT NULL,       -- the latest household visit that changed or confirmed the record
    by_district       boolean NOT NULL     -- a district file (not only the baseline) confirmed or changed it
) WITH (fillfactor = 50);
COMMENT ON TABLE registry.individual_verification IS
    'latest verification per person, moved by confirmations without rewriting registry.individual_current';

INSERT INTO registry.individual_verification (nik, last_verified_on, by_district)
SELECT nik, last_verified_on, verified_by_district FROM registry.individual;

-- the view that reads the columns that move (re-created as it was by
-- include/sql/objects/400_masked_views.sql, after the migrations)
DROP VIEW registry.individual_masked;

ALTER TABLE registry.individual RENAME TO individual_current;
ALTER TABLE registry.individual_current DROP COLUMN last_verified_on, DROP COLUMN verified_by_district;
ALTER INDEX registry.individual_pkey RENAME TO individual_current_pkey;
ALTER INDEX registry.individual_kabkota_idx RENAME TO individual_current_kabkota_idx;
ALTER INDEX registry.individual_kk_idx RENAME TO individual_current_kk_idx;
COMMENT ON TABLE registry.individual_current IS
    'the current version of each person; the latest verification is in registry.individual_verification';

-- The view registry.individual (include/sql/objects/250_registry_individual.sql)
-- and the views over it are re-created by the object files after this migration.

-- Lineage errors name the relation people write to (registry.individual), not
-- the table behind the view: the trigger passes that name
-- (audit.require_known_submission, include/sql/objects/100_audit_trail_guards.sql).
DROP TRIGGER individual_known_submission_insert ON registry.individual_current;
DROP TRIGGER individual_known_submission_update ON registry.individual_current;
CREATE TRIGGER individual_known_submission_insert AFTER INSERT ON registry.individual_current
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT
    EXECUTE FUNCTION audit.require_known_submission('registry.individual');
CREATE TRIGGER individual_known_submission_update AFTER UPDATE ON registry.individual_current
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT
    EXECUTE FUNCTION audit.require_known_submission('registry.individual');
