"""Parses an XML document with Python's xml.etree (a parser we did not write) and prints what the
published schemas require of it as JSON, or exits 1 with the parse error.

usage: xml_check.py autoconfig|autodiscover|mobileconfig < document.xml
"""
import json
import sys
import xml.etree.ElementTree as ET

kind = sys.argv[1]
raw = sys.stdin.buffer.read()
try:
    root = ET.fromstring(raw)
except ET.ParseError as e:
    print(f"parse error: {e}", file=sys.stderr)
    sys.exit(1)


def servers(provider, tag):
    out = []
    for s in provider.findall(tag):
        out.append({
            "type": s.get("type"),
            **{k: (s.findtext(k) or None) for k in ("hostname", "port", "socketType", "username", "authentication")},
        })
    return out


if kind == "autoconfig":
    # Thunderbird clientConfig 1.1: root clientConfig@version, emailProvider@id with domain,
    # displayName, displayShortName, incomingServer and outgoingServer with hostname, port,
    # socketType, username and authentication.
    p = root.find("emailProvider")
    print(json.dumps({
        "root": root.tag, "version": root.get("version"),
        "id": p.get("id") if p is not None else None,
        "domains": [d.text for d in p.findall("domain")] if p is not None else [],
        "displayName": p.findtext("displayName") if p is not None else None,
        "displayShortName": p.findtext("displayShortName") if p is not None else None,
        "incoming": servers(p, "incomingServer") if p is not None else [],
        "outgoing": servers(p, "outgoingServer") if p is not None else [],
    }))
elif kind == "autodiscover":
    ns = {"a": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
          "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
    resp = root.find("o:Response", ns)
    acct = resp.find("o:Account", ns) if resp is not None else None
    protos = []
    for p in (acct.findall("o:Protocol", ns) if acct is not None else []):
        protos.append({k: p.findtext(f"o:{k}", None, ns) for k in ("Type", "Server", "Port", "LoginName", "SSL", "Encryption", "AuthRequired")})
    print(json.dumps({
        "root": root.tag,
        "accountType": acct.findtext("o:AccountType", None, ns) if acct is not None else None,
        "action": acct.findtext("o:Action", None, ns) if acct is not None else None,
        "protocols": protos,
    }))
elif kind == "mobileconfig":
    import plistlib
    pl = plistlib.loads(raw)
    print(json.dumps({
        "PayloadType": pl.get("PayloadType"), "PayloadVersion": pl.get("PayloadVersion"),
        "PayloadUUID": pl.get("PayloadUUID"), "PayloadIdentifier": pl.get("PayloadIdentifier"),
        "accounts": [{k: v for k, v in c.items() if isinstance(v, (str, int, bool))} for c in pl.get("PayloadContent", [])],
    }))
else:
    sys.exit(f"unknown kind {kind}")
