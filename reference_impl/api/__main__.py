"""``python -m reference_impl.api [--host 127.0.0.1] [--port 8000]``: serve the reference API.

The database comes from ``REFERENCE_API_DSN`` (the app role's DSN; never printed) and
optionally ``REFERENCE_API_ROLE`` (a role to SET when the login is not the app role itself).
"""

from __future__ import annotations

import argparse
import os
import sys

from reference_impl.api.session import DSN_ENV


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_impl.api",
                                     description="serve the reference HTTP API")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if not os.environ.get(DSN_ENV):
        print(f"reference API: error: {DSN_ENV} is not set; export the app role's DSN "
              "(see reference_impl/api/README.md)", file=sys.stderr)
        return 2
    import uvicorn

    uvicorn.run("reference_impl.api:app", host=args.host, port=args.port,
                log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
