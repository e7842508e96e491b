#!/usr/bin/env bash
# Creates Enclave's two database roles. The official postgres image runs the files in
# /docker-entrypoint-initdb.d/ once, when its data volume is first created, as the superuser.
#
#   owner    (ENCLAVE_DATABASE_OWNER_URL) owns the database and the tables; `migrate` runs as it
#   runtime  (DATABASE_URL) web, worker, beat: no superuser, no BYPASSRLS, owns nothing, so
#            PostgreSQL's row-level security applies to every query it runs
#
# The roles, passwords and database name come from the same URLs the app is given (as NAME or as
# NAME_FILE, a mounted secret), so each password is written in one place only.
set -euo pipefail

fail() {
    echo "init-roles: $*" >&2
    exit 1
}

secret() { # NAME -> the value of NAME, or the contents of the file that NAME_FILE names
    local name=$1 file_name="${1}_FILE"
    if [[ -n "${!file_name:-}" ]]; then
        tr -d '\r\n' <"${!file_name}"
    elif [[ -n "${!name:-}" ]]; then
        printf '%s' "${!name}"
    else
        fail "$name (or $file_name) is not set"
    fi
}

percent_decode() {
    printf '%b' "${1//%/\\x}"
}

# postgresql://USER:PASSWORD@HOST:PORT/DATABASE?OPTIONS, split as Python's urlsplit does (the
# settings read the same URL): the last @ ends the user part, the first : in it ends the user.
parse_url() { # NAME URL -> url_user, url_password, url_database
    local name=$1 rest=${2#*://} userinfo path
    [[ $2 == postgres://* || $2 == postgresql://* ]] || fail "$name must start with postgresql://"
    [[ $rest == *@* ]] || fail "$name names no user"
    userinfo=${rest%@*}
    rest=${rest##*@}
    [[ $userinfo == *:* ]] || fail "$name has no password"
    [[ $rest == */* ]] || fail "$name names no database"
    path=${rest#*/}
    url_user=$(percent_decode "${userinfo%%:*}")
    url_password=$(percent_decode "${userinfo#*:}")
    url_database=$(percent_decode "${path%%\?*}")
    [[ -n $url_user && -n $url_password && -n $url_database ]] || fail "$name lacks a user, password or database"
}

parse_url ENCLAVE_DATABASE_OWNER_URL "$(secret ENCLAVE_DATABASE_OWNER_URL)"
owner=$url_user owner_password=$url_password database=$url_database
parse_url DATABASE_URL "$(secret DATABASE_URL)"
app=$url_user app_password=$url_password
[[ $url_database == "$database" ]] || fail "DATABASE_URL and ENCLAVE_DATABASE_OWNER_URL name different databases"
[[ $database == "${POSTGRES_DB:?}" ]] || fail "the URLs name database $database, but POSTGRES_DB is $POSTGRES_DB"
[[ $owner != "$app" ]] || fail "the runtime role must not be the owner role, or row-level security does not apply"
[[ $app != "${POSTGRES_USER:?}" && $owner != "$POSTGRES_USER" ]] || fail "use roles other than the superuser $POSTGRES_USER"

# psql quotes the :"identifiers" and :'literals' itself.
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v owner="$owner" -v owner_password="$owner_password" \
    -v app="$app" -v app_password="$app_password" -v database="$database" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
ALTER DATABASE :"database" OWNER TO :"owner";
\connect :"database"
-- The extension needs a superuser to create; migrations then find it in place.
CREATE EXTENSION IF NOT EXISTS vector;
SQL
echo "init-roles: $owner owns database $database; $app is the runtime role"
