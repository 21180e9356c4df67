#!/usr/bin/env bash
# Writes a throwaway PKI for the TLS tests (and for trying TLS out) into DIR, with openssl alone:
#   ca.pem           test CA ("FleetPDP test CA")       other-ca.pem   a second, unrelated CA
#   server.pem/.key  CN=localhost, SAN localhost and 127.0.0.1, issued by ca
#   server2.pem/.key the same names, issued by other-ca (for certificate rotation tests)
#   client.pem/.key  CN=broker-1, a client certificate issued by ca
#   rogue.pem/.key   CN=broker-1, issued by other-ca (must be refused)
#   gateway.pem/.key CN=gateway-3, SAN DNS:broker.fleet.local and a SPIFFE URI, issued by ca
#   intruder.pem/.key CN=intruder-1, SAN DNS:intruder.fleet.local, issued by ca (caller authz)
#   ops.pem/.key     CN=ops-admin, issued by ca (the admin caller of the caller authz tests)
# Keys are P-256, certificates valid for 30 days. Never use these outside tests.
#   tests/testdata/make-test-certs.sh DIR
set -euo pipefail
dir=${1:?usage: make-test-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {  # NAME SUBJECT
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

leaf() {  # NAME CA SUBJECT EXTENSIONS
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$4" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 30 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "/CN=FleetPDP test CA"
ca other-ca "/CN=Some other CA"
server_ext=$'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1'
client_ext=$'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth'
leaf server ca "/CN=localhost" "$server_ext"
leaf server2 other-ca "/CN=localhost" "$server_ext"
leaf client ca "/CN=broker-1" "$client_ext"
leaf rogue other-ca "/CN=broker-1" "$client_ext"
leaf gateway ca "/O=Fleet/CN=gateway-3" "$client_ext"$'\nsubjectAltName=DNS:broker.fleet.local,URI:spiffe://fleet.local/ns/mqtt/sa/gateway'
leaf intruder ca "/CN=intruder-1" "$client_ext"$'\nsubjectAltName=DNS:intruder.fleet.local'
leaf ops ca "/CN=ops-admin" "$client_ext"
rm -f ./*.srl
chmod 644 ./*.pem
