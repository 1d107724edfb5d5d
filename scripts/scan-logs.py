#!/usr/bin/env python3
"""No secret reaches a log line.

Reads the log files named on the command line (the servers' lines at debug
level, written while the integration suite ran: scripts/test.sh) and prints
every line that carries something shaped like a secret:

- a JWT (an access, ID or logout token);
- a long random token (refresh tokens, codes, links, client secrets,
  cookies, the master key: 32 or more characters of base64 mixing upper
  and lower case and digits, which ids and hashes in hex never do);
- a credential in a URL (smtp://user:password@, postgres://user:password@);
- an Authorization or Cookie header's value;
- a password the tests use (every `const ...PASSWORD...: &str = "..."` and
  `password: "..."` literal under tests/).

Exits 1 when it found any, 2 when a file is missing or empty (a scan of
nothing proves nothing), 0 otherwise. `--self-test` checks that each rule
fires on a planted line and stays quiet on ordinary ones.
"""

import pathlib
import re
import sys

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")
TOKEN = re.compile(r"(?<![A-Za-z0-9_+/-])[A-Za-z0-9_+/-]{32,}={0,2}(?![A-Za-z0-9_+/-])")
URL_CREDENTIAL = re.compile(r"\b(smtps?|postgres(?:ql)?|https?)://[^\s:@/]+:[^\s@/]+@")
HEADER = re.compile(r"(?i)\b(authorization|cookie|set-cookie)\b\"?\s*[:=]\s*\"?[A-Za-z0-9]")


def looks_random(word: str) -> bool:
    """Base64 of random bytes mixes cases and digits; a hex id, a route
    template or a Rust path does not."""
    return (
        any(c.isupper() for c in word)
        and any(c.islower() for c in word)
        and any(c.isdigit() for c in word)
        and "::" not in word
    )


def test_passwords(root: pathlib.Path) -> set[str]:
    found = set()
    literal = re.compile(
        r'(?:const\s+\w*PASSWORD\w*\s*:\s*&str\s*=|password\s*:)\s*"([^"]{8,})"'
    )
    for path in (root / "tests").rglob("*.rs"):
        for match in literal.finditer(path.read_text(errors="replace")):
            found.add(match.group(1))
    return found


def findings(line: str, passwords: set[str]) -> list[str]:
    found = []
    if JWT.search(line):
        found.append("a JWT")
    for match in TOKEN.finditer(line):
        if looks_random(match.group(0)):
            found.append(f"a random token ({match.group(0)[:6]}...)")
    if URL_CREDENTIAL.search(line):
        found.append("a credential in a URL")
    if HEADER.search(line):
        found.append("an Authorization or Cookie value")
    for password in passwords:
        if password in line:
            found.append(f"a test password ({password[:4]}...)")
    return found


def scan(files: list[str], passwords: set[str]) -> int:
    leaks = 0
    for name in files:
        path = pathlib.Path(name)
        if not path.is_file() or path.stat().st_size == 0:
            print(f"scan-logs: {name} is missing or empty: nothing was scanned", file=sys.stderr)
            return 2
        lines = 0
        with path.open(errors="replace") as log:
            for number, line in enumerate(log, 1):
                lines += 1
                for what in findings(line, passwords):
                    leaks += 1
                    if leaks <= 50:
                        print(f"{name}:{number}: {what}: {line.strip()[:300]}")
        print(f"scan-logs: {name}: {lines} lines read", file=sys.stderr)
    if leaks:
        print(f"scan-logs: {leaks} secret(s) in the logs", file=sys.stderr)
        return 1
    return 0


def self_test() -> int:
    passwords = {"correct horse battery staple"}
    planted = [
        'token="eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"',
        "refresh_token=Q2hvb3NlIGEgcmFuZG9tIHRva2VuIG9mIDMyIGJ5dGVz",
        "url=smtp://mailer:hunter2hunter2@mail.example.com",
        'headers={"authorization": "Basic ZGVtbzpzZWNyZXQ="}',
        "password correct horse battery staple",
        "key=3q2+7w8Xc1Lh9Zk0pQ4rT6uV8wY2zA4bC6dE8fG0hJ2=",
    ]
    quiet = [
        'request{id=0193a1b2c3d4e5f60718293a4b5c6d7e method=POST route=/a/{app_id}/token}: answered status=200',
        "hash=5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "oneauth::core::oidc::grants::refresh: rotated family",
        "e-mail sent id=01939f0e-7d2c-7b1a-9c55-3f1e2d4c5b6a kind=verification",
    ]
    ok = True
    for line in planted:
        if not findings(line, passwords):
            print(f"self-test: missed a secret in: {line}", file=sys.stderr)
            ok = False
    for line in quiet:
        if findings(line, passwords):
            print(f"self-test: flagged an ordinary line: {line}", file=sys.stderr)
            ok = False
    print("scan-logs self-test: " + ("passed" if ok else "FAILED"), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    if len(sys.argv) < 2:
        print("usage: scan-logs.py LOG_FILE... | --self-test", file=sys.stderr)
        sys.exit(2)
    root = pathlib.Path(__file__).resolve().parent.parent
    sys.exit(scan(sys.argv[1:], test_passwords(root)))
