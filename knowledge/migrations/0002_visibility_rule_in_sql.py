"""The visibility rule in SQL: principals kept in step by triggers, and row-level security.

See knowledge/permissions.py for the rule and the principal vocabulary ("staff", "u:<id>",
"g:<id>"). Functions that write documents or chunks on someone's behalf are SECURITY DEFINER: they
run as the table owner, which row-level security does not restrict, so a grant change made by a
knowledge admin can refresh documents the admin's own policy would also allow, and a chunk insert
can read its document's principals.
"""

from django.db import migrations

FUNCTIONS = """
CREATE FUNCTION enclave_user_id() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('enclave.user_id', true), '')::bigint
$$;

CREATE FUNCTION enclave_sees_everything() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('enclave.system', true), '') = 'on'
        OR EXISTS (
            SELECT 1 FROM accounts_user u
            WHERE u.id = enclave_user_id() AND u.is_active
              AND (u.is_superuser OR u.role = 'knowledge_admin'))
$$;

CREATE FUNCTION enclave_user_principals() RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce((
        SELECT ARRAY['staff', 'u:' || u.id]
            || ARRAY(SELECT 'g:' || ug.group_id FROM accounts_user_groups ug WHERE ug.user_id = u.id)
        FROM accounts_user u
        WHERE u.id = enclave_user_id() AND u.is_active
    ), ARRAY[]::text[])
$$;

CREATE FUNCTION enclave_document_principals(doc_id bigint, src_id bigint, doc_all_staff boolean)
RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT ARRAY(
        SELECT DISTINCT p FROM (
            SELECT 'staff' AS p
            WHERE doc_all_staff
               OR EXISTS (SELECT 1 FROM knowledge_source s WHERE s.id = src_id AND s.visible_to_all_staff)
            UNION ALL
            SELECT CASE WHEN g.user_id IS NOT NULL THEN 'u:' || g.user_id ELSE 'g:' || g.group_id END
            FROM knowledge_grant g
            WHERE g.document_id = doc_id OR g.source_id = src_id
        ) admitted
        ORDER BY p)
$$;

-- Recompute documents (and, through the document trigger, their chunks) whose principals are stale.
CREATE FUNCTION enclave_refresh_principals(doc_id bigint, src_id bigint) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE knowledge_document d
    SET principals = enclave_document_principals(d.id, d.source_id, d.visible_to_all_staff)
    WHERE (d.id = doc_id OR d.source_id = src_id)
      AND d.principals IS DISTINCT FROM enclave_document_principals(d.id, d.source_id, d.visible_to_all_staff)
$$;

CREATE FUNCTION enclave_document_set_principals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.principals := enclave_document_principals(NEW.id, NEW.source_id, NEW.visible_to_all_staff);
    RETURN NEW;
END $$;

CREATE FUNCTION enclave_document_propagate_principals() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE knowledge_chunk SET principals = NEW.principals WHERE document_id = NEW.id;
    RETURN NULL;
END $$;

CREATE FUNCTION enclave_chunk_set_principals() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    NEW.principals := coalesce(
        (SELECT d.principals FROM knowledge_document d WHERE d.id = NEW.document_id), ARRAY[]::text[]);
    RETURN NEW;
END $$;

CREATE FUNCTION enclave_grant_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM enclave_refresh_principals(OLD.document_id, OLD.source_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM enclave_refresh_principals(NEW.document_id, NEW.source_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION enclave_source_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enclave_refresh_principals(NULL, NEW.id);
    RETURN NULL;
END $$;
"""

TRIGGERS = """
-- Every write recomputes: Django's save() sends the whole row, stale principals included.
CREATE TRIGGER document_set_principals BEFORE INSERT OR UPDATE ON knowledge_document
    FOR EACH ROW EXECUTE FUNCTION enclave_document_set_principals();
CREATE TRIGGER document_propagate_principals AFTER UPDATE ON knowledge_document
    FOR EACH ROW WHEN (OLD.principals IS DISTINCT FROM NEW.principals)
    EXECUTE FUNCTION enclave_document_propagate_principals();
CREATE TRIGGER chunk_set_principals BEFORE INSERT OR UPDATE ON knowledge_chunk
    FOR EACH ROW EXECUTE FUNCTION enclave_chunk_set_principals();
CREATE TRIGGER grant_changed AFTER INSERT OR UPDATE OR DELETE ON knowledge_grant
    FOR EACH ROW EXECUTE FUNCTION enclave_grant_changed();
CREATE TRIGGER source_changed AFTER UPDATE ON knowledge_source
    FOR EACH ROW WHEN (OLD.visible_to_all_staff IS DISTINCT FROM NEW.visible_to_all_staff)
    EXECUTE FUNCTION enclave_source_changed();
"""

# (SELECT f()) makes each function an InitPlan: evaluated once per statement, not once per row,
# and usable as a GIN index key for the principals overlap.
POLICIES = """
ALTER TABLE knowledge_document ENABLE ROW LEVEL SECURITY;
ALTER TABLE knowledge_chunk ENABLE ROW LEVEL SECURITY;

CREATE POLICY document_read ON knowledge_document FOR SELECT
    USING ((SELECT enclave_sees_everything()) OR principals && (SELECT enclave_user_principals()));
CREATE POLICY document_manage ON knowledge_document FOR ALL
    USING ((SELECT enclave_sees_everything())) WITH CHECK ((SELECT enclave_sees_everything()));

CREATE POLICY chunk_read ON knowledge_chunk FOR SELECT
    USING ((SELECT enclave_sees_everything()) OR principals && (SELECT enclave_user_principals()));
CREATE POLICY chunk_manage ON knowledge_chunk FOR ALL
    USING ((SELECT enclave_sees_everything())) WITH CHECK ((SELECT enclave_sees_everything()));
"""

REVERSE = """
DROP POLICY chunk_manage ON knowledge_chunk;
DROP POLICY chunk_read ON knowledge_chunk;
DROP POLICY document_manage ON knowledge_document;
DROP POLICY document_read ON knowledge_document;
ALTER TABLE knowledge_chunk DISABLE ROW LEVEL SECURITY;
ALTER TABLE knowledge_document DISABLE ROW LEVEL SECURITY;
DROP TRIGGER source_changed ON knowledge_source;
DROP TRIGGER grant_changed ON knowledge_grant;
DROP TRIGGER chunk_set_principals ON knowledge_chunk;
DROP TRIGGER document_propagate_principals ON knowledge_document;
DROP TRIGGER document_set_principals ON knowledge_document;
DROP FUNCTION enclave_source_changed();
DROP FUNCTION enclave_grant_changed();
DROP FUNCTION enclave_chunk_set_principals();
DROP FUNCTION enclave_document_propagate_principals();
DROP FUNCTION enclave_document_set_principals();
DROP FUNCTION enclave_refresh_principals(bigint, bigint);
DROP FUNCTION enclave_document_principals(bigint, bigint, boolean);
DROP FUNCTION enclave_user_principals();
DROP FUNCTION enclave_sees_everything();
DROP FUNCTION enclave_user_id();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS + TRIGGERS + POLICIES, REVERSE)]
