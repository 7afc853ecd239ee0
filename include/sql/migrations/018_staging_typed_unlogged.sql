-- 018: staged rows normalised once, in unlogged tables (issue 15).
--
-- Until now staging.normalised_row was a view: every date parsed, every coded
-- word looked up in ref.value_alias, every village name matched, each time a
-- query read it (in validation and again in the merge). It is now a table of
-- typed rows, written once when the as-sent rows are staged (a trigger on
-- staging.submission_row, include/sql/objects/040_staging_normalised_row.sql), with the
-- same columns the view had. The as-sent rows stay in staging.submission_row:
-- the quarantine's value_sent and rejected_row keep the text as sent.
--
-- Both tables are UNLOGGED: staged rows are a working copy of an archived
-- file. After a crash PostgreSQL empties unlogged tables; audit.submission
-- still says the submission is staged or validated, and the pipeline stages
-- it again from the archive when it next touches it (dtks.staging.restage_if_lost).

ALTER TABLE staging.submission_row SET UNLOGGED;

-- The typed rows of the rows staged so far (a warehouse upgraded between stage and merge),
-- read through the view as it stood, then the view makes room for the table.
CREATE UNLOGGED TABLE staging.normalised_row_typed AS SELECT * FROM staging.normalised_row;
DROP VIEW staging.normalised_row;
ALTER TABLE staging.normalised_row_typed RENAME TO normalised_row;
ALTER TABLE staging.normalised_row ADD PRIMARY KEY (submission_id, file_row);

-- Staging again from the archive changes no state; it is an event of the submission's history.
ALTER TABLE audit.submission_event DROP CONSTRAINT submission_event_event_check;
ALTER TABLE audit.submission_event ADD CONSTRAINT submission_event_event_check
    CHECK (event IN ('received', 'staged', 'validated', 'merged', 'rejected', 'superseded', 'archived', 'restaged'));
