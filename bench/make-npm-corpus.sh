#!/usr/bin/env bash
# Builds a benchmark corpus of real JS/TS files (tens of thousands) from npm packages in folder $1.
# Usage: bench/make-npm-corpus.sh DIR   (needs node and npm; takes a few minutes)
set -euo pipefail
d=${1:?usage: bench/make-npm-corpus.sh DIR}; mkdir -p "$d"; cd "$d"
[ -f package.json ] || npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts --legacy-peer-deps \
  vue @vue/compiler-sfc svelte @sveltejs/kit express koa fastify axios moment underscore jquery \
  @reduxjs/toolkit mobx @tanstack/react-query graphql @apollo/client firebase-admin sequelize \
  typeorm mongoose @nestjs/core @nestjs/common @storybook/react chart.js d3 echarts monaco-editor \
  @fluentui/react-components >/dev/null
find node_modules -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.cjs' -o -name '*.jsx' \
  -o -name '*.ts' -o -name '*.tsx' \) | wc -l
