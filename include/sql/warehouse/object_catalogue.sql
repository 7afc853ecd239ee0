-- Everything in the warehouse's own schemas that an object file could drop by cascading
-- (relations, functions, columns, triggers, constraints), and every privilege on it: one row
-- an object (privilege NULL) and one row a privilege. dtks.warehouse.apply_objects compares
-- it before and after the object files run. No bound parameters.
WITH ours AS (
    SELECT oid FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp)'
), acl AS (
    SELECT 'relation ' || c.oid::regclass::text AS object, coalesce(c.relacl, acldefault('r', c.relowner)) AS acl
    FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text, coalesce(p.proacl, acldefault('f', p.proowner))
    FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM ours)
    UNION ALL
    SELECT 'column ' || a.attrelid::regclass::text || '.' || quote_ident(a.attname), a.attacl
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace IN (SELECT oid FROM ours) AND a.attnum > 0 AND NOT a.attisdropped
)
SELECT object, NULL::text FROM acl
UNION ALL
SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text, NULL
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relnamespace IN (SELECT oid FROM ours)
UNION ALL
SELECT 'constraint ' || k.conname || ' on ' || k.conrelid::regclass::text, NULL
FROM pg_constraint k WHERE k.connamespace IN (SELECT oid FROM ours) AND k.conrelid <> 0
UNION ALL
SELECT acl.object, CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE x.grantee::regrole::text END || ':' || x.privilege_type
FROM acl CROSS JOIN LATERAL aclexplode(acl.acl) x
