"""The source's own ACLs in the SQL rule, with deny winning (issue 19).

For a source whose ``permissions_from`` is ``source``, the allow entries of a document's ACL add
their principals to ``principals`` (beside grants and flags), and its deny entries fill a second
column, ``denied``. A row is readable when ``principals`` overlaps the user's principals and
``denied`` does not. Knowledge admins hold only ``"*"``, which no ACL names, so no deny reaches
them. The same triggers keep both columns, on documents and chunks, in the same transaction as the
change; ACL rows get statement-level triggers, because a sync replaces a document's whole list.
"""

from importlib import import_module

from django.db import migrations

ACL_PRINCIPAL = """CASE WHEN a.user_id IS NOT NULL THEN 'u:' || a.user_id
                 WHEN a.group_id IS NOT NULL THEN 'g:' || a.group_id ELSE 'staff' END"""

# Entries count only where the source says permissions come from it; an entry mapping to nobody
# (no user, no group, not everyone) names no principal.
ACL_ENTRIES = """
            FROM knowledge_aclentry a
            JOIN knowledge_source s ON s.id = src_id AND s.permissions_from = 'source'
            WHERE a.document_id = doc_id AND a.allow = {allow}
              AND (a.user_id IS NOT NULL OR a.group_id IS NOT NULL OR a.everyone)"""

FUNCTIONS = f"""
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
            UNION ALL
            SELECT {ACL_PRINCIPAL} {ACL_ENTRIES.format(allow="true")}
        ) admitted
        ORDER BY p)
$$;

CREATE FUNCTION enclave_document_denied(doc_id bigint, src_id bigint) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT ARRAY(SELECT DISTINCT {ACL_PRINCIPAL} AS p {ACL_ENTRIES.format(allow="false")} ORDER BY p)
$$;

CREATE OR REPLACE FUNCTION enclave_refresh_principals(doc_id bigint, src_id bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE knowledge_document d
    SET principals = enclave_document_principals(d.id, d.source_id, d.visible_to_all_staff),
        denied = enclave_document_denied(d.id, d.source_id)
    WHERE (d.id = doc_id OR d.source_id = src_id)
      AND (d.principals IS DISTINCT FROM enclave_document_principals(d.id, d.source_id, d.visible_to_all_staff)
           OR d.denied IS DISTINCT FROM enclave_document_denied(d.id, d.source_id))
$$;

CREATE OR REPLACE FUNCTION enclave_document_set_principals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.principals := enclave_document_principals(NEW.id, NEW.source_id, NEW.visible_to_all_staff);
    NEW.denied := enclave_document_denied(NEW.id, NEW.source_id);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION enclave_document_propagate_principals() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE knowledge_chunk SET principals = NEW.principals, denied = NEW.denied WHERE document_id = NEW.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION enclave_chunk_set_principals() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    SELECT d.principals, d.denied INTO NEW.principals, NEW.denied
    FROM knowledge_document d WHERE d.id = NEW.document_id;
    NEW.principals := coalesce(NEW.principals, ARRAY[]::text[]);
    NEW.denied := coalesce(NEW.denied, ARRAY[]::text[]);
    RETURN NEW;
END $$;

CREATE FUNCTION enclave_acl_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enclave_refresh_principals(changed.document_id, NULL)
    FROM (SELECT document_id FROM acl_rows GROUP BY document_id) changed;
    RETURN NULL;
END $$;
"""  # noqa: S608 - built from this module's constants, no input

TRIGGERS = """
DROP TRIGGER document_propagate_principals ON knowledge_document;
CREATE TRIGGER document_propagate_principals AFTER UPDATE ON knowledge_document
    FOR EACH ROW WHEN (OLD.principals IS DISTINCT FROM NEW.principals OR OLD.denied IS DISTINCT FROM NEW.denied)
    EXECUTE FUNCTION enclave_document_propagate_principals();
DROP TRIGGER source_changed ON knowledge_source;
CREATE TRIGGER source_changed AFTER UPDATE ON knowledge_source
    FOR EACH ROW WHEN (OLD.visible_to_all_staff IS DISTINCT FROM NEW.visible_to_all_staff
                       OR OLD.permissions_from IS DISTINCT FROM NEW.permissions_from)
    EXECUTE FUNCTION enclave_source_changed();
-- One trigger per event: PostgreSQL allows a transition table only on a single-event trigger.
CREATE TRIGGER acl_inserted AFTER INSERT ON knowledge_aclentry
    REFERENCING NEW TABLE AS acl_rows FOR EACH STATEMENT EXECUTE FUNCTION enclave_acl_changed();
CREATE TRIGGER acl_deleted AFTER DELETE ON knowledge_aclentry
    REFERENCING OLD TABLE AS acl_rows FOR EACH STATEMENT EXECUTE FUNCTION enclave_acl_changed();
CREATE TRIGGER acl_updated AFTER UPDATE ON knowledge_aclentry
    REFERENCING NEW TABLE AS acl_rows FOR EACH STATEMENT EXECUTE FUNCTION enclave_acl_changed();
"""

READ = "principals && (SELECT enclave_user_principals()) AND NOT denied && (SELECT enclave_user_principals())"
POLICIES = f"""
DROP POLICY document_read ON knowledge_document;
CREATE POLICY document_read ON knowledge_document FOR SELECT USING ({READ});
DROP POLICY chunk_read ON knowledge_chunk;
CREATE POLICY chunk_read ON knowledge_chunk FOR SELECT USING ({READ});
"""


def _earlier(module: str, name: str) -> str:
    """SQL of an earlier migration, to put its function bodies back when this one is reversed."""
    return str(getattr(import_module(f"knowledge.migrations.{module}"), name))


def reverse_sql() -> str:
    rule_0002 = _earlier("0002_visibility_rule_in_sql", "FUNCTIONS").replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
    )
    return f"""
DROP POLICY document_read ON knowledge_document;
CREATE POLICY document_read ON knowledge_document FOR SELECT USING (principals && (SELECT enclave_user_principals()));
DROP POLICY chunk_read ON knowledge_chunk;
CREATE POLICY chunk_read ON knowledge_chunk FOR SELECT USING (principals && (SELECT enclave_user_principals()));
DROP TRIGGER acl_updated ON knowledge_aclentry;
DROP TRIGGER acl_deleted ON knowledge_aclentry;
DROP TRIGGER acl_inserted ON knowledge_aclentry;
DROP FUNCTION enclave_acl_changed();
DROP TRIGGER document_propagate_principals ON knowledge_document;
CREATE TRIGGER document_propagate_principals AFTER UPDATE ON knowledge_document
    FOR EACH ROW WHEN (OLD.principals IS DISTINCT FROM NEW.principals)
    EXECUTE FUNCTION enclave_document_propagate_principals();
DROP TRIGGER source_changed ON knowledge_source;
CREATE TRIGGER source_changed AFTER UPDATE ON knowledge_source
    FOR EACH ROW WHEN (OLD.visible_to_all_staff IS DISTINCT FROM NEW.visible_to_all_staff)
    EXECUTE FUNCTION enclave_source_changed();
{rule_0002}
{_earlier("0005_indexable_visibility_policy", "USER_PRINCIPALS")}
{_earlier("0005_indexable_visibility_policy", "DOCUMENT_PRINCIPALS")}
DROP FUNCTION enclave_document_denied(bigint, bigint);
"""  # noqa: S608 - earlier migrations' constants, no input


REFRESH = "UPDATE knowledge_document SET principals = principals;"


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0010_source_acls")]

    operations = [migrations.RunSQL(FUNCTIONS + TRIGGERS + POLICIES + REFRESH, reverse_sql())]
