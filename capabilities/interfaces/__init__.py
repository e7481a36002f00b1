"""Ways in from outside: ``mcp`` serves a registry to MCP clients."""
