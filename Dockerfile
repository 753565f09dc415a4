# Postern: one image, one entry point (the same `node dist/appliance/main.js` as `npm start`).
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# A vendored dependency (see README): npm links it from here, so it comes before the install.
COPY vendor ./vendor
# better-sqlite3 compiles from source here (python3, make, g++ are in this image).
RUN npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY appliance ./appliance
COPY control ./control
COPY mta-plugins ./mta-plugins
COPY scripts ./scripts
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    POSTERN_DATA_DIR=/data \
    POSTERN_LISTEN_HOST=0.0.0.0 \
    POSTERN_SMTP_PORT=2525 \
    POSTERN_SUBMISSION_PORT=2587 \
    POSTERN_SUBMISSIONS_PORT=2465 \
    POSTERN_IMAP_PORT=2143 \
    POSTERN_IMAPS_PORT=2993 \
    POSTERN_HTTP_PORT=8443
WORKDIR /app
# The spam scanner the appliance supervises (private config in /data/spam, loopback only).
RUN apt-get update && apt-get install -y --no-install-recommends rspamd redis-server \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system postern && useradd --system --gid postern --home-dir /data --shell /usr/sbin/nologin postern \
    && mkdir -p /data && chown postern:postern /data
COPY --from=build --chown=postern:postern /app/node_modules ./node_modules
COPY --from=build --chown=postern:postern /app/vendor ./vendor
COPY --from=build --chown=postern:postern /app/dist ./dist
COPY --from=build --chown=postern:postern /app/web/dist ./web/dist
COPY --chown=postern:postern package.json ./
USER postern
VOLUME ["/data"]
# Unprivileged ports inside; compose maps the standard ones (25, 587, 465, 143, 993, 443) onto them.
EXPOSE 2525 2587 2465 2143 2993 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD node -e "fetch('https://127.0.0.1:'+process.env.POSTERN_HTTP_PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null \
   || node -e "fetch('http://127.0.0.1:'+process.env.POSTERN_HTTP_PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "dist/appliance/main.js"]
