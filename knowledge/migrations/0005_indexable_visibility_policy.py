"""Make the row-level security read policy usable by the GIN index on principals.

The first policies read "sees everything OR principals overlap"; PostgreSQL cannot answer an OR
with a non-indexable arm from the index, so under RLS every search scanned the whole chunk table
(973 ms for a narrow user at a million chunks, against 2 ms with the index). Now every document
and chunk also carries the principal "*", which is what knowledge admins and the system context
hold, so the read policy is one indexable overlap. Writes keep their own policies, per command,
so that none of them is OR-ed into reads.
"""

from django.db import migrations

USER_PRINCIPALS = """
CREATE OR REPLACE FUNCTION enclave_user_principals() RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN enclave_sees_everything() THEN ARRAY['*'] ELSE coalesce((
        SELECT ARRAY['staff', 'u:' || u.id]
            || ARRAY(SELECT 'g:' || ug.group_id FROM accounts_user_groups ug WHERE ug.user_id = u.id)
        FROM accounts_user u
        WHERE u.id = enclave_user_id() AND u.is_active
    ), ARRAY[]::text[]) END
$$;
"""

DOCUMENT_PRINCIPALS = """
CREATE OR REPLACE FUNCTION enclave_document_principals(doc_id bigint, src_id bigint, doc_all_staff boolean)
RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT ARRAY(
        SELECT DISTINCT p FROM (
            SELECT '*' AS p
            UNION ALL
            SELECT 'staff'
            WHERE doc_all_staff
               OR EXISTS (SELECT 1 FROM knowledge_source s WHERE s.id = src_id AND s.visible_to_all_staff)
            UNION ALL
            SELECT CASE WHEN g.user_id IS NOT NULL THEN 'u:' || g.user_id ELSE 'g:' || g.group_id END
            FROM knowledge_grant g
            WHERE g.document_id = doc_id OR g.source_id = src_id
        ) admitted
        ORDER BY p)
$$;
"""

ADMIN = "(SELECT enclave_sees_everything())"


def policies(table: str, prefix: str) -> str:
    return f"""
DROP POLICY {prefix}_read ON {table};
DROP POLICY {prefix}_manage ON {table};
CREATE POLICY {prefix}_read ON {table} FOR SELECT USING (principals && (SELECT enclave_user_principals()));
CREATE POLICY {prefix}_insert ON {table} FOR INSERT WITH CHECK ({ADMIN});
CREATE POLICY {prefix}_update ON {table} FOR UPDATE USING ({ADMIN}) WITH CHECK ({ADMIN});
CREATE POLICY {prefix}_delete ON {table} FOR DELETE USING ({ADMIN});
"""


def old_policies(table: str, prefix: str) -> str:
    return f"""
DROP POLICY {prefix}_read ON {table};
DROP POLICY {prefix}_insert ON {table};
DROP POLICY {prefix}_update ON {table};
DROP POLICY {prefix}_delete ON {table};
CREATE POLICY {prefix}_read ON {table} FOR SELECT
    USING ({ADMIN} OR principals && (SELECT enclave_user_principals()));
CREATE POLICY {prefix}_manage ON {table} FOR ALL USING ({ADMIN}) WITH CHECK ({ADMIN});
"""


# Recompute every document's principals (the BEFORE trigger does it) and, through the AFTER
# trigger, its chunks'. Runs as the table owner, which row-level security does not restrict.
REFRESH = "UPDATE knowledge_document SET principals = principals;"


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0004_source_config_help")]

    operations = [
        migrations.RunSQL(
            USER_PRINCIPALS
            + DOCUMENT_PRINCIPALS
            + policies("knowledge_document", "document")
            + policies("knowledge_chunk", "chunk")
            + REFRESH,
            old_policies("knowledge_document", "document") + old_policies("knowledge_chunk", "chunk"),
        )
    ]
