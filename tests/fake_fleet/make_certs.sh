#!/bin/sh
# make_certs.sh DIR [DAYS]: a throwaway CA (DIR/ca.pem) and a server certificate for 127.0.0.1 and
# localhost signed by it (DIR/server.pem, DIR/server.key), for the fake Fleet API.
set -eu
d=$1
days=${2:-3}
mkdir -p "$d"
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -subj "/CN=fake-fleet test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
openssl x509 -req -sha256 -days "$days" -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
	-extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
chmod 600 "$d/ca.key" "$d/server.key"
