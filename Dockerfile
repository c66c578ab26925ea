# One image for every Lambdamart service: `docker run lambdamart <command>` runs `lambdamart <command>`.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PATH=/app/node_modules/.bin:$PATH
# Manifests first, so that dependency layers are cached across source changes.
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY generators/package.json generators/
COPY speed-layer/package.json speed-layer/
COPY batch-layer/package.json batch-layer/
COPY warehouse/package.json warehouse/
COPY serving-api/package.json serving-api/
COPY grafana/package.json grafana/
COPY infra/package.json infra/
COPY cli/package.json cli/
COPY bench/package.json bench/
COPY test/package.json test/
RUN npm install --omit=dev --no-audit --no-fund
COPY . .
USER node
ENTRYPOINT ["tsx", "cli/src/main.ts"]
CMD ["--help"]
