#!/bin/sh
# gen-secrets.sh - creates docker/secrets/{jwt_secret,reply_secret} (48
# random bytes, base64) unless they exist. compose.yml hands them to
# ticketd as /run/secrets/*; nothing secret goes into the image.
#
# Without swarm, compose mounts a secret file as it is on the host, so the
# container's ticketd user (uid 10001) must be able to read it: the files
# are 0644 inside a 0700 directory that only you can enter.
set -eu
cd "$(dirname "$0")"
mkdir -p secrets
chmod 700 secrets
for name in jwt_secret reply_secret; do
    if [ ! -s "secrets/$name" ]; then
        head -c 48 /dev/urandom | base64 | tr -d '\n' > "secrets/$name"
        chmod 644 "secrets/$name"
        echo "created docker/secrets/$name"
    fi
done
