"""``python -m zen.compat.pal``: starts the Python PAL server (stdio) with the
parts chosen by ``--parts`` or ZEN_PAL_PARTS served by zen."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zen.compat.pal",
        description="Run the Python PAL MCP server (stdio) with parts of it served by zen.",
    )
    parser.add_argument(
        "--parts",
        help="comma list of storage, memory, files, providers, tools, or all "
        "(default: $ZEN_PAL_PARTS)",
    )
    parser.add_argument(
        "--tools", help="with the tools part: the tools zen answers (default: $ZEN_PAL_TOOLS)"
    )
    args = parser.parse_args(argv)
    try:
        import server  # PAL's server module; importing it builds its tool table
    except ImportError as err:
        print(
            f"python -m zen.compat.pal: can't import PAL's server ({err}); "
            "install it with `pip install pal-mcp-server`",
            file=sys.stderr,
        )
        return 2
    import zen
    from zen.compat import pal

    try:
        pal.install(args.parts, tools=args.tools)
    except (ValueError, ImportError, zen.ZenError) as err:
        print(f"python -m zen.compat.pal: {err}", file=sys.stderr)
        return 2
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
