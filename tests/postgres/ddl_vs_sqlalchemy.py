#!/usr/bin/env python3
"""create_all() on PostgreSQL emits what SQLAlchemy emits for the same tables.

Runs chapter 01 with --echo on $WORKBOOK_TEST_DATABASE_URI, collects its CREATE statements,
and compares them with SQLAlchemy's PostgreSQL DDL for chapter 01's mapping written as
SQLAlchemy Core tables (the notes' three examples; foreign-key columns carry index=True because
common::db indexes them by default, see common/db/schema.hpp). Exits 77 (skipped) without
python3-sqlalchemy, which ./workbook installs only for the benchmarks.

    ddl_vs_sqlalchemy.py build/bin/ch01_relationships
"""
import os
import re
import subprocess
import sys
import tempfile

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable
except ImportError:
    print("skipped: python3-sqlalchemy is not installed")
    sys.exit(77)


def sqlalchemy_ddl():
    # Chapter 01 runs the notes' three examples one after another, each on fresh tables (two
    # of them define `users`), so the DDL comes as three schemas in the examples' order.
    fk = dict(index=True)

    def one_to_one(md):
        return [sa.Table("idents", md, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("address", sa.String(64), unique=True)),
                sa.Table("users", md, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("name", sa.String(64), unique=True),
                         sa.Column("ident_id", sa.Integer, sa.ForeignKey("idents.id"), **fk))]

    def one_to_many(md):
        return [sa.Table("roles", md, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("name", sa.String(64), unique=True)),
                sa.Table("users", md, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("name", sa.String(64), unique=True),
                         sa.Column("role_id", sa.Integer, sa.ForeignKey("roles.id"), **fk))]

    def many_to_many(md):
        return [sa.Table("students", md, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("name", sa.String)),
                sa.Table("classes", md, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("name", sa.String)),
                sa.Table("relations", md,
                         sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id"), **fk),
                         sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id"), **fk))]

    out = []
    dialect = postgresql.dialect()
    for example in (one_to_one, one_to_many, many_to_many):
        for t in example(sa.MetaData()):
            out.append(str(CreateTable(t).compile(dialect=dialect)))
            # SQLAlchemy orders a table's indexes by name; common::db by column order.
            out += sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in t.indexes)
    return out


def ours(command, uri):
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.run(command + ["--database", uri, "--echo"], cwd=workdir,
                              capture_output=True, text=True, timeout=60, check=True)
    # Each CREATE statement runs from its first line to the next blank line or non-DDL line.
    statements, current = [], None
    for line in proc.stdout.splitlines():
        if line.startswith(("CREATE TABLE", "CREATE INDEX", "CREATE UNIQUE INDEX")):
            if line.startswith("CREATE TABLE"):
                current = [line]
                statements.append(current)
            else:
                statements.append([line])
                current = None
        elif current is not None:
            current.append(line)
            if line == ")":
                current = None
    return statements


def norm(sql):
    return re.sub(r"\s+", " ", sql).strip()


def main():
    uri = os.environ.get("WORKBOOK_TEST_DATABASE_URI", "")
    if not uri.startswith("postgresql://"):
        sys.exit("set WORKBOOK_TEST_DATABASE_URI (run through tests/postgres/throwaway.sh)")
    got = [norm("\n".join(s)) for s in ours(sys.argv[1:], uri)]
    # Compare per table: CREATE TABLE then its indexes sorted by name.
    grouped, i = [], 0
    while i < len(got):
        j = i + 1
        while j < len(got) and not got[j].startswith("CREATE TABLE"):
            j += 1
        grouped += [got[i]] + sorted(got[i + 1:j])
        i = j
    want = [norm(s) for s in sqlalchemy_ddl()]
    if grouped != want:
        for a, b in zip(want + [""] * len(grouped), grouped + [""] * len(want)):
            if a != b:
                print("SQLAlchemy: " + a + "\ncommon::db: " + b)
                break
        return 1
    print("create_all() on PostgreSQL matches SQLAlchemy %s: %d statements"
          % (sa.__version__, len(want)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
