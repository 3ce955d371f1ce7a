#!/usr/bin/env python3
"""Checks that ch03_config agrees with the notes' config.py: for each config name, the same
UPPERCASE keys and the same values (as Python's repr; secrets as ***), with the same
environment. Both run with a working directory of this folder, which is the notes' basedir
(the folder of config.py) and the C++ "beside the app" (the working directory).

    compare.py build/bin/ch03_config
"""
import importlib.util
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
# A fixed environment: the variables that change values, plus one of each kind of override.
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SECRET_KEY": "s",
       "FLASKY_ADMIN": "admin@example.com", "MAIL_USERNAME": "me@qq.com",
       "TEST_DATABASE_URI": "sqlite:////tmp/t.db"}
# Keys the app adds on purpose, with the values expected under ENV: production reads
# Flask-Mail's keys (Flask-Mail's defaults, overridden from the environment), which the
# notes' ProductionConfig lacks, so a production app could not be given a mail server.
ADDED = {"production": {"MAIL_SERVER": "'localhost'", "MAIL_PORT": "25", "MAIL_USE_TLS": "False",
                        "MAIL_USE_SSL": "False", "MAIL_USERNAME": "'me@qq.com'",
                        "MAIL_PASSWORD": "None"}}


def python_values(name):
    os.environ.clear()
    os.environ.update(ENV)
    spec = importlib.util.spec_from_file_location("seed_config", HERE / "config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the notes read the environment at import
    key = "Production" if name == "production" else name  # the notes' erratum
    cls = module.config[key]
    secret = ("PASSWORD", "SECRET", "TOKEN")
    out = {}
    for attr in dir(cls):
        if attr.isupper():
            value = getattr(cls, attr)
            out[attr] = "***" if any(s in attr for s in secret) and value else repr(value)
    return out


def cpp_values(exe, name):
    run = subprocess.run([exe, name], cwd=HERE, env=ENV, capture_output=True, text=True, check=True)
    lines = run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("KEY "))
    value_at = lines[start].index("VALUE")  # the source column widens for long env names
    out = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        key, value = line[:31].strip(), line[value_at:]
        out[key] = value
    return out


def main():
    exe = str(pathlib.Path(sys.argv[1]).resolve())
    failed = False
    for name in ("development", "testing", "production", "default"):
        py, cpp = python_values(name), cpp_values(exe, name)
        py.update(ADDED.get(name, {}))
        if py != cpp:
            failed = True
            print(f"{name}: differs")
            for key in sorted(set(py) | set(cpp)):
                if py.get(key) != cpp.get(key):
                    print(f"  {key}: config.py {py.get(key, '<missing>')}  C++ {cpp.get(key, '<missing>')}")
        else:
            print(f"{name}: {len(py)} keys agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
