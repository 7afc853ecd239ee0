-- A reference edition (Kepmendagri codes) recorded as loaded
-- (dtks.reference.load_edition): its source and counts, reloaded in place if
-- it was loaded before.
-- Bound parameters: :e the edition name, :s its source, :p, :k, :c and :v the
-- numbers of provinces, kabkota, kecamatan and villages, :on its effective date.
INSERT INTO ref.edition (edition, source, provinces, kabkota, kecamatan, villages, effective_on)
VALUES (:e, :s, :p, :k, :c, :v, :on)
ON CONFLICT (edition) DO UPDATE SET
    loaded_at = now(), provinces = EXCLUDED.provinces, kabkota = EXCLUDED.kabkota,
    kecamatan = EXCLUDED.kecamatan, villages = EXCLUDED.villages, effective_on = EXCLUDED.effective_on
