"""One question end to end against a running Enclave, as a person would ask it in the page.

Signs in with the login form, asks, reads the answer's server-sent events as they arrive, and
prints when the first token came, when the answer finished, what it said and what it cited.
Exits non-zero if anything on the way fails. Used by deploy/smoke.sh (production settings:
uvicorn, a worker and beat on Redis) and usable against any deployment:

    .venv/bin/python deploy/smoke.py --url https://enclave.example.com --user alice --password-file pw.txt
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="alice")
    parser.add_argument("--password-file", type=Path, help="default: the demo password from var/demo-users.txt")
    parser.add_argument("--question", default="How many days of annual leave do I get?")
    args = parser.parse_args()
    if urllib.parse.urlsplit(args.url).scheme not in ("http", "https"):
        raise SystemExit("--url must be an http:// or https:// address.")
    password = demo_password(args.user, args.password_file)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    sign_in(opener, args.url, args.user, password)
    verdict, _ = ask_and_read(opener, args.url, args.question, report=True)
    return 0 if verdict not in ("", "error") else 1


def demo_password(user: str, password_file: Path | None) -> str:
    if password_file is not None:
        return password_file.read_text().strip()
    for line in Path("var/demo-users.txt").read_text().splitlines():
        if line.split()[:1] == [user]:
            return line.split()[1]
    raise SystemExit(f"No password for {user} in var/demo-users.txt; pass --password-file.")


def _csrf_token(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not found:
        raise SystemExit("The sign-in page has no CSRF token.")
    return found.group(1)


def sign_in(opener: urllib.request.OpenerDirector, url: str, user: str, password: str) -> None:
    login = f"{url}/accounts/login/"
    token = _csrf_token(opener.open(login, timeout=30).read().decode())
    form = urllib.parse.urlencode({"username": user, "password": password, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(login, data=form.encode(), headers={"Referer": login})  # noqa: S310 - http(s) only, checked in main()
    landed = opener.open(request, timeout=30)
    if "/accounts/login" in landed.geturl():
        raise SystemExit(f"Signing in as {user} failed.")
    print(f"signed in as {user}")


def ask_and_read(
    opener: urllib.request.OpenerDirector, url: str, question: str, *, report: bool = False
) -> tuple[str, float]:
    """Ask as the page does and read the answer to its end; returns its verdict and the seconds taken."""
    page = opener.open(f"{url}/", timeout=30).read().decode()
    form = urllib.parse.urlencode({"question": question, "csrfmiddlewaretoken": _csrf_token(page)}).encode()
    asked_at = time.monotonic()
    request = urllib.request.Request(f"{url}/chat/ask", data=form, headers={"Referer": f"{url}/"})  # noqa: S310 - http(s) only
    started = json.loads(opener.open(request, timeout=30).read())
    first_token, done = None, None
    with opener.open(f"{url}{started['stream']}", timeout=600) as stream:
        kind = ""
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "token" and first_token is None:
                first_token = time.monotonic() - asked_at
            elif line.startswith("data: ") and kind in ("done", "error"):
                done = json.loads(line.removeprefix("data: "))
                break
    total = time.monotonic() - asked_at
    if report:
        print(f"question: {question}")
        print(f"first token after {first_token:.1f} s" if first_token is not None else "no token streamed")
        print(f"finished after {total:.1f} s: {json.dumps(done, ensure_ascii=False)}")
    return (str(done.get("verdict", "error")) if done else ""), total


if __name__ == "__main__":
    sys.exit(main())
