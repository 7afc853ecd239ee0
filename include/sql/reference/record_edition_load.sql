-- One load of a reference edition, for the audit trail
-- (dtks.reference.load_edition): which edition replaced which, who loaded it
-- and why if forced, what it added, retired and changed, how many persons and
-- households it re-coded, its lineage submission and the rounds it extended.
-- Returns its load_id.
-- Bound parameters: :e the edition, :on its effective date, :prev the previous
-- edition (NULL if none), :by who loaded it, :why the reason it was forced
-- (NULL if not), :a, :r and :c the added, retired and changed counts (JSON
-- text), :pr and :hr persons and households re-coded, :sid the lineage
-- submission (NULL if none), :rounds the rounds extended (text[]).
INSERT INTO ref.edition_load (edition, effective_on, previous_edition, loaded_by, forced_reason,
                              added, retired, changed, persons_recoded, households_recoded, submission_id,
                              rounds_extended)
VALUES (:e, :on, :prev, :by, :why, CAST(:a AS jsonb), CAST(:r AS jsonb), CAST(:c AS jsonb),
        :pr, :hr, :sid, :rounds)
RETURNING load_id
