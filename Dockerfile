FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/brokeroffice
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN useradd --system brokeroffice && mkdir -p var && chown -R brokeroffice var
USER brokeroffice
EXPOSE 8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "brokeroffice.wsgi"]
