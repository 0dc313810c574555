# Ferry's services in one image; docker-compose.yml picks the command per service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ferry ferry
COPY producers producers
COPY streams streams
COPY consumers consumers
COPY sandbox sandbox
COPY infra/__init__.py infra/__init__.py
COPY infra/kafka/*.py infra/kafka/
COPY schemas schemas
RUN pip install --no-cache-dir . && useradd --create-home ferry && mkdir -p /data && chown ferry /data
USER ferry
ENV FERRY_SCHEMAS_DIR=/app/schemas
ENTRYPOINT []
CMD ["ferry", "--help"]
