#!/bin/sh
# `make run`: a development server on 127.0.0.1:1143 (STARTTLS) and
# 127.0.0.1:1993 (implicit TLS) with its data in ./var, a demo user and a
# self-signed certificate made on first use, in the foreground (Ctrl-C
# stops it).
set -e
cd "$(dirname "$0")/.."
DATA=${GANNET_DATA:-var}
LISTEN=${GANNET_LISTEN:-127.0.0.1:1143}
TLS_LISTEN=${GANNET_TLS_LISTEN:-127.0.0.1:1993}
TLS_DIR=${GANNET_TLS_DIR:-var-tls}
mkdir -p "$DATA" "$TLS_DIR"
# gannet never touches mail as root: run as root, the mail belongs to nobody.
RUN_AS=""
if [ "$(id -u)" = 0 ]; then
	chown -R nobody:nogroup "$DATA"
	RUN_AS="--user nobody"
fi
if [ ! -s "$TLS_DIR/cert.pem" ] || [ ! -s "$TLS_DIR/key.pem" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2>/dev/null
	chmod 600 "$TLS_DIR/key.pem"
	echo "gannet: made a self-signed development certificate in $TLS_DIR/"
fi
if ! build/gannet user list --data "$DATA" | grep -qx demo; then
	printf 'demo\n' | build/gannet user add demo --data "$DATA" --password-stdin
fi
echo "gannet: IMAP on $LISTEN (STARTTLS), IMAPS on $TLS_LISTEN, data in $DATA/, user demo, password demo"
echo "gannet: try  curl imap://$LISTEN/ -u demo:demo"
echo "gannet:      curl --cacert $TLS_DIR/cert.pem imaps://localhost:${TLS_LISTEN##*:}/ -u demo:demo"
# shellcheck disable=SC2086 # RUN_AS is empty or two words
exec build/gannet serve --data "$DATA" --listen "$LISTEN" --tls-listen "$TLS_LISTEN" \
	--cert "$TLS_DIR/cert.pem" --key "$TLS_DIR/key.pem" --foreground --workers 2 $RUN_AS
