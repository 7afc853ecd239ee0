#!/usr/bin/env python3
"""Write .env for docker compose from .env.example, with fresh random secrets.

Every empty ``*_PASSWORD``, ``*_SECRET``, ``*_SECRET_KEY`` and ``*_FERNET_KEY`` value of
.env.example gets a new random value (hex for passwords, so they are safe inside
connection URLs; a real Fernet key; a 64-character JWT secret). Other values are
copied as they are; ``AIRFLOW_UID`` becomes the current user's uid on Linux.

  python3 deploy/make_env.py            # writes .env (refuses to overwrite one)
  python3 deploy/make_env.py --stdout   # prints instead

Standard library only: runs with any Python 3, outside the project's virtualenv.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = re.compile(r"^[A-Z0-9_]*(_PASSWORD|_SECRET|_SECRET_KEY|_FERNET_KEY)$")


def secret_value(key: str) -> str:
    if key.endswith("FERNET_KEY"):
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    if key.endswith("_SECRET"):
        return secrets.token_hex(32)  # 64 characters: the HS512 minimum
    return secrets.token_hex(24)


def render(example: str, uid: int | None = None) -> str:
    out = []
    for line in example.splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            key, value = match.groups()
            if not value and SECRET_KEY.match(key):
                line = f"{key}={secret_value(key)}"
            elif key == "AIRFLOW_UID" and uid is not None:
                line = f"{key}={uid}"
        out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", action="store_true", help="print instead of writing .env")
    parser.add_argument("--example", default=str(ROOT / ".env.example"))
    parser.add_argument("--out", default=str(ROOT / ".env"))
    args = parser.parse_args(argv)
    uid = os.getuid() if hasattr(os, "getuid") and os.getuid() != 0 else None
    text = render(Path(args.example).read_text(encoding="utf-8"), uid)
    if args.stdout:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    if out.exists():
        print(f"{out} exists: not overwritten (delete it first to start over)", file=sys.stderr)
        return 1
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {out} (mode 600) with fresh secrets; review it, then: docker compose up -d")
    return 0


if __name__ == "__main__":
    sys.exit(main())
