"""The image's HEALTHCHECK (web role): exit 0 when GET /healthz on this container answers 200.

Standard library only, so it starts in a few milliseconds. It asks as `localhost`, which must stay
in ENCLAVE_ALLOWED_HOSTS (Django answers 400 to a host it does not know). Redirects are not
followed: only a 200 is healthy.

    python deploy/healthcheck.py [URL]      (default http://127.0.0.1:8000/healthz)
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/healthz"
HEADERS = {"Host": "localhost"}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def healthy(url: str, timeout: float = 4.0) -> tuple[bool, str]:
    if not url.startswith(("http://", "https://")):
        return False, f"not an http(s) URL: {url}"
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(urllib.request.Request(url, headers=HEADERS), timeout=timeout) as response:  # noqa: S310
            return response.status == 200, f"{response.status} {response.read(200).decode(errors='replace')}"
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} {exc.read(200).decode(errors='replace')}"
    except OSError as exc:
        return False, str(exc)


def main(argv: list[str]) -> int:
    ok, detail = healthy(argv[1] if len(argv) > 1 else DEFAULT_URL)
    print(detail)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
