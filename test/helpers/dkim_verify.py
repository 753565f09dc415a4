"""Verify every DKIM-Signature of a message (stdin) with dkimpy, Debian's python3-dkim: a verifier
we did not write. argv[1]: a JSON file {"<selector>._domainkey.<domain>": "<TXT value>"} standing in
for DNS. Prints a JSON list: one {selector, algorithm, ok} per signature."""
import json
import sys

import dkim


def main() -> None:
    records = json.load(open(sys.argv[1], encoding="utf-8"))
    message = sys.stdin.buffer.read()

    def dnsfunc(name, timeout=5):
        key = (name.decode() if isinstance(name, bytes) else name).rstrip(".").lower()
        value = records.get(key)
        return value.encode() if value else None

    d = dkim.DKIM(message)
    results = []
    signatures = [v for (k, v) in d.headers if k.lower() == b"dkim-signature"]
    for i, sig in enumerate(signatures):
        tags = dict(
            (p.split(b"=", 1)[0].strip().decode(), p.split(b"=", 1)[1].strip().decode())
            for p in sig.replace(b"\r\n", b"").split(b";")
            if b"=" in p
        )
        ok = dkim.DKIM(message).verify(idx=i, dnsfunc=dnsfunc)
        results.append({"selector": tags.get("s"), "algorithm": tags.get("a"), "domain": tags.get("d"), "ok": bool(ok)})
    print(json.dumps(results))


main()
