"""Ways for existing Python programs to move onto zen a piece at a time.

``zen.compat.pal`` serves parts of the Python PAL MCP server from zen.
"""
