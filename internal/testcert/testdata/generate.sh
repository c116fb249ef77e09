#!/bin/sh
# generate.sh makes the test certificates of package testcert with the
# openssl command: a CA, a server certificate for every name the tests dial
# and a client certificate, ECDSA P-256, valid for 100 years. Run it in
# this directory; the files are committed, so tests never make
# certificates and never see one expire.
set -eu
days=36500
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

openssl req -x509 $ec -keyout ca.key.pem -out ca.pem -days $days \
	-subj "/CN=tlsticket test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,digitalSignature"

leaf() { # name, subject, extensions
	openssl req -new $ec -keyout "$1.key.pem" -out "$1.csr" -subj "$2"
	printf '%s\n' "$3" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key.pem -CAcreateserial \
		-days $days -extfile "$1.ext" -out "$1.pem"
	rm "$1.csr" "$1.ext"
}
leaf server "/CN=tlsticket test server" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,DNS:a.example,DNS:b.example,DNS:tlsticket.test,DNS:quic.tlsticket.test,IP:127.0.0.1,IP:::1"
leaf client "/CN=tlsticket test client" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:client.tlsticket.test"
rm -f ca.srl
