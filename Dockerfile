# SessionShot on Debian bookworm with Debian's Chromium (no Playwright browser download).
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-dejavu-core fonts-liberation ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/sessionshot
# The runtime set exactly as locked (hash-checked), then the project itself.
COPY requirements/main.lock requirements/build.lock ./requirements/
RUN pip install --no-cache-dir --require-hashes -r requirements/main.lock -r requirements/build.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY sessions ./sessions
COPY captures ./captures
COPY storage ./storage
RUN pip install --no-cache-dir --no-deps --no-build-isolation .
# The Python client library: `sessionshot capture` is built on it (its deps are locked above).
COPY sdk/python ./sdk/python
RUN pip install --no-cache-dir --no-deps --no-build-isolation ./sdk/python

ENV SESSIONSHOT_CHROMIUM_PATH=/usr/bin/chromium \
    PYTHONUNBUFFERED=1
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "sessionshot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
