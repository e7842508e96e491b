"""A real OpenLDAP server for the sign-in tests: Debian's slapd (`make ldap`), started in a
temporary directory on free ports, with a generated slapd.conf (mdb backend, the core, cosine,
inetorgperson and nis schemas, the memberof overlay), a self-signed certificate for StartTLS and
LDAPS, access rules that let only signed-in accounts search, and a small company loaded with
ldapadd:

    people: dana (engineering, knowledge-admins), erin (platform, which is a member of
            engineering), frank (no groups), root (the same name as a local break-glass admin)
    cn=enclave,ou=services: the search account Enclave binds as
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import ldap

BASE = "dc=example,dc=com"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "slapd-root-secret"
SEARCH_DN = f"cn=enclave,ou=services,{BASE}"
SEARCH_PASSWORD = "search-account-secret"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
PASSWORDS = {"dana": "dana-pw-1", "erin": "erin-pw-1", "frank": "frank-pw-1", "root": "root-ldap-pw"}
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def person_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def group_dn(cn: str) -> str:
    return f"cn={cn},{GROUPS}"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # the server's self-signed certificate, which is also the CA file that trusts it
    key: Path
    other_ca: Path  # a certificate that did not sign the server's: a misconfigured CA file


@dataclass
class Slapd:
    url: str  # ldap://127.0.0.1:<port>/ (StartTLS offered when the server has a certificate)
    ldaps_url: str  # ldaps://127.0.0.1:<port>/ ("" without a certificate)
    tls: TlsFiles | None
    process: subprocess.Popen[bytes]
    log: Path

    def admin(self) -> ldap.ldapobject.LDAPObject:
        connection = ldap.initialize(self.url)
        connection.simple_bind_s(ADMIN_DN, ADMIN_PASSWORD)
        return connection

    def member_remove(self, group: str, member_dn: str) -> None:
        self.admin().modify_s(group_dn(group), [(ldap.MOD_DELETE, "member", [member_dn.encode()])])

    def member_add(self, group: str, member_dn: str) -> None:
        self.admin().modify_s(group_dn(group), [(ldap.MOD_ADD, "member", [member_dn.encode()])])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def tls_files_make(directory: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 (and another, unrelated one) made with openssl."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("server", "other"):
        subprocess.run(
            [
                str(shutil.which("openssl")),
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                f"/CN=127.0.0.1 {name}",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
                str(directory / f"{name}.key"),
                "-out",
                str(directory / f"{name}.pem"),
            ],
            check=True,
            capture_output=True,
        )
    return TlsFiles(cert=directory / "server.pem", key=directory / "server.key", other_ca=directory / "other.pem")


def slapd_start(directory: Path, tls: TlsFiles | None) -> Slapd:
    """Start slapd on free ports (ldap:// with StartTLS and ldaps://, or without ``tls`` only a
    plain ldap:// that offers no TLS at all) and load the company."""
    slapd = shutil.which("slapd") or "/usr/sbin/slapd"
    if not Path(slapd).exists():
        raise RuntimeError("slapd is not installed: run `make ldap` (Debian's slapd and ldap-utils)")
    (directory / "data").mkdir(parents=True)
    config = directory / "slapd.conf"
    config.write_text(_slapd_conf(directory, tls), encoding="utf-8")
    port = _free_port()
    url = f"ldap://127.0.0.1:{port}/"
    ldaps_url = f"ldaps://127.0.0.1:{_free_port()}/" if tls else ""
    log = directory / "slapd.log"
    with log.open("wb") as out:
        # -d 0: stay in the foreground (so the test owns the process) and log nothing extra.
        listen = f"{url} {ldaps_url}".strip()
        process = subprocess.Popen([slapd, "-d", "0", "-h", listen, "-f", str(config)], stderr=out)
    server = Slapd(url=url, ldaps_url=ldaps_url, tls=tls, process=process, log=log)
    try:
        _wait_until_listening(server, port)
        _load(server)
    except BaseException:
        server.stop()
        raise
    return server


def _slapd_conf(directory: Path, tls: TlsFiles | None) -> str:
    schemas = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    certificate = f"TLSCertificateFile {tls.cert}\nTLSCertificateKeyFile {tls.key}" if tls else ""
    return f"""{schemas}
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {directory}/slapd.pid
argsfile {directory}/slapd.args
{certificate}

database mdb
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {directory}/data
maxsize 16777216

# memberOf on each person, kept by slapd as groupOfNames change (the memberof group type reads it).
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

# As a company directory would: passwords are only for binding, and only signed-in accounts read.
access to attrs=userPassword
    by anonymous auth
    by * none
access to *
    by users read
    by * none
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(server: Slapd, port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"slapd stopped at start:\n{server.log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("slapd did not start listening within 15 s")


def _load(server: Slapd) -> None:
    subprocess.run(
        [str(shutil.which("ldapadd")), "-x", "-H", server.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD],
        input=_company_ldif().encode(),
        check=True,
        capture_output=True,
    )


def _company_ldif() -> str:
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services",
        f"dn: {SEARCH_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\n"
        f"cn: enclave\nuserPassword: {SEARCH_PASSWORD}",
    ]
    names = {"dana": ("Dana", "Scully"), "erin": ("Erin", "Hannon"), "frank": ("Frank", "Drebin"), "root": ("Ro", "Ot")}
    for uid, (given, family) in names.items():
        entries.append(
            f"dn: {person_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {family}\n"
            f"givenName: {given}\nsn: {family}\nmail: {uid}@example.com\nuserPassword: {PASSWORDS[uid]}"
        )
    # Members before the groups that hold them: platform before engineering.
    groups = {
        "platform": [person_dn("erin")],
        "engineering": [person_dn("dana"), group_dn("platform")],
        "knowledge-admins": [person_dn("dana")],
    }
    for cn, members in groups.items():
        lines = "\n".join(f"member: {member}" for member in members)
        entries.append(f"dn: {group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}")
    return "\n\n".join(entries) + "\n"
