#!/bin/sh
# `make run`: a development server on 127.0.0.1:1143 with its data in ./var
# and a demo user, in the foreground (Ctrl-C stops it).
set -e
cd "$(dirname "$0")/.."
DATA=${GANNET_DATA:-var}
LISTEN=${GANNET_LISTEN:-127.0.0.1:1143}
mkdir -p "$DATA"
if ! build/gannet user list --data "$DATA" | grep -qx demo; then
	printf 'demo\n' | build/gannet user add demo --data "$DATA" --password-stdin
fi
echo "gannet: IMAP on $LISTEN, data in $DATA/, user demo, password demo"
echo "gannet: try  curl imap://$LISTEN/ -u demo:demo"
exec build/gannet serve --data "$DATA" --listen "$LISTEN" --foreground --workers 2
