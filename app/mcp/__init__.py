"""The MCP server at ``/mcp`` (SPEC section 11): tools as actions, sessions in Redis."""
