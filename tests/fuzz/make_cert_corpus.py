#!/usr/bin/env python3
"""Writes tests/fuzz/corpus/cert_fuzzer/ from the fleet-dev fixture's issued certificates (the
certificate_pem strings of its INSERTs) plus variants: cut, CRLF, no AKI, garbage. Run from the
repository root with ../shared beside it: python3 tests/fuzz/make_cert_corpus.py"""
import os
import re
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
shared = os.environ.get("FCA_SHARED_DIR", os.path.join(root, "..", "shared"))
sql = open(os.path.join(shared, "fleet", "fixtures", "fleet-dev", "fleet-dev.sql")).read()
pems = re.findall(r"'(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?)'", sql, re.S)
if not pems:
    sys.exit("no certificates found in fleet-dev.sql")
out = os.path.join(root, "tests", "fuzz", "corpus", "cert_fuzzer")
os.makedirs(out, exist_ok=True)
samples = {}
for i, p in enumerate(pems[::8]):
    samples["fixture-%02d.pem" % i] = p
p = pems[0]
samples["cut-in-body.pem"] = p[: len(p) // 2]
samples["crlf.pem"] = p.replace("\n", "\r\n")
samples["one-line-body.pem"] = p.split("\n")[0] + "\n" + "".join(p.split("\n")[1:-2]) + "\n" + p.split("\n")[-2] + "\n"
samples["flipped-char.pem"] = p[:100] + ("A" if p[100] != "A" else "B") + p[101:]
samples["garbage.pem"] = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"
samples["empty.pem"] = ""
# the fast path's line-at-a-time decoder: widths it takes and widths it leaves to OpenSSL, line ends,
# stray whitespace, blank lines, padding before the end, no newline after END, cuts inside a line
lines = p.split("\n")
body = "".join(lines[1:-2])


def wrap(width, eol="\n", tail="\n"):
    rows = [body[i:i + width] for i in range(0, len(body), width)]
    return lines[0] + eol + "".join(r + eol for r in rows) + lines[-2] + tail


for w in (4, 48, 76, 65, 77):
    samples["wrap-%d.pem" % w] = wrap(w)
samples["mixed-eol.pem"] = "".join(l + ("\r\n" if i % 2 else "\n") for i, l in enumerate(lines[:-1]))
samples["blank-line-in-body.pem"] = "\n".join(lines[:5] + [""] + lines[5:])
samples["space-at-line-end.pem"] = "\n".join(lines[:3] + [lines[3] + " "] + lines[4:])
samples["cr-cr-lf.pem"] = "\n".join(lines[:3] + [lines[3] + "\r\r"] + lines[4:])
samples["padding-then-more.pem"] = "\n".join(lines[:4] + ["AA=="] + lines[4:])
samples["no-newline-after-end.pem"] = p.rstrip("\n")
samples["cut-mid-line.pem"] = p[: len(lines[0]) + 1 + 3 * 65 + 10]
key = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", "/dev/null", "-subj", "/CN=no-aki", "-days", "1", "-addext",
                      "authorityKeyIdentifier=none", "-addext", "subjectKeyIdentifier=none"],
                     capture_output=True, text=True, check=True).stdout
samples["no-aki.pem"] = key
for name, body in samples.items():
    with open(os.path.join(out, name), "w", newline="") as f:
        f.write(body)
print("%d files in %s" % (len(samples), os.path.relpath(out, root)))
