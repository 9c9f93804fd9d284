"""Postgres connection settings for the containers, from DB_* variables (no secrets baked in).

The password comes from the environment at run time (docker-compose's `.env`, or ECS injecting it
from Secrets Manager) and is URL-quoted, so any character a generated password may contain is
safe in a SQLAlchemy URL.

    database_url.py url [--database NAME]     print the SQLAlchemy URL
    database_url.py ensure [--database NAME]  create the database when it does not exist

Variables: DB_HOST, DB_PORT (5432), DB_USER, DB_PASS, DB_NAME (``--database`` wins over DB_NAME).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Mapping
from urllib.parse import quote

DRIVER = "postgresql+psycopg2"
REQUIRED = ("DB_HOST", "DB_USER", "DB_PASS")


class SettingsError(ValueError):
    """A variable that is missing or invalid (the message names it)."""


def _database(env: Mapping[str, str], database: str | None) -> str:
    name = database or env.get("DB_NAME", "")
    if not name:
        raise SettingsError("DB_NAME (or --database) is not set")
    if not name.replace("_", "").isalnum():
        raise SettingsError(f"database name {name!r} must be letters, digits and underscores")
    return name


def database_url(env: Mapping[str, str], database: str | None = None, driver: str = DRIVER) -> str:
    """The SQLAlchemy URL of ``database`` (default DB_NAME), user and password URL-quoted."""
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        raise SettingsError(f"missing variables: {', '.join(missing)}")
    port = env.get("DB_PORT") or "5432"
    if not port.isdigit():
        raise SettingsError(f"DB_PORT must be a number, got {port!r}")
    user = quote(env["DB_USER"], safe="")
    password = quote(env["DB_PASS"], safe="")
    return f"{driver}://{user}:{password}@{env['DB_HOST']}:{port}/{_database(env, database)}"


def ensure_database(env: Mapping[str, str], database: str | None = None) -> bool:
    """Create the database if it does not exist; True when it was created."""
    import psycopg2  # pylint: disable=import-outside-toplevel,import-error
    from psycopg2 import sql  # pylint: disable=import-outside-toplevel,import-error

    name = _database(env, database)
    connection = psycopg2.connect(
        host=env["DB_HOST"],
        port=int(env.get("DB_PORT") or 5432),
        user=env["DB_USER"],
        password=env["DB_PASS"],
        dbname=env.get("DB_ADMIN_DATABASE", "postgres"),
        connect_timeout=10,
    )
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone():
                return False
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        connection.close()


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Command line: ``url`` or ``ensure``; exit code 1 with a one-line reason on error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("url", "ensure"))
    parser.add_argument("--database", default=None, help="database name (default: DB_NAME)")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    try:
        if args.action == "url":
            print(database_url(env, args.database))
        else:
            created = ensure_database(env, args.database)
            print(f"database {_database(env, args.database)}: {'created' if created else 'exists'}")
    except SettingsError as error:
        print(f"database_url.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
