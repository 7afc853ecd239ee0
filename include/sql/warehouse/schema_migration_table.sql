-- The migration runner's own record (dtks.warehouse.migrate, before the
-- numbered migrations): one row per migration applied, with the sha256 of its
-- text, so an applied migration that was edited later is refused.
-- No bound parameters.
CREATE TABLE IF NOT EXISTS public.schema_migration (
    version    text PRIMARY KEY,
    name       text NOT NULL,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
