"""Serve every deployment with Prefect's runner (the stock way).

python -m deployments.serve
"""

from __future__ import annotations

from core.prefect_env import configure_prefect_env


def main() -> None:
    configure_prefect_env()
    from prefect import serve

    from deployments import all_deployments

    serve(*all_deployments(), print_starting_message=True)


if __name__ == "__main__":
    main()
