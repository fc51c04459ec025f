# ormbench with every database driver, for the `ormbench` service of docker-compose.yml.
#   docker build -t ormbench .
#   docker run --rm ormbench run --db "postgresql://user:pw@host/db"
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBIAN_FRONTEND=noninteractive

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Microsoft ODBC Driver 18 for SQL Server, the way Microsoft's "Install the Microsoft ODBC driver
# for SQL Server (Linux)" page documents it for Debian: the packages-microsoft-prod.deb package
# configures Microsoft's repository and its signing key (microsoft.asc), then msodbcsql18 is
# installed with its EULA accepted. unixodbc is the driver manager pyodbc loads, odbcinst lists
# the registered drivers (the build fails here if Driver 18 is missing), and the page adds
# libgssapi-krb5-2 for debian-slim images.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && curl -sSL -O "https://packages.microsoft.com/config/debian/$(grep VERSION_ID /etc/os-release | cut -d '"' -f 2 | cut -d '.' -f 1)/packages-microsoft-prod.deb" \
    && dpkg -i packages-microsoft-prod.deb \
    && rm packages-microsoft-prod.deb \
    && apt-get update \
    && ACCEPT_EULA=Y apt-get install -y --no-install-recommends msodbcsql18 unixodbc odbcinst libgssapi-krb5-2 \
    && odbcinst -q -d -n "ODBC Driver 18 for SQL Server" \
    && rm -rf /var/lib/apt/lists/*

# mysqlclient builds from source against MariaDB Connector/C; valgrind counts instructions
# (`ormbench run --measure instructions`).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libmariadb-dev pkg-config valgrind \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY harness ./harness
COPY backends ./backends
COPY scenarios ./scenarios
COPY reports ./reports
RUN pip install '.[postgresql,mysql,mssql,instructions]'

COPY docker/ormbench-mssql /usr/local/bin/ormbench-mssql
RUN chmod 0755 /usr/local/bin/ormbench-mssql

WORKDIR /work
ENTRYPOINT ["ormbench"]
CMD ["--help"]
