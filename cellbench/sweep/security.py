"""TLS settings for a sweep on a remote Dask scheduler, checked before anything connects.

A ``tcp://`` scheduler is unauthenticated and unencrypted: anyone who reaches its port can
submit code that the workers run. ``tls://`` with mutual certificates (a CA that signed the
scheduler's, the workers' and this client's certificates) lets only holders of a certificate
from that CA in. :func:`sweep_security` turns the ``--tls-*`` options into Dask's
``Security`` and refuses every inconsistent combination with one sentence naming the option.
"""

from __future__ import annotations

from pathlib import Path

from cellbench.errors import ConfigError

TLS_OPTIONS = {"tls_ca_file": "--tls-ca-file", "tls_cert": "--tls-cert", "tls_key": "--tls-key"}


def sweep_security(scheduler: str | None, tls_ca_file: Path | None = None, tls_cert: Path | None = None,
                   tls_key: Path | None = None):
    """Dask ``Security`` for ``scheduler``, or None for a LocalCluster or a ``tcp://`` address.

    Raises
    ------
    ConfigError
        ``tls://`` without all three files; a file that does not exist or cannot be read;
        ``--tls-*`` options given with a ``tcp://`` address or without ``--scheduler``.
    """
    given = {TLS_OPTIONS[k]: v for k, v in (("tls_ca_file", tls_ca_file), ("tls_cert", tls_cert),
                                            ("tls_key", tls_key)) if v is not None}
    tls = bool(scheduler) and scheduler.startswith("tls://")
    if not tls:
        if given:
            where = f"--scheduler {scheduler}" if scheduler else "a local cluster (no --scheduler)"
            raise ConfigError(f"{', '.join(given)}: apply to tls:// scheduler addresses only, not to {where}; "
                              "use --scheduler tls://HOST:PORT or leave them out")
        return None
    missing = [opt for opt in TLS_OPTIONS.values() if opt not in given]
    if missing:
        raise ConfigError(f"--scheduler {scheduler}: a tls:// scheduler needs {', '.join(TLS_OPTIONS.values())} "
                          f"(the CA certificate, this client's certificate and its key); missing {', '.join(missing)}")
    for opt, path in given.items():
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{opt} {path}: no such file")
        try:
            with open(path, "rb") as f:
                head = f.read(64)
        except OSError as err:
            raise ConfigError(f"{opt} {path}: cannot be read ({err.strerror or err})") from None
        if b"-----BEGIN" not in head:
            raise ConfigError(f"{opt} {path}: not a PEM file (expected a '-----BEGIN ...' line)")
    try:
        from distributed.security import Security
    except ModuleNotFoundError as err:
        raise ConfigError("cellbench sweep needs Dask distributed: pip install 'cellbench[dist]'") from err
    return Security(tls_ca_file=str(tls_ca_file), tls_client_cert=str(tls_cert), tls_client_key=str(tls_key),
                    require_encryption=True)
