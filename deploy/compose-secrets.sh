#!/usr/bin/env bash
# Writes the secrets that deploy/compose.yaml mounts into deploy/secrets/, with random values:
#
#   secret_key           Django's signing key (SECRET_KEY)
#   postgres_password    the database superuser's password (used by the db container only)
#   database_owner_url   the owner role, which runs migrations (ENCLAVE_DATABASE_OWNER_URL)
#   database_url         the runtime role of web, worker and beat (DATABASE_URL)
#
# A file that exists is kept, so running this again changes nothing. The database reads the two
# URLs only when its volume is first created: change a password later in PostgreSQL too.
set -euo pipefail

dir="$(dirname "$(readlink -f "$0")")/secrets"

random_hex() { # hex needs no escaping in a URL
    od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

write() { # NAME VALUE
    if [[ -e "$dir/$1" ]]; then
        echo "kept    $dir/$1"
    else
        printf '%s\n' "$2" >"$dir/$1"
        # Readable by all: compose mounts the file as it is, and the containers run as their own
        # users (postgres, uid 10001). The directory keeps everyone else out.
        chmod 0644 "$dir/$1"
        echo "created $dir/$1"
    fi
}

mkdir -p "$dir"
chmod 0700 "$dir"
write secret_key "$(random_hex 32)"
write postgres_password "$(random_hex 24)"
write database_owner_url "postgresql://enclave:$(random_hex 24)@db:5432/enclave"
write database_url "postgresql://enclave_app:$(random_hex 24)@db:5432/enclave"
